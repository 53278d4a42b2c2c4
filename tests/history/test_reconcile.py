"""`manage.py reconcile` on real data: exit 0 when the books agree, non-zero naming what is wrong when
they do not (a balance changed with SQL behind the system's back, a history event lost); with API
v1.1 events too (holds, captures, reversals: schema_version 2)."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from history import tasks
from history.models import HistoryEvent, ReconcileRun
from history.reconcile import reconcile
from kafka_bridge.models import OutboxEvent
from wallets.models import LedgerEntry, LedgerTransaction, Wallet

from .conftest import as_v2, event_payload


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


def test_reconcile_exits_0_on_clean_data_and_names_the_wallet_changed_behind_its_back(topics, drained):
    clean = topics.manage("reconcile", "--history-grace", "0")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "7 checks, all agree" in clean.stdout
    assert "BREACH" not in clean.stdout
    assert ReconcileRun.objects.get().ok is True

    tampered = drained[1]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE wallets_wallet SET balance = balance + 1 WHERE id = %s", [tampered])
    broken = topics.manage("reconcile", "--history-grace", "0")
    assert broken.returncode != 0
    report = broken.stdout
    assert f"wallet {tampered} (ben, USD): balance" in report
    assert "but its ledger entries sum to" in report
    assert (
        "BREACH  per currency, user balances equal what the system account paid out (1 currency): 1" in report
    )
    assert "USD: user balances sum to" in report
    assert "in breach" in broken.stderr
    # Only that wallet is named among the balances.
    for other in (drained[0], drained[2]):
        assert f"wallet {other} (" not in report.split("every ledger transaction")[0]
    latest = ReconcileRun.objects.order_by("-finished_at").first()
    assert latest is not None
    assert latest.ok is False
    assert latest.breaches == 2
    assert tampered in latest.report


def test_reconcile_reports_a_lost_history_event_and_a_stuck_outbox(topics, drained):
    lost = HistoryEvent.objects.filter(wallet_id=drained[2], wallet_version=2).get()
    lost.delete()
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("reconcile", "--history-grace", "0", "--outbox-max-age", "0", stdout=out)
    assert failure.value.returncode == 1
    report = out.getvalue()
    assert f"wallet {drained[2]} version 2: no history event for {lost.event_type}" in report
    # Nothing publishes the test database's outbox, so with a zero threshold every row is overdue.
    assert "BREACH  no outbox event pending for more than 0s" in report
    assert "every wallet's balance equals its ledger (3 user wallets)" in report

    # A grace period covers events still in flight; --skip-history leaves the history out.
    skipped = io.StringIO()
    call_command("reconcile", "--skip-history", stdout=skipped)
    assert "skip    the history holds" in skipped.getvalue()


def test_the_celery_task_stores_the_result(topics, drained):
    assert tasks.reconcile(history_grace=0) == {
        "run": ReconcileRun.objects.get().id,
        "ok": True,
        "breaches": 0,
    }
    Wallet.objects.filter(id=drained[0]).update(balance=0)
    result = tasks.reconcile(history_grace=0)
    assert result["ok"] is False
    assert result["breaches"] == 2
    assert str(drained[0]) in ReconcileRun.objects.get(id=result["run"]).report


# -- API v1.1 events (schema_version 2) ------------------------------------------------------------


def _raise_version(wallet_id: Any) -> int:
    """A hold change as API v1.1 makes it: the wallet's version rises, with no ledger entry."""
    wallet = Wallet.objects.get(id=wallet_id)
    Wallet.objects.filter(id=wallet_id).update(version=wallet.version + 1, updated_at=timezone.now())
    return wallet.version + 1


