"""`rebuild_history --from-ledger` on the real services: the history built from the ledger equals, row
for row, the one the consumer built from Kafka on a database holding every event type; reads never
fail while it swaps the table in; reconcile is clean after; the consumer goes on without duplicates
or gaps; and a consumer away longer than the retention is recovered from the ledger."""

from __future__ import annotations

import io
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections

from history.ledger_rebuild import HISTORY, rebuild_from_ledger
from history.models import HistoryEvent, ReconcileRun, VersionGap
from tests.conftest import make_approver, make_client
from wallets import holds, multi_leg, reversals, services
from wallets.models import Hold
from wallets.services import Note

from .conftest import Topics

# Everything an event says; not the row number, when it was stored or where in Kafka it came from.
COMPARED = [
    f.name
    for f in HistoryEvent._meta.fields
    if f.name not in ("id", "recorded_at", "topic", "partition", "offset")
]


def snapshot() -> dict[Any, dict[str, Any]]:
    return {row["event_id"]: row for row in HistoryEvent.objects.values(*COMPARED)}


def every_event_type() -> dict[str, uuid.UUID]:
    """Funds, withdrawals, transfers, holds captured (all, part), voided and expired, reversals
    (of a transfer, a fund, a capture, a multi-leg transaction), a multi-leg transaction with notes
    of its own, a batch, and a fund above the threshold approved by a second operator."""
    ann, ben, cid = (services.wallet_create(user_id=name, currency="USD") for name in ("ann", "ben", "cid"))
    note = Note("rent", {"month": "may"})
    services.wallet_fund(wallet_id=ann.id, amount=Decimal("500"), initiated_by="ops", note=note)
    services.wallet_fund(wallet_id=ben.id, amount=Decimal("300.5"), initiated_by="ops")
    services.wallet_withdraw(wallet_id=ben.id, amount=Decimal("20.25"), initiated_by="ops")
    transfer = services.transfer_create(
        from_wallet_id=ann.id, to_wallet_id=ben.id, amount=Decimal("42"), initiated_by="ann", note=note
    )
    whole = holds.hold_create(
        from_wallet_id=ann.id, to_wallet_id=cid.id, amount=Decimal("30"), initiated_by="ann", note=note
    )
    holds.hold_capture(hold=whole, amount=None, initiated_by="cid")
    part = holds.hold_create(
        from_wallet_id=ann.id, to_wallet_id=cid.id, amount=Decimal("25"), initiated_by="ann"
    )
    capture = holds.hold_capture(
        hold=part, amount=Decimal("10"), initiated_by="cid", note=Note("partial", {"k": "v"})
    )
    voided = holds.hold_create(
        from_wallet_id=ben.id, to_wallet_id=ann.id, amount=Decimal("5"), initiated_by="ben"
    )
    holds.hold_void(hold=voided, initiated_by="ann")
    expiring = holds.hold_create(
        from_wallet_id=ben.id, to_wallet_id=cid.id, amount=Decimal("7"), initiated_by="ben", expires_in=60
    )
    pending = holds.hold_create(
        from_wallet_id=ben.id, to_wallet_id=cid.id, amount=Decimal("3"), initiated_by="ben"
    )
    with connection.cursor() as cursor:  # its expiry has come
        cursor.execute(
            f"UPDATE {Hold._meta.db_table} SET expires_at = now() - interval '1 second' WHERE id = %s",  # noqa: S608
            [expiring.id],
        )
    assert holds.hold_expire(hold_id=expiring.id)
    legs = [
        multi_leg.Leg(ann.id, ben.id, Decimal("1.5"), Note("leg note", {"leg": "0"})),
        multi_leg.Leg(ben.id, cid.id, Decimal("2.5")),
        multi_leg.Leg(ann.id, cid.id, Decimal("3.25")),
    ]
    split = multi_leg.transaction_create(legs=legs, initiated_by="ops", note=Note("split", {"n": "3"}))
    multi_leg.batch_transfer(
        transfers=[
            multi_leg.Leg(cid.id, ann.id, Decimal("1"), Note("batch item", {})),
            multi_leg.Leg(cid.id, ben.id, Decimal("999999")),  # refused: insufficient funds
            multi_leg.Leg(ben.id, ann.id, Decimal("2")),
        ],
        initiated_by="ops",
    )
    fund = services.system_movement(
        wallet_id=cid.id, amount=Decimal("15"), initiated_by="ops", withdraw=False
    )
    for reversed_id in (
        transfer.transaction_id,
        fund.transaction_id,
        capture.transaction_id,
        split.transaction_id,
    ):
        reversals.transaction_reverse(transaction_id=reversed_id, reason="test", initiated_by="ops")

    # The approvals' events: a fund above the threshold waits for a second operator, who approves it.
    maker, checker = make_client("maker", staff=True), make_approver("checker")
    asked = maker.post(f"/wallets/{ben.id}/fund", {"amount": "5000"}, format="json")
    assert asked.status_code == 202, asked.content
    approval_id = asked.json()["data"]["approval_id"]
    approved = checker.post(f"/approvals/{approval_id}/approve", {"reason": "wire seen"}, format="json")
    assert approved.status_code == 200, approved.content
    assert pending.status == Hold.Status.PENDING
    return {"ann": ann.id, "ben": ben.id, "cid": cid.id}


