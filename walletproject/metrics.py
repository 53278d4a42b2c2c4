"""`/metrics`: Prometheus text format, read from the database at scrape time.

Why from the database: the relay runs in several processes (Celery pool children, gunicorn
workers for the admin's "publish now"), so in-process counters would each see a slice and reset on
restart. The backlog is a query, and the published counter is a row the relay updates in the same
transaction that marks rows published (`kafka_bridge.RelayStats`): exact, monotonic, and it
survives pruning. Published per second is `rate(wallet_outbox_published_events_total[1m])`.
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
from rest_framework.permissions import IsAdminUser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from kafka_bridge.selectors import outbox_backlog
from wallets.api.auth import CachedTokenAuthentication
from wallets.api.schema import ERROR


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
        yield CounterMetricFamily(
            "wallet_outbox_published_events",
            "Outbox events published to Kafka and acknowledged, since the table was created.",
            value=backlog.published_total,
        )


registry = CollectorRegistry(auto_describe=False)
registry.register(OutboxCollector())


class MetricsView(APIView):
    authentication_classes = [CachedTokenAuthentication]
    permission_classes = [IsAdminUser]
    renderer_classes = [JSONRenderer]  # for the error envelope; the metrics are a plain response

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # Scrapers ask for text/plain or OpenMetrics; never answer them 406.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="Prometheus metrics (staff token)",
        description="Outbox backlog, oldest pending age and published-events counter, text format 0.0.4.",
        responses={
            (200, "text/plain"): OpenApiTypes.STR,
            401: OpenApiResponse(ERROR, description="not_authenticated"),
            403: OpenApiResponse(ERROR, description="permission_denied: staff only"),
        },
        tags=["operations"],
    )
    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)


metrics = MetricsView.as_view()
