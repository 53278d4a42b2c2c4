"""The webhooks' figures for /metrics (walletproject/metrics.py registers the collector): read
from the database at scrape time, as the other collectors are, so every web process reports the
same. Alert rules over them: docker/prometheus/alerts.yml (wallet-webhooks)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .selectors import webhook_status


class WebhooksCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        status = webhook_status()
        deliveries = GaugeMetricFamily(
            "wallet_webhook_deliveries",
            "Webhook deliveries by outcome: pending (to active endpoints), failed (past the retry window).",
            labels=["status"],
        )
        deliveries.add_metric(["pending"], status.pending)
        deliveries.add_metric(["failed"], status.failed)
        yield deliveries
        yield GaugeMetricFamily(
            "wallet_webhook_oldest_pending_age_seconds",
            "Age of the oldest pending delivery to an active endpoint (0 when none is pending).",
            value=status.oldest_pending_age_seconds,
        )
        disabled = GaugeMetricFamily(
            "wallet_webhook_endpoints_disabled",
            "Disabled webhook endpoints: by the retry window (failing) or by hand.",
            labels=["reason"],
        )
        disabled.add_metric(["failing"], status.disabled_failing)
        disabled.add_metric(["by_hand"], status.disabled_by_hand)
        yield disabled
