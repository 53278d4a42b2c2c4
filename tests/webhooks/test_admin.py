"""The webhooks' admin: an endpoint made there shows its secret once (in the message), never on
its page; disable, enable and rotate are actions; a delivery's page lists its attempts; resend."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from webhooks.models import Attempt, Delivery, Endpoint, delivery_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_() -> Client:
    user = get_user_model().objects.create_superuser("hooks-admin", password="pw-hooks-admin-1")
    client = Client()
    client.force_login(user)
    return client


def test_create_shows_the_secret_once_and_actions_work(admin_client_: Client) -> None:
    answer = admin_client_.post(
        "/admin/webhooks/endpoint/add/",
        {
            "owner": "alice",
            "url": "http://127.0.0.1:9/x",
            "event_types": ["WALLET_FUNDED"],
            "description": "d",
        },
        follow=True,
    )
    assert answer.status_code == 200
    endpoint = Endpoint.objects.get()
    assert endpoint.created_by == "hooks-admin" and endpoint.event_types == ["WALLET_FUNDED"]
    assert endpoint.secret in answer.content.decode(), "the message shows the secret once"
    page = admin_client_.get(f"/admin/webhooks/endpoint/{endpoint.id}/change/").content.decode()
    assert endpoint.secret not in page
    bad = admin_client_.post("/admin/webhooks/endpoint/add/", {"owner": "", "url": "ftp://x"})
    assert bad.status_code == 200 and Endpoint.objects.count() == 1
    for action, status in (("disable", "disabled"), ("enable", "active")):
        admin_client_.post(
            "/admin/webhooks/endpoint/",
            {"action": action, "_selected_action": [str(endpoint.id)]},
            follow=True,
        )
        endpoint.refresh_from_db()
        assert endpoint.status == status
    old = endpoint.secret
    rotated = admin_client_.post(
        "/admin/webhooks/endpoint/",
        {"action": "rotate_secret", "_selected_action": [str(endpoint.id)]},
        follow=True,
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint.secret in rotated.content.decode()


def test_a_delivery_page_lists_its_attempts_and_resend(admin_client_: Client) -> None:
    endpoint = Endpoint.objects.create(owner=None, url="http://127.0.0.1:9/x", secret="whsec_x")
    event_id = uuid.uuid4()
    delivery = Delivery.objects.create(
        id=delivery_id(endpoint.id, event_id),
        endpoint=endpoint,
        event_id=event_id,
        event_type="WALLET_FUNDED",
        wallet_id=uuid.uuid4(),
        wallet_version=3,
        payload="{}",
        status="failed",
        next_attempt_at=timezone.now(),
    )
    Attempt.objects.create(delivery=delivery, at=timezone.now(), error="timed out after 5 s", latency_ms=5001)
    assert admin_client_.get("/admin/webhooks/delivery/").status_code == 200
    page = admin_client_.get(f"/admin/webhooks/delivery/{delivery.id}/change/").content.decode()
    assert "timed out after 5 s" in page and "5001" in page
    admin_client_.post(
        "/admin/webhooks/delivery/", {"action": "resend", "_selected_action": [str(delivery.id)]}, follow=True
    )
    delivery.refresh_from_db()
    assert delivery.status == "pending"
