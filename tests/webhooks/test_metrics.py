"""/metrics reports the webhooks: pending and failed deliveries, the oldest pending one's age,
endpoints disabled by the retry window apart from those disabled by hand."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import make_client
from webhooks import services
from webhooks.models import Delivery, Endpoint, delivery_id

pytestmark = pytest.mark.django_db


def test_metrics_show_the_backlog_failures_and_disabled_endpoints() -> None:
    def endpoint() -> Endpoint:
        return Endpoint.objects.create(owner="alice", url="http://127.0.0.1:9/", secret="whsec_x")

    def delivery(target: Endpoint, status: str) -> Delivery:
        event_id = uuid.uuid4()
        return Delivery.objects.create(
            id=delivery_id(target.id, event_id),
            endpoint=target,
            event_id=event_id,
            event_type="WALLET_FUNDED",
            wallet_id=uuid.uuid4(),
            wallet_version=1,
            payload="{}",
            status=status,
            next_attempt_at=timezone.now(),
        )

    live, failing, by_hand = endpoint(), endpoint(), endpoint()
    old = delivery(live, "pending")
    Delivery.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(minutes=30))
    delivery(live, "delivered")
    delivery(failing, "failed")
    delivery(by_hand, "pending")  # a disabled endpoint's backlog is not the active backlog
    services.endpoint_disable(endpoint=failing, reason="Delivery 1 failed for 72 hours (9 attempts)")
    services.endpoint_disable(endpoint=by_hand, reason="disabled by alice")
    text = make_client("metrics-ops", staff=True).get("/metrics").content.decode()
    lines = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line[:1] != "#"
    }
    assert lines['wallet_webhook_deliveries{status="pending"}'] == 1
    assert lines['wallet_webhook_deliveries{status="failed"}'] == 1
    assert lines['wallet_webhook_endpoints_disabled{reason="failing"}'] == 1
    assert lines['wallet_webhook_endpoints_disabled{reason="by_hand"}'] == 1
    assert 1790 < lines["wallet_webhook_oldest_pending_age_seconds"] < 1900
