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
their partial index). With RELAY=debezium, also the connector's state and its replication slot's
lag (issue #24), as the outbox page's banner shows them. Whether the books balance is that run's
answer (its `currency_totals` check, with when it ran): the system account keeps no running
balance, so its balance is the sum of its entries, a read of the whole ledger that `reconcile`
makes hourly and a page load must not.

The page renders whatever is down: the consumer lag is this process's last background read (it
never raises; a Kafka outage shows as "unreadable"), and any figure that fails is shown as
unavailable instead of taking the admin index down with it.

`{% operator_overview %}` (registered as a template library in settings) renders the block;
`templates/admin/operator_index.html` puts it above the app list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django import template
from django.conf import settings

from approvals.selectors import PendingApprovals, pending_approvals
from history.lag import recent_consumer_lag
from history.models import ReconcileRun
from history.selectors import HistoryStatus, history_status
from kafka_bridge import debezium
from kafka_bridge.selectors import Backlog, outbox_backlog
from wallets.money import format_money
from wallets.selectors import CurrencyTotals, currency_totals

logger = logging.getLogger(__name__)
register = template.Library()

T = TypeVar("T")

BOOKS_CHECK = "currency_totals"  # reconcile's check: user balances equal minus the system account


@dataclass
class Overview:
    currencies: list[CurrencyTotals] | None = None
    outbox: Backlog | None = None
    consumer_lag: dict[str, Any] = field(default_factory=dict)
    history: HistoryStatus | None = None
    last_reconcile: ReconcileRun | None = None
    approvals: PendingApprovals | None = None
    connector: debezium.ConnectorState | None = None  # RELAY=debezium only
    unavailable: list[str] = field(default_factory=list)  # figures that could not be read

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
    if debezium.enabled():  # Connect's REST API, with a short timeout; it never raises
        overview.connector = read("connector", debezium.connector_state)
    overview.last_reconcile = read(
        "last reconcile", lambda: ReconcileRun.objects.order_by("-finished_at", "-id").first()
    )
    return overview


@register.filter
def money(amount: Any) -> str:
    """Four decimal places, as the API shows money."""
    return format_money(amount)


@register.inclusion_tag("admin/operator_overview.html")
def operator_overview() -> dict[str, Any]:
    return {"overview": gather()}
