"""Fixtures for the history tests: a topic, DLQ and consumer group of the test's own on the real Kafka.

Events are produced here with a plain confluent-kafka Producer, exactly as the relay would publish
them (key = wallet id, the contract's headers, the outbox payload as the value), so these tests do not
depend on the relay. With `transactional_db` the writes are committed, so consumer subprocesses
(DATABASE_URL pointing at the pytest database) see the same data.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from rest_framework.test import APIClient

from common.postgresql.url import database_url
from common.times import format_timestamp
from history.consumer import ConsumerOptions, ConsumerStats, HistoryConsumer
from history.dead_letters import Rejected
from history.decoding import Origin, decode
from history.models import HistoryEvent
from history.projection import VersionTracker, save_batch
from kafka_bridge.models import OutboxEvent
from tests.conftest import brokers, make_client
from wallets.events import WalletEvent
from wallets.models import LedgerEntry, Wallet

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"


@dataclass
class Received:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: dict[str, bytes]


@dataclass
class Topics:
    """The test's topic, dead-letter topic and consumer group."""

    topic: str
    dlq: str
    group: str
    partitions: int

    def produce(self, messages: Iterable[dict[str, Any]]) -> int:
        """Produce messages ({"key", "value", "headers"?}) and wait until Kafka acknowledged them all."""
        producer = Producer({"bootstrap.servers": brokers(), "enable.idempotence": True, "linger.ms": 5})
        errors: list[str] = []
        count = 0

        def on_delivery(error: Any, message: Any) -> None:
            if error is not None:
                errors.append(str(error))

        for message in messages:
            producer.produce(self.topic, on_delivery=on_delivery, **message)
            count += 1
            if count % 10_000 == 0:
                producer.poll(0)
        assert producer.flush(30) == 0, "Kafka did not acknowledge every test message"
        assert not errors, errors
        return count

    def produce_events(self, payloads: Iterable[dict[str, Any]]) -> int:
        return self.produce(event_message(p) for p in payloads)

    def produce_outbox(self) -> int:
        """The wallet outbox rows, in id order, as the relay publishes them to the wallet topic
        (approval rows go to a topic of their own)."""
        rows = OutboxEvent.objects.filter(aggregatetype="wallet").order_by("id")
        return self.produce_events(row.payload for row in rows)

    def read_dlq(self, expected: int, timeout: float = 20.0, quiet: float = 1.0) -> list[Received]:
        return read_all(self.dlq, expected=expected, timeout=timeout, quiet=quiet)

    def options(self, **overrides: Any) -> ConsumerOptions:
        values: dict[str, Any] = {
            "topic": self.topic,
            "dlq_topic": self.dlq,
            "group_id": self.group,
            "stop_when_idle": 2.0,
            "poll_timeout": 0.2,
            "session_timeout": 6.0,
        }
        values.update(overrides)
        return ConsumerOptions(**values)

    def consume(self, **overrides: Any) -> ConsumerStats:
        """Run the consumer in this process until idle (or `max_messages`)."""
        return HistoryConsumer(self.options(**overrides)).run()

    def env(self) -> dict[str, str]:
        """Environment for a `manage.py` subprocess on this test's database, topic and group."""
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "walletproject.settings",
            "DATABASE_URL": database_url(),
            "DB_CONN_MAX_AGE": "0",
            "KAFKA_TOPIC": self.topic,
            "KAFKA_DLQ_TOPIC": self.dlq,
            "KAFKA_GROUP_ID": self.group,
        }

    def manage(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PYTHON), "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def event_message(payload: dict[str, Any]) -> dict[str, Any]:
    """A Kafka message exactly as the contract and the relay shape it."""
    return {
        "key": payload["wallet_id"].encode(),
        "value": json.dumps(payload, separators=(",", ":")).encode(),
        "headers": [
            ("event_id", payload["event_id"].encode()),
            ("event_type", payload["event_type"].encode()),
            ("schema_version", str(payload["schema_version"]).encode()),
        ],
    }