def _write_reversal(*, debit: Wallet, credit: Wallet, amount: Decimal) -> uuid.UUID:
    """A reversal as holds.md describes it (a ledger transaction of kind `reversal` with the opposite
    entries), written with the ORM because this branch's wallets app cannot make one yet."""
    now = timezone.now()
    with transaction.atomic():
        reversal = LedgerTransaction.objects.create(kind="REVERSAL", initiated_by="ops", created_at=now)
        for wallet, signed, entry_type in ((debit, -amount, "TRANSFER_OUT"), (credit, amount, "TRANSFER_IN")):
            wallet.refresh_from_db()
            wallet.balance += signed
            wallet.version += 1
            wallet.updated_at = now
            wallet.save(update_fields=["balance", "version", "updated_at"])
            LedgerEntry.objects.create(
                transaction=reversal,
                wallet=wallet,
                currency=wallet.currency,
                amount=signed,
                type=entry_type,
                balance_after=wallet.balance,
                wallet_version=wallet.version,
                created_at=now,
            )
    return reversal.id


@pytest.fixture
def with_holds(topics, operator) -> dict[str, Any]:
    """ann holds 30 for ben, ben captures 10 (the rest released), ann withdraws 5, staff reverse the
    capture: money through the API and the ledger, hold changes as version raises, and every event
    published as schema_version 2, as the holds branch's wallets will publish them."""
    ann, ben = (
        operator.post("/wallets", {"user_id": user}, format="json").json()["data"]["id"]
        for user in ("ann", "ben")
    )
    assert operator.post(f"/wallets/{ann}/fund", {"amount": "100"}, format="json").status_code == 200
    hold = uuid.uuid4()
    held = {ann: {0: "0.0000", 1: "0.0000"}, ben: {0: "0.0000"}}
    extra = []  # the hold events, which have no outbox row yet on this branch

    def hold_event(event_type: str, version: int, amount: str, held_after: str, **fields: Any) -> None:
        held[ann][version] = held_after
        extra.append(
            event_payload(
                event_type,
                (ann, "ann"),
                version,
                amount,
                "100.0000" if version < 3 else "90.0000",
                held_after=held_after,
                hold_id=hold,
                counterparty=(ben, "ben"),
                **fields,
            )
        )

    hold_event("HOLD_CREATED", _raise_version(ann), "30.0000", "30.0000")
    capture = operator.post(f"/wallets/{ann}/transfer", {"to_wallet_id": ben, "amount": "10"}, format="json")
    assert capture.status_code == 200
    capture_id = capture.json()["data"][0]["reference_id"]  # the ledger transaction
    held[ann][3], held[ben][1] = "20.0000", "0.0000"
    hold_event("HOLD_RELEASED", _raise_version(ann), "20.0000", "0.0000", transaction_id=capture_id)
    assert operator.post(f"/wallets/{ann}/withdraw", {"amount": "5"}, format="json").status_code == 200
    held[ann][5] = "0.0000"
    wallets = {w.id: w for w in Wallet.objects.filter(id__in=[ann, ben])}
    reversal = _write_reversal(
        debit=wallets[uuid.UUID(ben)], credit=wallets[uuid.UUID(ann)], amount=Decimal(10)
    )
    for wallet, user, version, event_type, balance in (
        (ann, "ann", 6, "REVERSAL_IN", "95.0000"),
        (ben, "ben", 2, "REVERSAL_OUT", "0.0000"),
    ):
        extra.append(
            event_payload(
                event_type,
                (wallet, user),
                version,
                "10.0000",
                balance,
                transaction_id=reversal,
                reverses_transaction_id=capture_id,
                description="refund",
            )
        )

    def upgraded(payload: dict[str, Any]) -> dict[str, Any]:
        version = payload["wallet_version"]
        is_capture = payload["transaction_id"] == capture_id
        return as_v2(
            payload, held_after=held[payload["wallet_id"]][version], hold_id=str(hold) if is_capture else None
        )

    payloads = [upgraded(row.payload) for row in OutboxEvent.objects.order_by("id")] + extra
    payloads.sort(key=lambda p: (p["wallet_id"], p["wallet_version"]))
    topics.produce_events(payloads)
    assert topics.consume(max_messages=len(payloads)).inserted == len(payloads) == 6 + 4
    return {"ann": ann, "ben": ben, "hold": hold, "capture": capture_id, "reversal": reversal}


