"""Retries, the retry window, rotation and a killed process, with the clock stepped instead of
waited (WEBHOOK_CLOCK_OFFSET_SECONDS moves webhooks.clock.now)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from common.postgresql.url import database_url
from tests.conftest import ROOT, make_client
from webhooks import consumer, dispatch
from webhooks.models import Attempt, Delivery, Endpoint

from .conftest import Receiver, Topic, event

DAY = 24 * 3600


def endpoint_for(receiver: Receiver, username: str = "alice") -> tuple[Endpoint, str]:
    client = make_client(username)
    answer = client.post("/webhooks/endpoints", {"url": receiver.url}, format="json")
    assert answer.status_code == 201, answer.json()
    secret = answer.json()["data"]["secret"]
    receiver.secrets.append(secret)
    return Endpoint.objects.get(id=answer.json()["data"]["endpoint_id"]), secret


def queue_one(user: str = "alice", version: int = 0) -> int:
    decoded = consumer.decode(json.dumps(event(user, uuid.uuid4(), version)).encode())
    assert decoded is not None
    return consumer.queue([decoded])


def test_retry_delays_follow_the_schedule_with_full_jitter(settings: Any) -> None:
    settings.WEBHOOK_RETRY_SCHEDULE = [5, 30, 120]
    for attempts, base in ((1, 5), (2, 30), (3, 120), (9, 120)):
        delays = [dispatch.retry_delay(attempts) for _ in range(200)]
        assert all(0 <= d <= base for d in delays)
        assert max(delays) > base / 2, "drawn from the whole range"


@pytest.mark.django_db(transaction=True)
def test_a_delivery_failing_past_the_retry_window_fails_and_disables_the_endpoint(
    receivers: Callable[..., Receiver], settings: Any
) -> None:
    receiver = receivers(status=500)
    endpoint, _ = endpoint_for(receiver)
    assert queue_one() == 1
    consumer.run_once()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    settings.WEBHOOK_CLOCK_OFFSET_SECONDS = 2 * DAY  # inside the window: retried, still pending
    consumer.run_once()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 2)
    endpoint.refresh_from_db()
    assert endpoint.status == "active"
    settings.WEBHOOK_CLOCK_OFFSET_SECONDS = 3 * DAY + 60  # past it
    consumer.run_once()
    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert endpoint.status == "disabled"
    assert "failed for 72 hours (3 attempts; last: HTTP 500)" in endpoint.disabled_reason
    assert Attempt.objects.filter(delivery=delivery).count() == 3
    assert queue_one() == 0  # a disabled endpoint gets nothing new
    assert Delivery.objects.count() == 1
    client = make_client("alice")
    resent = client.post(f"/webhooks/deliveries/{delivery.id}/resend").json()["data"]
    assert resent["status"] == "pending"
    client.post(f"/webhooks/endpoints/{endpoint.id}/enable")
    receiver.status = 200
    consumer.run_once()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and len(receiver.received) == 1


@pytest.mark.django_db(transaction=True)
def test_rotation_both_secrets_verify_during_the_overlap_then_only_the_new(
    receivers: Callable[..., Receiver], settings: Any
) -> None:
    old_receiver = receivers()
    endpoint, old = endpoint_for(old_receiver)
    rotated = make_client("alice").post(f"/webhooks/endpoints/{endpoint.id}/rotate-secret").json()["data"]
    old_receiver.secrets.append(rotated["secret"])  # the receiver knows [old, new]
    assert queue_one(version=0) == 1
    consumer.run_once()
    assert old_receiver.received[-1].verified_with == [0, 1], "signed with both during the overlap"
    settings.WEBHOOK_CLOCK_OFFSET_SECONDS = DAY + 1
    assert queue_one(version=0) == 1
    consumer.run_once()
    assert old_receiver.received[-1].verified_with == [1], "only the new secret after the overlap"
    assert old != rotated["secret"]


@pytest.mark.django_db(transaction=True)
def test_deliver_webhooks_sigkilled_mid_batch_loses_nothing(
    receivers: Callable[..., Receiver], topic: Topic
) -> None:
    """The command as a process of its own, killed (SIGKILL) while sending, then started again:
    every event reaches the receiver; a repeat only with the same webhook-id (the lease of what
    was in flight runs out: WEBHOOK_TIMEOUT_SECONDS 1 s + 5 s)."""
    receiver = receivers(delay=0.02)
    endpoint, _ = endpoint_for(receiver)
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "walletproject.settings",
        "DATABASE_URL": database_url(),
        "DB_CONN_MAX_AGE": "0",
        "KAFKA_TOPIC": topic.name,
        "WEBHOOK_GROUP_ID": topic.group,
        "WEBHOOK_TIMEOUT_SECONDS": "1",
        "WEBHOOK_RETRY_SCHEDULE": "0.2,0.5",
    }
    command = [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "deliver_webhooks"]

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    wallets = [uuid.uuid4() for _ in range(30)]
    sent = [event("alice", wallets[w], v) for v in range(10) for w in range(30)]  # 300 events
    process = start()
    try:
        topic.produce(sent)
        deadline = time.monotonic() + 60
        while len(receiver.event_ids()) < 40:
            assert time.monotonic() < deadline, "the first deliveries never arrived"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        got_before = len(receiver.event_ids())
        assert got_before < 300, "killed mid-batch"
        process = start()
        receiver.wait_for(300, timeout=90)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    first: dict[str, dict[str, Any]] = {}
    order: dict[str, list[int]] = {}
    for received in receiver.received:
        if received.webhook_id in first:
            assert first[received.webhook_id] == received.body
            continue
        first[received.webhook_id] = received.body
        order.setdefault(received.body["wallet_id"], []).append(received.body["wallet_version"])
    assert {b["event_id"] for b in first.values()} == {e["event_id"] for e in sent}
    assert all(v == list(range(10)) for v in order.values()), "per-wallet order across the kill"
    assert Delivery.objects.filter(endpoint=endpoint, status="delivered").count() == 300
    assert not receiver.forged