def assert_whole(expected_events: int) -> None:
    """No event twice, no version missing, every wallet's versions from 0."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT count(*), count(DISTINCT event_id), count(DISTINCT (wallet_id, wallet_version)),
                       bool_and(n = top + 1)
                  FROM (SELECT wallet_id, count(*) OVER (PARTITION BY wallet_id) AS n,
                               max(wallet_version) OVER (PARTITION BY wallet_id) AS top,
                               event_id, wallet_version FROM {HISTORY}) AS h"""  # noqa: S608
        )
        rows, ids, versions, contiguous = cursor.fetchone()
    assert rows == ids == versions == expected_events
    assert contiguous


def test_from_ledger_equals_the_kafka_built_history_row_for_row(topics: Topics):
    wallets = every_event_type()
    produced = topics.produce_outbox()
    assert topics.consume(max_messages=produced).received == produced
    from_kafka = snapshot()
    assert len(from_kafka) == produced
    types = {row["event_type"] for row in from_kafka.values()}
    assert types == {
        "WALLET_CREATED",
        "WALLET_FUNDED",
        "WALLET_WITHDRAWN",
        "TRANSFER_OUT",
        "TRANSFER_IN",
        "HOLD_CREATED",
        "HOLD_RELEASED",
        "REVERSAL_OUT",
        "REVERSAL_IN",
    }
    assert any(row["leg_index"] is not None for row in from_kafka.values())

    out = io.StringIO()
    call_command("rebuild_history", "--from-ledger", stdout=out)
    assert f"built {produced} rows from the ledger" in out.getvalue()
    from_ledger = snapshot()
    assert from_ledger.keys() == from_kafka.keys()
    for event_id, row in from_kafka.items():
        assert from_ledger[event_id] == row, row["event_type"]
    assert not HistoryEvent.objects.exclude(topic="").exists()  # every row is the ledger's now

    call_command("reconcile", "--full", stdout=io.StringIO())
    run = ReconcileRun.objects.first()
    assert run is not None and run.full
    assert run.ok, run.report

    # The consumer goes on: it reads everything again (the test republishes the outbox) plus a new
    # movement; the old events are skipped by their ids, the new one stored, no version missing.
    services.transfer_create(
        from_wallet_id=wallets["ann"], to_wallet_id=wallets["ben"], amount=Decimal("1"), initiated_by="ann"
    )
    again = topics.produce_outbox()
    assert again == produced + 2
    stats = topics.consume(max_messages=again)
    assert stats.received == again
    assert_whole(produced + 2)
    assert not VersionGap.objects.filter(resolved_at__isnull=True).exists()


def test_reads_never_fail_while_the_table_is_swapped(topics: Topics):
    every_event_type()
    produced = topics.produce_outbox()
    topics.consume(max_messages=produced)
    seen: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                seen.append(HistoryEvent.objects.filter(event_type__startswith="").count())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        time.sleep(0.2)
        for _ in range(3):
            rebuild_from_ledger()
        time.sleep(0.2)
    finally:
        stop.set()
        reader.join(30)
    assert errors == []
    assert len(seen) > 10
    assert set(seen) == {produced}  # the old table or the new one, both whole


@pytest.mark.parametrize("lost", [4])
def test_a_consumer_away_longer_than_the_retention_is_recovered_from_the_ledger(topics: Topics, lost: int):
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import AdminClient

    from history.lag import consumer_lag_summary
    from tests.conftest import brokers
    from walletproject.health import event_log_info

    every_event_type()
    produced = topics.produce_outbox()
    lags = consumer_lag_summary()
    # The retention dropped the first events of the fullest partition before the consumer read them.
    partition = int(max(lags["partitions"], key=lambda p: lags["partitions"][p]))
    admin = AdminClient({"bootstrap.servers": brokers()})
    for future in admin.delete_records([TopicPartition(topics.topic, partition, lost)]).values():
        future.result(timeout=30)
    assert event_log_info(consumer_lag_summary())["status"] == "truncated"  # type: ignore[index]
    stats = topics.consume(max_messages=produced - lost)
    assert stats.received == produced - lost
    assert HistoryEvent.objects.count() == produced - lost  # lost to the history

    rebuild_from_ledger()
    assert_whole(produced)
    assert not VersionGap.objects.filter(resolved_at__isnull=True).exists()
