"""`/metrics`: Prometheus text format, read from the database at scrape time.

Why from the database: the relay runs in several processes (the Celery worker's pool children), so
in-process counters would each see a slice and reset on restart. The backlog is a query, and the
published counter is a row the relay updates by the very statement that deletes the published rows
(`kafka_bridge.RelayStats`): exact, monotonic, and it outlives the rows. Published per second is
`rate(wallet_outbox_published_events_total[1m])`.
A scrape reads as much at 10 million history events as at 10 (issue #21, tests/test_admin_scale.py):
the outbox is the backlog itself (the relay deletes what it published), the published total is that
counter row, the newest history row is found by its primary key, pending holds by their partial
index, the pending approvals (count and oldest) by theirs, and the version gaps and dead letters
counted are faults, not events. Every figure is exact.
Alert rules over these metrics: docker/prometheus/alerts.yml.
Only staff tokens may scrape (only /health is public, ../shared/spec/api.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from approvals.selectors import pending_approvals
from common.auth import CachedTokenAuthentication
from common.schema import COMMON_ERRORS, COMMON_EXAMPLES, ERROR
from history.lag import EventLogCollector, recent_consumer_lag
from history.selectors import history_status
from kafka_bridge import debezium
from kafka_bridge.selectors import outbox_backlog
from wallets.permissions import IsStaff
from wallets.selectors import pending_holds_by_currency
from webhooks.metrics import WebhooksCollector


class OutboxCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        backlog = outbox_backlog()
        yield GaugeMetricFamily(
            "wallet_outbox_pending_events", "Outbox rows not yet published to Kafka.", value=backlog.pending
        )
        yield GaugeMetricFamily(
            "wallet_outbox_failing_events",
            "Pending outbox rows with at least one failed publish attempt.",
            value=backlog.failing,
        )
        yield GaugeMetricFamily(
            "wallet_outbox_oldest_pending_age_seconds",
            "Age of the oldest pending outbox row (0 when none is pending).",
            value=backlog.oldest_pending_age_seconds,
        )
        yield GaugeMetricFamily(
            "wallet_outbox_stalled",
            "1 when a pending outbox row is older than OUTBOX_STALL_SECONDS (the relay is not publishing).",
            value=int(backlog.stalled),
        )
        yield CounterMetricFamily(
            "wallet_outbox_published_events",
            "Outbox events published to Kafka and acknowledged, since the table was created.",
            value=backlog.published_total,
        )


class HistoryCollector(Collector):
    """Consumer lag per partition (this process's last read from Kafka's admin API, at most a few
    seconds old: see history.lag) and the history's own state."""

    def collect(self) -> Iterator[Metric]:
        lag = recent_consumer_lag()
        per_partition = GaugeMetricFamily(
            "wallet_consumer_lag_messages",
            "Messages of the event topic the history consumer group has not committed yet.",
            labels=["partition"],
        )
        for partition, value in lag.get("partitions", {}).items():
            per_partition.add_metric([partition], value)
        yield per_partition
        yield GaugeMetricFamily(
            "wallet_consumer_lag_up",
            "1 when the lag could be read from Kafka, 0 when it could not.",
            value=0 if "error" in lag else 1,
        )
        status = history_status()
        yield GaugeMetricFamily(
            "wallet_history_open_version_gaps",
            "Wallet versions missing from the history.",
            value=status.open_gaps,
        )
        yield CounterMetricFamily(
            "wallet_history_version_gaps", "Version gaps ever detected.", value=status.gaps_total
        )
        yield CounterMetricFamily(
            "wallet_history_dead_letters",
            "Messages sent to the dead-letter topic.",
            value=status.dead_letters_total,
        )
        if status.last_recorded_age_seconds is not None:
            yield GaugeMetricFamily(
                "wallet_history_last_recorded_age_seconds",
                "Seconds since the newest history row was recorded.",
                value=status.last_recorded_age_seconds,
            )
        if status.last_reconcile_ok is not None and status.last_reconcile_finished_at is not None:
            yield GaugeMetricFamily(
                "wallet_reconcile_ok",
                "1 if the last reconcile found no breach.",
                value=int(status.last_reconcile_ok),
            )
            yield GaugeMetricFamily(
                "wallet_reconcile_breaches",
                "Breaches found by the last reconcile.",
                value=status.last_reconcile_breaches,
            )
            yield GaugeMetricFamily(
                "wallet_reconcile_last_run_timestamp_seconds",
                "When the last reconcile finished (Unix time).",
                value=status.last_reconcile_finished_at.timestamp(),
            )


