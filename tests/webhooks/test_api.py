"""The webhook endpoints' API: who may do what, validation in the error envelope, the secret shown
once, rotation's overlap, deliveries with their attempts, resend."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tests.conftest import TokenClient, make_client
from webhooks import services
from webhooks.models import Attempt, Delivery, Endpoint, delivery_id

pytestmark = pytest.mark.django_db

URL = "http://127.0.0.1:9/hook"


def create(client: TokenClient, **body: Any) -> Any:
    return client.post("/webhooks/endpoints", {"url": URL, **body}, format="json")


def test_an_end_user_creates_an_endpoint_and_sees_the_secret_once():
    alice = make_client("alice")
    answer = create(alice, event_types=["TRANSFER_IN"], description="shop")
    assert answer.status_code == 201, answer.json()
    data = answer.json()["data"]
    assert data["secret"].startswith("whsec_")
    assert data["user_id"] == "alice" and data["event_types"] == ["TRANSFER_IN"]
    got = alice.get(f"/webhooks/endpoints/{data['endpoint_id']}").json()["data"]
    assert "secret" not in got and got["url"] == URL
    listed = alice.get("/webhooks/endpoints").json()
    assert [e["endpoint_id"] for e in listed["data"]] == [data["endpoint_id"]]
    assert "secret" not in listed["data"][0]


def test_end_users_never_see_each_others_endpoints():
    alice, bob = make_client("alice"), make_client("bob")
    endpoint_id = create(alice).json()["data"]["endpoint_id"]
    assert bob.get(f"/webhooks/endpoints/{endpoint_id}").status_code == 404
    assert bob.get(f"/webhooks/endpoints/{endpoint_id}").json()["code"] == "webhook_endpoint_not_found"
    assert bob.delete(f"/webhooks/endpoints/{endpoint_id}").status_code == 404
    assert bob.get("/webhooks/endpoints").json()["data"] == []
    refused = create(bob, user_id="alice")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"


def test_staff_create_for_a_user_or_for_all_users():
    ops = make_client("ops", staff=True)
    for_alice = create(ops, user_id="alice").json()["data"]
    for_all = create(ops).json()["data"]
    assert for_alice["user_id"] == "alice" and for_all["user_id"] is None
    alice = make_client("alice")
    assert alice.get(f"/webhooks/endpoints/{for_alice['endpoint_id']}").status_code == 200
    assert alice.get(f"/webhooks/endpoints/{for_all['endpoint_id']}").status_code == 404
    only_alice = ops.get("/webhooks/endpoints?user_id=alice").json()["data"]
    assert [e["endpoint_id"] for e in only_alice] == [for_alice["endpoint_id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "http://user:pw@example.com/"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": URL, "event_types": ["MONEY_RAINED"]}, "event_types"),
        ({"url": URL, "description": "a\x00b"}, "description"),
    ],
)
def test_bad_input_is_a_400_in_the_error_envelope(body, field):
    answer = make_client("alice").post("/webhooks/endpoints", body, format="json")
    assert answer.status_code == 400
    error = answer.json()
    assert error["success"] is False and error["code"] == "validation_error"
    assert field in error["details"]


def test_too_many_endpoints_per_user(settings):
    settings.WEBHOOK_MAX_ENDPOINTS_PER_USER = 2
    alice = make_client("alice")
    assert create(alice).status_code == 201
    assert create(alice).status_code == 201
    third = create(alice)
    assert third.status_code == 400
    assert third.json()["code"] == "too_many_endpoints"
    assert "2" in third.json()["error"]


def test_update_disable_enable_delete():
    alice = make_client("alice")
    endpoint_id = create(alice).json()["data"]["endpoint_id"]
    path = f"/webhooks/endpoints/{endpoint_id}"
    patched = alice.patch(path, {"event_types": ["WALLET_FUNDED"], "description": "new"}, format="json")
    assert patched.status_code == 200
    assert patched.json()["data"]["event_types"] == ["WALLET_FUNDED"]
    assert patched.json()["data"]["url"] == URL
    bad = alice.patch(path, {"url": "gopher://x"}, format="json")
    assert bad.status_code == 400
    disabled = alice.post(f"{path}/disable").json()["data"]
    assert disabled["status"] == "disabled" and disabled["disabled_reason"] == "disabled by alice"
    assert alice.post(f"{path}/enable").json()["data"]["status"] == "active"
    assert alice.delete(path).json()["data"] == {"endpoint_id": endpoint_id, "deleted": True}
    assert alice.get(path).status_code == 404
    assert not Endpoint.objects.filter(id=endpoint_id).exists()


def test_rotation_signs_with_both_secrets_for_the_overlap_then_the_new_only(settings):
    alice = make_client("alice")
    created = create(alice).json()["data"]
    rotated = alice.post(f"/webhooks/endpoints/{created['endpoint_id']}/rotate-secret").json()["data"]
    assert rotated["secret"] != created["secret"] and rotated["secret"].startswith("whsec_")
    assert rotated["previous_secret_expires_at"] is not None
    endpoint = Endpoint.objects.get(id=created["endpoint_id"])
    assert services.secrets_in_use(endpoint) == [rotated["secret"], created["secret"]]
    settings.WEBHOOK_CLOCK_OFFSET_SECONDS = 24 * 3600 + 1  # the clock stepped past the overlap
    assert services.secrets_in_use(endpoint) == [rotated["secret"]]


def test_deliveries_with_attempts_and_resend():
    alice, bob = make_client("alice"), make_client("bob")
    endpoint = Endpoint.objects.get(id=create(alice).json()["data"]["endpoint_id"])
    event_id = uuid.uuid4()
    now = timezone.now()
    delivery = Delivery.objects.create(
        id=delivery_id(endpoint.id, event_id),
        endpoint=endpoint,
        event_id=event_id,
        event_type="WALLET_FUNDED",
        wallet_id=uuid.uuid4(),
        wallet_version=1,
        payload=json.dumps({"event_id": str(event_id), "amount": "1.0000"}),
        status=Delivery.Status.FAILED,
        attempts=1,
        next_attempt_at=now,
        first_attempt_at=now - timedelta(days=3),
    )
    Attempt.objects.create(delivery=delivery, at=now, status_code=500, latency_ms=12, response_excerpt="no")
    listed = alice.get(f"/webhooks/endpoints/{endpoint.id}/deliveries?status=failed").json()
    assert [d["delivery_id"] for d in listed["data"]] == [str(delivery.id)]
    detail = alice.get(f"/webhooks/deliveries/{delivery.id}").json()["data"]
    assert detail["payload"]["amount"] == "1.0000"
    assert detail["attempt_list"] == [
        {
            "at": detail["attempt_list"][0]["at"],
            "status_code": 500,
            "error": None,
            "latency_ms": 12,
            "response_excerpt": "no",
        }
    ]
    assert bob.get(f"/webhooks/deliveries/{delivery.id}").status_code == 404
    assert bob.post(f"/webhooks/deliveries/{delivery.id}/resend").status_code == 404
    resent = alice.post(f"/webhooks/deliveries/{delivery.id}/resend").json()["data"]
    assert resent["status"] == "pending" and resent["first_attempt_at"] is None
    assert alice.get(f"/webhooks/endpoints/{endpoint.id}/deliveries?status=bogus").status_code == 400


def test_deleting_an_endpoint_deletes_its_deliveries_and_attempts() -> None:
    alice = make_client("alice")
    endpoint = Endpoint.objects.get(id=create(alice).json()["data"]["endpoint_id"])
    event_id = uuid.uuid4()
    delivery = Delivery.objects.create(
        id=delivery_id(endpoint.id, event_id),
        endpoint=endpoint,
        event_id=event_id,
        event_type="WALLET_FUNDED",
        wallet_id=uuid.uuid4(),
        wallet_version=1,
        payload="{}",
        next_attempt_at=timezone.now(),
    )
    Attempt.objects.create(delivery=delivery, at=timezone.now(), status_code=500, latency_ms=3)
    assert alice.delete(f"/webhooks/endpoints/{endpoint.id}").status_code == 200
    assert not Delivery.objects.exists() and not Attempt.objects.exists()
