"""/metrics and the admin's overview report the webhooks: pending and failed deliveries, the oldest
pending one's age, endpoints disabled by the retry window apart from those disabled by hand."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.conftest import make_client
from webhooks import services
from webhooks.models import Delivery, Endpoint, delivery_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook_state() -> None:
    """One pending delivery 30 minutes old and one delivered to a live endpoint, a failed one to an
    endpoint disabled by the retry window, a pending one to an endpoint disabled by hand."""

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


def test_metrics_show_the_backlog_failures_and_disabled_endpoints(webhook_state: None) -> None:
    text = make_client("metrics-ops", staff=True).get("/metrics").content.decode()
    lines = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line[:1] != "#"
    }
    assert lines['wallet_webhook_deliveries{status="pending"}'] == 1
    assert lines['wallet_webhook_deliveries{status="failed"}'] == 1
    assert lines['wallet_webhook_endpoints_disabled{reason="failing"}'] == 1
    assert lines['wallet_webhook_endpoints_disabled{reason="by_hand"}'] == 1
    assert 1790 < lines["wallet_webhook_oldest_pending_age_seconds"] < 1900


def test_the_overview_shows_the_backlog_and_the_endpoints_disabled_by_failures(webhook_state, client):
    client.force_login(get_user_model().objects.create_user("hooksops", is_staff=True))
    response = client.get("/admin/")
    assert response.status_code == 200
    html = re.sub(r"\s+", " ", response.content.decode())
    assert 'id="overview-webhooks-pending">1 pending</a>' in html
    oldest = re.search(r'id="overview-webhooks-oldest">(\d+) s<', html)
    assert oldest is not None and 1790 < int(oldest.group(1)) < 1900
    assert 'id="overview-webhooks-failed">1 given up</a>' in html
    assert 'id="overview-webhooks-disabled">1 disabled after failing for the retry window</a>' in html
    assert "1 disabled by hand" in html
