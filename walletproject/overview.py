"""The operators' overview on the admin index: are the books right, is the relay keeping up, is the
history behind, what did the last reconcile find; each figure links to the admin page behind it.

Operators would rather look than click through six lists. The figures come from the apps' own
selectors, the ones `/metrics`, `/health/ready` and `reconcile` use, so the pages never disagree:
`wallets.selectors.currency_totals`, `kafka_bridge.selectors.outbox_backlog` (with the stall rule),
`history.lag.recent_consumer_lag` and `history.selectors.history_status`. Read-only queries only.

What the page reads stays the same size as the ledger and the history grow (issue #21): one pass
over the wallets (user wallets and their balances per currency), the outbox (the backlog itself),
the newest history row by its primary key, the version gaps and dead letters (faults, not events),
the newest reconcile run, and the pending approvals (their count and the oldest one's age, from
their partial index), and the webhooks' pending deliveries and endpoints disabled by failures
(issue #34). With RELAY=debezium, also the connector's state and its replication slot's
lag (issue #24), as the outbox page's banner shows them. Whether the books balance is that run's
answer (its `currency_totals` check, with when it ran): the system account keeps no running
balance, so its balance is the sum of its entries, a read of the whole ledger that `reconcile`
makes hourly and a page load must not.

The page renders whatever is down: the consumer lag is this process's last background read (it
never raises; a Kafka outage shows as "unreadable"), and any figure that fails is shown as
unavailable instead of taking the admin index down with it.

Charts (issue #31): money moved per UTC day and currency over the last 14 days, and the relay's
backlog with the consumer's lag over the last hours, drawn as inline SVG (`trends.charts`) from the
`trends` tables that beat's minute task fills (`trends.tasks.sample`): a page load reads those
small tables (14 days per currency, a sample a minute), never the ledger or Kafka.

`{% operator_overview %}` (registered as a template library in settings) renders the block;
`templates/admin/operator_index.html` puts it above the app list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.safestring import SafeString

from approvals.selectors import PendingApprovals, pending_approvals
from history.lag import recent_consumer_lag
from history.models import ReconcileRun
from history.selectors import HistoryStatus, history_status
from kafka_bridge import debezium
from kafka_bridge.selectors import Backlog, outbox_backlog
from trends import charts
from trends.models import RelaySample
from trends.selectors import DayVolume, counted_until, money_per_day, relay_series
from wallets.money import format_money
from wallets.selectors import CurrencyTotals, currency_totals
from webhooks.selectors import WebhookStatus, webhook_status

from .health import event_log_info

logger = logging.getLogger(__name__)
register = template.Library()

T = TypeVar("T")

BOOKS_CHECK = "currency_totals"  # reconcile's check: user balances equal minus the system account
CHART_DAYS = 14
CHART_HOURS = 6


@dataclass
class Overview:
    currencies: list[CurrencyTotals] | None = None
    outbox: Backlog | None = None
    consumer_lag: dict[str, Any] = field(default_factory=dict)
    history: HistoryStatus | None = None
    last_reconcile: ReconcileRun | None = None
    approvals: PendingApprovals | None = None
    webhooks: WebhookStatus | None = None
    connector: debezium.ConnectorState | None = None  # RELAY=debezium only
    volumes: dict[str, list[DayVolume]] | None = None
    volumes_until: datetime | None = None
    samples: list[RelaySample] | None = None
    now: datetime = field(default_factory=timezone.now)
    unavailable: list[str] = field(default_factory=list)  # figures that could not be read

    @property
    def event_log(self) -> dict[str, object] | None:
        """Whether Kafka still holds every event (issue #32), from the lag already read."""
        return event_log_info(self.consumer_lag)

    @property
    def chart_days(self) -> int:
        return CHART_DAYS

    @property
    def chart_hours(self) -> int:
        return CHART_HOURS

    @property
    def volume_charts(self) -> list[tuple[str, SafeString, str]]:
        """Per currency: its code, its chart, and its 14 days' total."""
        found = []
        for currency, days in (self.volumes or {}).items():
            peak = max(day.amount for day in days)
            bars = [
                charts.Bar(
                    day.day.strftime("%m-%d"),
                    float(day.amount),
                    f"{day.day:%Y-%m-%d}: {format_money(day.amount)} {currency}"
                    f" in {day.movements} transaction(s)",
                )
                for day in days
            ]
            chart = charts.bar_chart(
                bars,
                css_id=f"chart-volume-{currency}",
                label=f"{currency} moved per day, last {len(days)} days",
                top_label=format_money(peak).split(".")[0],
            )
            found.append((currency, chart, format_money(sum((day.amount for day in days), Decimal(0)))))
        return found

    @property
    def relay_chart(self) -> SafeString | None:
        if not self.samples:
            return None
        start = self.now - timedelta(hours=CHART_HOURS)
        lines = [
            charts.Line("outbox backlog", "#79aec8", [(s.at, float(s.outbox_pending)) for s in self.samples]),
            charts.Line(
                "consumer lag",
                "#c0392b",
                [(s.at, None if s.consumer_lag is None else float(s.consumer_lag)) for s in self.samples],
            ),
        ]
        labels = [(start + timedelta(hours=h)).strftime("%H:%M") for h in range(CHART_HOURS + 1)]
        return charts.line_chart(
            lines,
            start=start,
            end=self.now,
            css_id="chart-relay",
            label=f"Outbox backlog and consumer lag, last {CHART_HOURS} hours",
            time_labels=labels,
        )

    @property
    def stall_seconds(self) -> float:
        return float(settings.OUTBOX_STALL_SECONDS)

    @property
    def books_check(self) -> dict[str, Any] | None:
        """The last reconcile's comparison of the user balances with what the system accounts paid
        out, per currency (None: not run, or not that check); `examples` name each currency off."""
        if self.last_reconcile is None:
            return None
        checks: list[dict[str, Any]] = self.last_reconcile.checks
        found = [check for check in checks if check.get("name") == BOOKS_CHECK and not check.get("skipped")]
        return found[0] if found else None


def gather() -> Overview:
    overview = Overview()

    def read(name: str, reader: Callable[[], T]) -> T | None:
        try:
            return reader()
        except Exception:  # one figure down must not take the admin index down
            logger.exception("operator overview: %s unavailable", name)
            overview.unavailable.append(name)
            return None

    overview.currencies = read("currency totals", currency_totals)
    overview.outbox = read("outbox backlog", outbox_backlog)
    overview.consumer_lag = read("consumer lag", recent_consumer_lag) or {"error": "unavailable"}
    overview.history = read("history status", history_status)
    overview.approvals = read("pending approvals", pending_approvals)
    overview.webhooks = read("webhooks", webhook_status)
    if debezium.enabled():  # Connect's REST API, with a short timeout; it never raises
        overview.connector = read("connector", debezium.connector_state)
    overview.last_reconcile = read(
        "last reconcile", lambda: ReconcileRun.objects.order_by("-finished_at", "-id").first()
    )
    overview.volumes = read("money per day", lambda: money_per_day(days=CHART_DAYS))
    overview.volumes_until = read("money per day (counted until)", counted_until)
    overview.samples = read("relay samples", lambda: relay_series(hours=CHART_HOURS, now=overview.now))
    return overview


@register.filter
def money(amount: Any) -> str:
    """Four decimal places, as the API shows money."""
    return format_money(amount)


@register.inclusion_tag("admin/operator_overview.html")
def operator_overview() -> dict[str, Any]:
    return {"overview": gather()}