def make_payloads(wallets: int, events_per_wallet: int, *, user: str = "bench") -> list[dict[str, Any]]:
    """Valid schema_version 1 event payloads: each wallet created, then funded
    `events_per_wallet - 1` times (the wallets app now writes version 2; the history accepts both)."""
    payloads = []
    now = datetime.now(UTC)
    for w in range(wallets):
        wallet_id = uuid.uuid4()
        balance = Decimal(0)
        for version in range(events_per_wallet):
            amount = Decimal(0) if version == 0 else Decimal("1.2500")
            balance += amount
            event = WalletEvent(
                event_type="WALLET_CREATED" if version == 0 else "WALLET_FUNDED",
                occurred_at=now,
                wallet_id=wallet_id,
                user_id=f"{user}{w % 50}",
                currency="USD",
                amount=amount,
                balance_after=balance,
                wallet_version=version,
                transaction_id=None if version == 0 else uuid.uuid4(),
            )
            payloads.append(as_v1(event.payload(uuid.uuid4())))
    return payloads


# The keys schema_version 2 adds, as an event without a hold, reversal or metadata carries them.
V2_KEYS: dict[str, Any] = {
    "held_after": "0.0000",
    "hold_id": None,
    "reverses_transaction_id": None,
    "description": None,
    "metadata": {},
}


def as_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """A payload as a version 1 producer (events.md, before API v1.1) sent it."""
    return {**{k: v for k, v in payload.items() if k not in V2_KEYS}, "schema_version": 1}


def as_v2(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A version 1 payload as schema_version 2 carries it, with `changes` (a new event_id if given)."""
    return {**payload, "schema_version": 2, **V2_KEYS, **changes}


def event_payload(
    event_type: str,
    wallet: Any,
    version: int,
    amount: str,
    balance_after: str,
    *,
    held_after: str | None = "0.0000",
    counterparty: Any = None,
    **fields: Any,
) -> dict[str, Any]:
    """One event's payload, written out as the contract shapes it (schema_version 2 unless
    held_after is None); `wallet` and `counterparty` are (wallet_id, user_id) pairs."""
    payload: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": format_timestamp(datetime.now(UTC)),
        "wallet_id": str(wallet[0]),
        "user_id": wallet[1],
        "currency": "USD",
        "amount": amount,
        "balance_after": balance_after,
        "wallet_version": version,
        "transaction_id": None,
        "counterparty_wallet_id": None if counterparty is None else str(counterparty[0]),
        "counterparty_user_id": None if counterparty is None else counterparty[1],
    }
    if held_after is not None:
        payload = as_v2(payload, held_after=held_after)
    for name, value in fields.items():
        payload[name] = str(value) if isinstance(value, uuid.UUID) else value
    return payload


@dataclass
class HoldStory:
    """Two wallets' events through a hold's life, as API v1.1 would publish them: alice funds 100
    (schema_version 1 events), holds 30 (h1) and 20 (h2) for bob, bob captures 10 of h1 (the rest
    released), voids h2, and staff reverse the capture. bob's events are all schema_version 2."""

    alice: tuple[uuid.UUID, str]
    bob: tuple[uuid.UUID, str]
    h1: uuid.UUID
    h2: uuid.UUID
    fund: uuid.UUID
    capture: uuid.UUID
    reversal: uuid.UUID
    alices: list[dict[str, Any]]
    bobs: list[dict[str, Any]]

    @property
    def payloads(self) -> list[dict[str, Any]]:
        return self.alices + self.bobs