class HoldsCollector(Collector):
    """Money reserved and not yet settled, per currency (holds.md)."""

    def collect(self) -> Iterator[Metric]:
        count = GaugeMetricFamily("wallet_pending_holds", "Holds still pending.", labels=["currency"])
        amount = GaugeMetricFamily(
            "wallet_pending_holds_amount", "The money held by pending holds.", labels=["currency"]
        )
        for currency, pending, held in pending_holds_by_currency():
            count.add_metric([currency], pending)
            amount.add_metric([currency], float(held))  # Prometheus samples are floats
        yield count
        yield amount


class ApprovalsCollector(Collector):
    """Staff adjustments waiting for a second operator (issue #23)."""

    def collect(self) -> Iterator[Metric]:
        pending = pending_approvals()
        yield GaugeMetricFamily(
            "wallet_approvals_pending",
            "Staff funds, withdrawals and reversals waiting for another operator's approval.",
            value=pending.count,
        )
        yield GaugeMetricFamily(
            "wallet_approvals_oldest_pending_age_seconds",
            "Age of the oldest pending approval (0 when none is pending).",
            value=pending.oldest_age_seconds,
        )


class DebeziumRelayCollector(Collector):
    """RELAY=debezium (issue #24): the connector's state from Kafka Connect's REST API, the slot's lag."""

    def collect(self) -> Iterator[Metric]:
        if not debezium.enabled():
            return
        state = debezium.connector_state()
        yield GaugeMetricFamily(
            "wallet_relay_connector_up",
            "1 when the Debezium connector and every task of it run.",
            value=int(state.status == "ok"),
        )
        yield GaugeMetricFamily(
            "wallet_relay_connector_failed_tasks", "Connector tasks FAILED.", value=len(state.failed_tasks)
        )
        if state.slot_lag_bytes is not None:
            yield GaugeMetricFamily(
                "wallet_relay_slot_lag_bytes",
                "WAL written since the position the connector confirmed (Kafka has everything before).",
                value=state.slot_lag_bytes,
            )


registry = CollectorRegistry(auto_describe=False)
registry.register(OutboxCollector())
registry.register(DebeziumRelayCollector())
registry.register(HoldsCollector())
registry.register(ApprovalsCollector())
registry.register(HistoryCollector())
registry.register(EventLogCollector())  # the event log's retention and losses (issue #32)
registry.register(WebhooksCollector())  # pending and failed deliveries, disabled endpoints (issue #34)


class MetricsView(APIView):
    authentication_classes = [CachedTokenAuthentication]
    permission_classes = [IsStaff]
    renderer_classes = [JSONRenderer]  # for the error envelope; the metrics are a plain response

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # Scrapers ask for text/plain or OpenMetrics; never answer them 406.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="metrics_get",
        summary="Prometheus metrics (staff token)",
        description=(
            "For a Prometheus scraper with a staff token: the outbox's backlog and oldest pending age, "
            "events published, the history consumer's lag and the event log's state, pending holds "
            "and approvals, in text format 0.0.4 (whatever the Accept header says)."
        ),
        responses={
            (200, "text/plain"): OpenApiTypes.STR,
            401: OpenApiResponse(ERROR, description="not_authenticated", examples=[COMMON_EXAMPLES[401]]),
            403: OpenApiResponse(ERROR, description="permission_denied: staff only"),
            429: OpenApiResponse(ERROR, description=COMMON_ERRORS[429], examples=[COMMON_EXAMPLES[429]]),
            503: OpenApiResponse(ERROR, description=COMMON_ERRORS[503], examples=[COMMON_EXAMPLES[503]]),
        },
        tags=["operations"],
    )
    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)


metrics = MetricsView.as_view()