def _checks() -> dict[str, Any]:
    return {check.name: check for check in reconcile(history_grace=0).checks}


def test_reconcile_agrees_with_holds_captures_and_reversals_in_the_history(with_holds):
    result = reconcile(history_grace=0)
    assert result.ok, result.report()
    assert len(result.checks) == 7
    assert "ok      replaying each wallet's history gives every event's balance_after and held_after" in (
        result.report()
    )
    assert HistoryEvent.objects.filter(event_type__in=["HOLD_CREATED", "HOLD_RELEASED"]).count() == 2
    assert HistoryEvent.objects.get(event_type="REVERSAL_OUT").reverses_transaction_id == uuid.UUID(
        with_holds["capture"]
    )
    assert (
        HistoryEvent.objects.filter(wallet_id=with_holds["ann"])
        .order_by("-wallet_version")
        .first()
        .held_after
        == 0
    )


def test_reconcile_names_a_wrong_held_after_a_hold_moving_money_and_a_lost_hold_event(with_holds):
    ann = with_holds["ann"]
    capture = HistoryEvent.objects.get(wallet_id=ann, wallet_version=3)
    HistoryEvent.objects.filter(id=capture.id).update(held_after=Decimal("25"))
    checks = _checks()
    assert [name for name, check in checks.items() if not check.ok] == ["history_replay"]
    assert checks["history_replay"].examples == [
        f"wallet {ann} version 3 TRANSFER_OUT: held_after 25.0000, replayed 20.0000"
    ]
    HistoryEvent.objects.filter(id=capture.id).update(held_after=Decimal("20"))

    hold = HistoryEvent.objects.get(wallet_id=ann, event_type="HOLD_CREATED")
    HistoryEvent.objects.filter(id=hold.id).update(balance_after=Decimal("70"))
    examples = _checks()["history_replay"].examples
    assert examples == [f"wallet {ann} version 2 HOLD_CREATED: balance_after 70.0000, replayed 100.0000"]
    HistoryEvent.objects.filter(id=hold.id).update(balance_after=Decimal("100"))
    assert reconcile(history_grace=0).ok

    HistoryEvent.objects.filter(wallet_id=ann, event_type="HOLD_RELEASED").delete()
    checks = _checks()
    assert checks["history_matches_ledger"].examples == [
        f"wallet {ann} version 4: no history event for this hold change (no ledger entry)"
    ]
    assert checks["history_replay"].examples == [
        f"wallet {ann} version 5 WALLET_WITHDRAWN: held_after 0.0000, replayed 20.0000 "
        "(earlier versions are missing)"
    ]
    assert checks["wallet_balances"].ok  # the ledger itself is fine


def test_reconcile_names_a_version_raised_with_no_event_and_a_money_event_where_only_a_hold_may_be(
    with_holds,
):
    ben = with_holds["ben"]
    Wallet.objects.filter(id=ben).update(version=F("version") + 1)  # behind the system's back
    checks = _checks()
    assert checks["wallet_balances"].ok  # a version above the entries may be a hold change...
    assert checks["history_matches_ledger"].examples == [  # ...but the history must have it
        f"wallet {ben} version 3: no history event for this hold change (no ledger entry)"
    ]
    # An event claiming a money move at that version is not a hold change.
    row = HistoryEvent.objects.get(wallet_id=ben, wallet_version=2)
    row.pk, row.event_id, row.wallet_version, row.event_type = None, uuid.uuid4(), 3, "WALLET_FUNDED"
    row.save()
    examples = _checks()["history_matches_ledger"].examples
    assert len(examples) == 1
    assert examples[0].startswith(f"wallet {ben} version 3: history says WALLET_FUNDED 10.0000")
    assert examples[0].endswith("the ledger has no entry at this version: only a hold change may be here")