def hold_story(alice_id: uuid.UUID | None = None, bob_id: uuid.UUID | None = None) -> HoldStory:
    alice, bob = (alice_id or uuid.uuid4(), "alice"), (bob_id or uuid.uuid4(), "bob")
    h1, h2, fund, capture, reversal = (uuid.uuid4() for _ in range(5))
    order = {"order": "A-1", "channel": "web"}
    alices = [
        event_payload("WALLET_CREATED", alice, 0, "0.0000", "0.0000", held_after=None),
        event_payload(
            "WALLET_FUNDED", alice, 1, "100.0000", "100.0000", held_after=None, transaction_id=fund
        ),
        event_payload(
            "HOLD_CREATED",
            alice,
            2,
            "30.0000",
            "100.0000",
            held_after="30.0000",
            hold_id=h1,
            counterparty=bob,
            description="order A-1",
            metadata=order,
        ),
        event_payload(
            "HOLD_CREATED",
            alice,
            3,
            "20.0000",
            "100.0000",
            held_after="50.0000",
            hold_id=h2,
            counterparty=bob,
        ),
        event_payload(
            "TRANSFER_OUT",
            alice,
            4,
            "10.0000",
            "90.0000",
            held_after="40.0000",
            hold_id=h1,
            transaction_id=capture,
            counterparty=bob,
            description="order A-1",
            metadata=order,
        ),
        event_payload(
            "HOLD_RELEASED",
            alice,
            5,
            "20.0000",
            "90.0000",
            held_after="20.0000",
            hold_id=h1,
            transaction_id=capture,
            counterparty=bob,
        ),
        event_payload(
            "HOLD_RELEASED", alice, 6, "20.0000", "90.0000", held_after="0.0000", hold_id=h2, counterparty=bob
        ),
        event_payload(
            "REVERSAL_IN",
            alice,
            7,
            "10.0000",
            "100.0000",
            transaction_id=reversal,
            reverses_transaction_id=capture,
            counterparty=bob,
            description="refund: not delivered",
        ),
    ]
    bobs = [
        event_payload("WALLET_CREATED", bob, 0, "0.0000", "0.0000"),
        event_payload(
            "TRANSFER_IN",
            bob,
            1,
            "10.0000",
            "10.0000",
            hold_id=h1,
            transaction_id=capture,
            counterparty=alice,
            description="order A-1",
            metadata=order,
        ),
        event_payload(
            "REVERSAL_OUT",
            bob,
            2,
            "10.0000",
            "0.0000",
            transaction_id=reversal,
            reverses_transaction_id=capture,
            description="refund: not delivered",
        ),
    ]
    return HoldStory(alice, bob, h1, h2, fund, capture, reversal, alices, bobs)


def read_all(topic: str, *, expected: int, timeout: float = 20.0, quiet: float = 1.0) -> list[Received]:
    """Every message of a topic from the beginning (waits for `expected`, then `quiet` more seconds)."""
    admin = AdminClient({"bootstrap.servers": brokers()})
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    consumer = Consumer(
        {
            "bootstrap.servers": brokers(),
            "group.id": f"history-test-reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    received: list[Received] = []
    deadline = time.monotonic() + timeout
    quiet_until: float | None = None
    try:
        while True:
            now = time.monotonic()
            if quiet_until is None and (len(received) >= expected or now >= deadline):
                quiet_until = now + quiet
            if quiet_until is not None and now >= quiet_until:
                break
            for message in consumer.consume(num_messages=500, timeout=0.2):
                if message.error() is None:
                    received.append(
                        Received(
                            partition=message.partition() or 0,
                            offset=message.offset() or 0,
                            key=message.key(),
                            value=message.value(),
                            headers=dict(Rejected.from_message(message, Origin(topic, 0, 0), "").headers),
                        )
                    )
    finally:
        consumer.close()
    return received


def create_topic(name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": brokers()})
    for future in admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1)]
    ).values():
        future.result(timeout=30)


def delete_topics(*names: str) -> None:
    try:
        admin = AdminClient({"bootstrap.servers": brokers()})
        for future in admin.delete_topics(list(names), operation_timeout=30).values():
            future.result(timeout=30)
    except Exception as exc:  # a topic left behind is only clutter; say so and carry on
        print(f"could not delete the test topics: {exc}")


