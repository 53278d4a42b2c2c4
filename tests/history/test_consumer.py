"""The consumer against the real Kafka and PostgreSQL: the history equals the ledger, event for event;
redeliveries store nothing twice; poison messages go to the DLQ and the consumer carries on."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from history.consumer import ConsumerStats, HistoryConsumer
from history.dead_letters import ERROR_HEADER, OFFSET_HEADER, PARTITION_HEADER, TOPIC_HEADER
from history.models import DeadLetter, HistoryEvent, VersionGap
from kafka_bridge.models import OutboxEvent
from wallets.models import Wallet

from .conftest import event_message, history_of, ledger_of, make_payloads


def test_after_a_burst_of_api_operations_each_wallets_history_equals_its_ledger(topics, operator):
    wallets = []
    for n in range(6):
        response = operator.post("/wallets", {"user_id": f"user{n % 3}"}, format="json")
        assert response.status_code == 201
        wallets.append(response.json()["data"]["id"])
    for n, wallet in enumerate(wallets):
        assert (
            operator.post(f"/wallets/{wallet}/fund", {"amount": f"{100 + n}.25"}, format="json").status_code
            == 200
        )
    for round_ in range(5):
        for n, wallet in enumerate(wallets):
            target = wallets[(n + round_ + 1) % len(wallets)]
            moved = operator.post(
                f"/wallets/{wallet}/transfer",
                {"to_wallet_id": target, "amount": f"{round_ + 1}.5"},
                format="json",
            )
            assert moved.status_code == 200
    for wallet in wallets[:3]:
        assert (
            operator.post(f"/wallets/{wallet}/withdraw", {"amount": "7.0001"}, format="json").status_code
            == 200
        )

    produced = topics.produce_outbox()
    assert produced == OutboxEvent.objects.count() == 6 + 6 + 5 * 6 * 2 + 3
    stats = topics.consume(max_messages=produced)

    assert stats.received == stats.inserted == produced
    assert stats.dead_lettered == stats.duplicates == stats.gaps == 0
    for wallet in Wallet.objects.filter(kind=Wallet.Kind.USER):
        assert history_of(wallet.id) == ledger_of(wallet), f"wallet {wallet.id}"
        last = HistoryEvent.objects.filter(wallet_id=wallet.id).order_by("-wallet_version").first()
        assert last is not None
        assert (last.balance_after, last.wallet_version) == (wallet.balance, wallet.version)
    # Each row keeps the event as consumed and where it came from.
    row = HistoryEvent.objects.filter(event_type="TRANSFER_IN").first()
    assert row is not None
    outbox = OutboxEvent.objects.get(event_id=row.event_id)
    assert row.payload == outbox.payload
    assert row.topic == topics.topic
    assert 0 <= row.partition < topics.partitions
    assert row.counterparty_wallet_id is not None
    assert str(row.counterparty_wallet_id) == outbox.payload["counterparty_wallet_id"]
    assert row.occurred_at.isoformat().startswith(outbox.payload["occurred_at"][:19])
    assert not VersionGap.objects.exists()


def test_the_same_event_produced_twice_leaves_one_row(topics):
    payloads = make_payloads(3, 4)
    topics.produce_events(payloads)
    topics.produce_events(payloads[:5])  # the same events again, as a retried publish would
    stats = topics.consume(max_messages=len(payloads) + 5)

    assert stats.received == len(payloads) + 5
    assert stats.inserted == len(payloads)
    assert stats.duplicates == 5
    assert HistoryEvent.objects.count() == len(payloads)
    assert set(HistoryEvent.objects.values_list("event_id", flat=True)) == {
        uuid.UUID(p["event_id"]) for p in payloads
    }


class CrashBeforeCommit(HistoryConsumer):
    """Saves its batch, then dies before committing the offsets (as a SIGKILL there would)."""

    class Crash(Exception):
        pass

    def commit(self, offsets: dict[tuple[str, int], int]) -> None:
        raise self.Crash()


def test_a_batch_redelivered_after_a_crash_before_the_offset_commit_is_stored_once(topics):
    payloads = make_payloads(10, 10)
    topics.produce_events(payloads)

    crashing = CrashBeforeCommit(topics.options(batch_size=1000))
    with pytest.raises(CrashBeforeCommit.Crash):
        crashing.run()
    saved = HistoryEvent.objects.count()
    assert saved == crashing.stats.received > 0  # the batch was stored before the "crash"

    # A new consumer in the same group: nothing was committed, so it reads everything again.
    stats = topics.consume(max_messages=len(payloads))
    assert stats.received == len(payloads)
    assert stats.duplicates == saved
    assert stats.inserted == len(payloads) - saved
    assert HistoryEvent.objects.count() == len(payloads)
    assert not VersionGap.objects.exists()

    # And now the offsets are committed: a third consumer finds nothing to read.
    assert topics.consume(stop_when_idle=1.5).received == 0


def _poison(wallet_id: str, value: bytes) -> dict[str, Any]:
    return {"key": wallet_id.encode(), "value": value}


def test_poison_messages_go_to_the_dlq_with_the_error_and_origin_and_the_consumer_goes_on(topics):
    good = make_payloads(1, 6)  # one wallet: one partition, so the order below is the topic's order
    wallet_id = good[0]["wallet_id"]
    missing_field = {k: v for k, v in good[2].items() if k != "balance_after"}
    missing_field["event_id"] = str(uuid.uuid4())
    bad_amount = {**good[3], "event_id": str(uuid.uuid4()), "amount": "12.34567"}
    float_amount = json.dumps({**good[3], "event_id": str(uuid.uuid4())}).replace(
        f'"amount": "{good[3]["amount"]}"', '"amount": 1.25'
    )
    # Valid by the contract, but PostgreSQL's jsonb refuses a lone surrogate: found row by row.
    db_refused = json.dumps({**good[4], "event_id": str(uuid.uuid4()), "note": "\ud800"})
    messages = [
        event_message(good[0]),
        event_message(good[1]),
        _poison(wallet_id, b"this is not JSON {"),
        event_message(good[2]),
        _poison(wallet_id, json.dumps(missing_field).encode()),
        event_message(good[3]),
        _poison(wallet_id, json.dumps(bad_amount).encode()),
        _poison(wallet_id, float_amount.encode()),
        _poison(wallet_id, db_refused.encode()),
        event_message(good[4]),
        event_message(good[5]),
    ]
    topics.produce(messages)
    stats = topics.consume(max_messages=len(messages))

    assert stats.received == len(messages)
    assert stats.inserted == 6  # every good message, including those after each poison one
    assert stats.dead_lettered == 5
    assert HistoryEvent.objects.count() == 6

    letters = sorted(topics.read_dlq(expected=5), key=lambda r: int(r.headers[OFFSET_HEADER]))
    assert [int(r.headers[OFFSET_HEADER]) for r in letters] == [2, 4, 6, 7, 8]
    assert {r.headers[TOPIC_HEADER].decode() for r in letters} == {topics.topic}
    partition = HistoryEvent.objects.first().partition
    assert {int(r.headers[PARTITION_HEADER]) for r in letters} == {partition}
    assert [r.value for r in letters] == [messages[i]["value"] for i in (2, 4, 6, 7, 8)]
    assert all(r.key == wallet_id.encode() for r in letters)
    errors = [r.headers[ERROR_HEADER].decode() for r in letters]
    assert errors[0].startswith("not JSON")
    assert "balance_after" in errors[1]
    assert "amount" in errors[2]
    assert "amount" in errors[3]
    assert errors[4].startswith("the database refused the event")
    # Recorded for operators too, and the offsets are committed past them.
    assert DeadLetter.objects.count() == 5
    assert set(DeadLetter.objects.values_list("offset", flat=True)) == {2, 4, 6, 7, 8}
    again = topics.consume(stop_when_idle=1.5)
    assert again.received == 0


def test_a_version_gap_is_recorded_and_closed_when_the_late_event_arrives(topics):
    payloads = make_payloads(1, 6)
    late = payloads.pop(3)  # version 3 goes missing
    topics.produce_events(payloads)
    first = topics.consume(max_messages=len(payloads))
    assert first.gaps == 1
    gap = VersionGap.objects.get()
    assert (gap.first_missing, gap.last_missing, gap.resolved_at) == (3, 3, None)
    assert str(gap.wallet_id) == late["wallet_id"]

    topics.produce_events([late])
    second: ConsumerStats = topics.consume(max_messages=1)
    assert second.inserted == 1
    gap.refresh_from_db()
    assert gap.resolved_at is not None
    assert list(
        HistoryEvent.objects.filter(wallet_id=gap.wallet_id)
        .order_by("wallet_version")
        .values_list("wallet_version", "balance_after")
    ) == [(v, Decimal("1.2500") * v) for v in range(6)]
