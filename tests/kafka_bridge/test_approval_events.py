"""The approvals' events through the real relays (issue #23): each step's outbox row goes to the
approvals' own topic, keyed by the approval's id, one approval's steps in order; none lands on the
wallet topic, which keeps exactly the wallet events. Both relays (the Celery relay routes per row,
Debezium's router through one RegexRouter per aggregate type); what each step writes:
tests/approvals/test_events.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from approvals.models import Approval
from approvals.services import approvals_expire_due
from kafka_bridge import debezium
from kafka_bridge.client import topic_routes
from kafka_bridge.models import OutboxEvent
from kafka_bridge.publisher import publish_pending
from tests.conftest import make_approver, make_client
from wallets import services

from .conftest import RELAYS, Received, pending_count, read_topic, wait_until


def first_copies(received: list[Received]) -> list[Received]:
    """Each event once (delivery is at-least-once), in the topic's order per partition."""
    seen: set[str] = set()
    kept = []
    for message in sorted(received, key=lambda m: (m.partition, m.offset)):
        if message.payload["event_id"] not in seen:
            seen.add(message.payload["event_id"])
            kept.append(message)
    return kept


@pytest.mark.parametrize("bridge", RELAYS, indirect=True)
def test_approval_steps_go_to_their_own_topic_keyed_by_the_approval_and_none_to_the_wallet_topic(bridge):
    worker = bridge.make_worker()  # the Celery relay, or (debezium) the cleaner of what was captured
    worker.start()
    maker, checker = make_client("maker", staff=True), make_approver("checker")
    wallet = services.wallet_create(user_id="alice", currency="USD")
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal("100"), initiated_by="test")

    def ask(verb: str, amount: str) -> str:
        response = maker.post(f"/wallets/{wallet.id}/{verb}", {"amount": amount}, format="json")
        assert response.status_code == 202, response.content
        return str(response.json()["data"]["approval_id"])

    def decide(approval_id: str, verb: str, reason: str, status: int) -> None:
        response = checker.post(f"/approvals/{approval_id}/{verb}", {"reason": reason}, format="json")
        assert response.status_code == status, response.content

    approved = ask("fund", "2000")
    decide(approved, "approve", "wire seen", 200)  # requested, approved (and WALLET_FUNDED)
    refused = ask("withdraw", "2000")
    services.wallet_withdraw(wallet_id=wallet.id, amount=Decimal("500"), initiated_by="test")
    decide(refused, "approve", "", 400)  # failed: 1,600 left; rolled back, nothing moved
    decide(refused, "reject", "not covered", 200)
    expired = ask("fund", "3000")
    past = timezone.now() - timedelta(seconds=1)
    Approval.objects.filter(id=expired).update(requested_at=past - timedelta(hours=1), expires_at=past)
    assert approvals_expire_due() == 1

    steps = {
        approved: ["APPROVAL_REQUESTED", "APPROVAL_APPROVED"],
        refused: ["APPROVAL_REQUESTED", "APPROVAL_FAILED", "APPROVAL_REJECTED"],
        expired: ["APPROVAL_REQUESTED", "APPROVAL_EXPIRED"],
    }
    wallet_types = ["WALLET_CREATED", "WALLET_FUNDED", "WALLET_FUNDED", "WALLET_WITHDRAWN"]
    approval_events = first_copies(read_topic(bridge.approvals_topic, expected=7, timeout=60))
    wallet_events = first_copies(read_topic(bridge.topic, expected=4, timeout=30))

    per_approval: dict[str, list[str]] = {}
    for message in approval_events:
        payload = message.payload
        assert message.key == payload["approval_id"]
        assert dict(message.headers) == {
            "event_id": payload["event_id"].encode(),
            "event_type": payload["event_type"].encode(),
            "schema_version": b"1",
        }
        per_approval.setdefault(message.key, []).append(payload["event_type"])
    assert per_approval == steps  # one approval's steps in order (one key, one partition)
    assert {
        key: len({m.partition for m in approval_events if m.key == key}) for key in steps
    } == dict.fromkeys(steps, 1)

    assert sorted(m.payload["event_type"] for m in wallet_events) == sorted(wallet_types)
    assert {m.key for m in wallet_events} == {str(wallet.id)}, "no approval event on the wallet topic"

    # Exactly what was written, each on the topic of its kind, and the outbox empties.
    written = bridge.written()
    assert {m.payload["event_id"] for m in approval_events} == {
        event_id for event_id, (key, _payload) in written.items() if key in steps
    }
    assert {m.payload["event_id"] for m in wallet_events} == {
        event_id for event_id, (key, _payload) in written.items() if key == str(wallet.id)
    }
    for message in approval_events + wallet_events:
        assert message.payload == written[message.payload["event_id"]][1]
    wait_until(lambda: pending_count() == 0, 30, "the outbox empties")


def test_a_row_of_an_aggregate_type_without_a_topic_stays_failing_and_holds_back_only_its_key(bridge):
    """Only SQL of one's own can write one (the outbox refuses it): the Celery relay sends it
    nowhere, keeps it with the reason, and publishes the other keys' rows."""

    def row(aggregatetype: str, key: str) -> OutboxEvent:
        event_id = uuid.uuid4()
        payload = {"event_id": str(event_id), "event_type": "X", "schema_version": 1}
        return OutboxEvent.objects.create(
            event_id=event_id,
            aggregatetype=aggregatetype,
            aggregateid=key,
            type="X",
            payload=payload,
            created_at=timezone.now(),
        )

    stray, later, other = row("hold", "k1"), row("approval", "k1"), row("approval", "k2")
    result = publish_pending()
    assert (result.published, result.failed) == (1, 1)
    stray.refresh_from_db()
    assert (stray.attempts, stray.last_error) == (1, "produce failed: no topic for aggregatetype 'hold'")
    assert set(OutboxEvent.objects.values_list("id", flat=True)) == {stray.id, later.id}
    assert not OutboxEvent.objects.filter(id=other.id).exists()
    assert [m.key for m in read_topic(bridge.approvals_topic, expected=1, timeout=10, quiet=1)] == ["k2"]


def test_the_connector_routes_each_aggregate_type_to_the_topic_the_celery_relay_uses(settings):
    settings.KAFKA_TOPIC, settings.KAFKA_APPROVALS_TOPIC = "events-x", "approvals-x"
    config = debezium.connector_config()
    assert config["transforms"] == "outbox,walletTopic,approvalTopic,schemaVersion,dropRouterId"
    assert config["transforms.outbox.route.by.field"] == "aggregatetype"
    assert config["transforms.outbox.route.topic.replacement"] == "${routedByValue}"
    assert "transforms.outbox.route.topic.regex" not in config  # the default: the whole value
    routed = {}
    for aggregatetype in ("wallet", "approval"):
        transform = f"transforms.{aggregatetype}Topic"
        assert config[f"{transform}.type"] == "org.apache.kafka.connect.transforms.RegexRouter"
        assert (config[f"{transform}.predicate"], config[f"{transform}.negate"]) == ("heartbeat", "true")
        routed[config[f"{transform}.regex"]] = config[f"{transform}.replacement"]
    assert routed == topic_routes() == {"wallet": "events-x", "approval": "approvals-x"}

    settings.KAFKA_APPROVALS_TOPIC = "wallet"  # would be renamed again by the wallet's router
    with pytest.raises(ImproperlyConfigured):
        debezium.connector_config()