@pytest.fixture
def topics(transactional_db: Any, settings: Any) -> Iterator[Topics]:
    """A topic (6 partitions), its DLQ and a consumer group of the test's own; settings point at them."""
    suffix = uuid.uuid4().hex[:10]
    made = Topics(f"test-history-{suffix}", f"test-history-{suffix}.dlq", f"test-history-{suffix}", 6)
    settings.KAFKA_TOPIC, settings.KAFKA_DLQ_TOPIC, settings.KAFKA_GROUP_ID = made.topic, made.dlq, made.group
    create_topic(made.topic, made.partitions)
    create_topic(made.dlq, 1)
    yield made
    delete_topics(made.topic, made.dlq)


@pytest.fixture
def operator(transactional_db: Any) -> APIClient:
    return make_client("ops", staff=True)


def project(payloads: list[dict[str, Any]]) -> None:
    """Store events with the consumer's own projection code, without Kafka (for API/admin tests)."""
    rows = [
        decode(json.dumps(p).encode(), p["wallet_id"].encode(), Origin("no-kafka", 0, n))
        for n, p in enumerate(payloads)
    ]
    save_batch(rows, [], VersionTracker())


def project_outbox() -> None:
    project([row.payload for row in OutboxEvent.objects.filter(aggregatetype="wallet").order_by("id")])


def history_of(wallet_id: Any) -> list[dict[str, Any]]:
    """A wallet's history rows, oldest first, as comparable values."""
    rows = HistoryEvent.objects.filter(wallet_id=wallet_id).order_by("wallet_version")
    return [
        dict(row)
        for row in rows.values("event_type", "amount", "balance_after", "wallet_version", "transaction_id")
    ]


ENTRY_EVENT = {
    "FUND": "WALLET_FUNDED",
    "WITHDRAW": "WALLET_WITHDRAWN",
    "TRANSFER_OUT": "TRANSFER_OUT",
    "TRANSFER_IN": "TRANSFER_IN",
}


def ledger_of(wallet: Wallet) -> list[dict[str, Any]]:
    """What the wallet's history must be according to its ledger: creation, then every entry."""
    rows = [
        {
            "event_type": "WALLET_CREATED",
            "amount": Decimal("0"),
            "balance_after": Decimal("0"),
            "wallet_version": 0,
            "transaction_id": None,
        }
    ]
    for entry in LedgerEntry.objects.filter(wallet=wallet).order_by("wallet_version"):
        rows.append(
            {
                "event_type": ENTRY_EVENT[entry.type],
                "amount": abs(entry.amount),
                "balance_after": entry.balance_after,
                "wallet_version": entry.wallet_version,
                "transaction_id": entry.transaction_id,
            }
        )
    return rows


def wait_until(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    details: Callable[[], str] | None = None,
    interval: float = 0.1,
) -> None:
    """Poll until `condition()`; fail after `timeout` with `what` and, if given, `details()` (e.g. logs)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f}s" + (f"\n{details()}" if details else ""))
        time.sleep(interval)


@pytest.fixture
def drained(topics, operator):
    """Wallets moved money through the API; the history consumed every event."""
    ids = []
    for user in ("ann", "ben", "cid"):
        ids.append(operator.post("/wallets", {"user_id": user}, format="json").json()["data"]["id"])
    for wallet in ids:
        assert operator.post(f"/wallets/{wallet}/fund", {"amount": "100"}, format="json").status_code == 200
    for n in range(6):
        source, target = ids[n % 3], ids[(n + 1) % 3]
        body = {"to_wallet_id": target, "amount": f"{n + 1}.25"}
        assert operator.post(f"/wallets/{source}/transfer", body, format="json").status_code == 200
    assert (
        operator.post(f"/wallets/{ids[0]}/withdraw", {"amount": "3.3333"}, format="json").status_code == 200
    )
    produced = topics.produce_outbox()
    assert topics.consume(max_messages=produced).inserted == produced
    return ids
