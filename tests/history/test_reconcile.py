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

from history import tasks
from history.models import HistoryEvent, ReconcileRun
from history.reconcile import reconcile
from kafka_bridge.models import OutboxEvent
from tests.conftest import behind_the_ledgers_back, make_approver


def test_reconcile_exits_0_on_clean_data_and_names_the_wallet_changed_behind_its_back(topics, drained):
    clean = topics.manage("reconcile", "--history-grace", "0")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "9 checks, all agree" in clean.stdout
    assert "BREACH" not in clean.stdout
    assert ReconcileRun.objects.get().ok is True

    tampered = drained[1]
    behind_the_ledgers_back("UPDATE wallets_wallet SET balance = balance + 1 WHERE id = %s", [tampered])
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
    # No checkpoint yet: the periodic run checks every wallet.
    assert "every wallet's balance equals its ledger (3 of 3 user wallets changed since" in report

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
    behind_the_ledgers_back("UPDATE wallets_wallet SET balance = 0 WHERE id = %s", [drained[0]])
    result = tasks.reconcile(history_grace=0)
    assert result["ok"] is False
    assert result["breaches"] == 2
    assert str(drained[0]) in ReconcileRun.objects.get(id=result["run"]).report


# -- API v1.1 events (schema_version 2) ------------------------------------------------------------


@pytest.fixture
def with_holds(topics, operator) -> dict[str, Any]:
    """Through the API: ann holds 30 for ben, 10 of it is captured (the rest released), ann withdraws
    5, staff reverse the capture; every event (schema_version 2) consumed into the history.

    ann's versions: 0 created, 1 funded, 2 HOLD_CREATED, 3 TRANSFER_OUT (capture), 4 HOLD_RELEASED,
    5 withdrawn, 6 REVERSAL_IN; ben's: 0 created, 1 TRANSFER_IN, 2 REVERSAL_OUT."""
    ann, ben = (
        operator.post("/wallets", {"user_id": user}, format="json").json()["data"]["id"]
        for user in ("ann", "ben")
    )
    assert operator.post(f"/wallets/{ann}/fund", {"amount": "100"}, format="json").status_code == 200
    created = operator.post(f"/wallets/{ann}/holds", {"to_wallet_id": ben, "amount": "30"}, format="json")
    assert created.status_code == 201, created.content
    hold = created.json()["data"]["id"]
    captured = operator.post(f"/holds/{hold}/capture", {"amount": "10"}, format="json")
    assert captured.status_code == 200, captured.content
    capture_id = captured.json()["data"]["transactions"][0]["reference_id"]  # the ledger transaction
    assert operator.post(f"/wallets/{ann}/withdraw", {"amount": "5"}, format="json").status_code == 200
    # Every staff reversal waits for a second operator (issue #23): requested, then approved. The
    # approval's steps write their events for the approvals' topic; the reversal writes its own.
    requested = operator.post(f"/transactions/{capture_id}/reverse", {"reason": "refund"}, format="json")
    assert requested.status_code == 202, requested.content
    approval = requested.json()["data"]["approval_id"]
    approved = make_approver("checker").post(f"/approvals/{approval}/approve", {}, format="json")
    assert approved.status_code == 200, approved.content
    payloads = [row.payload for row in OutboxEvent.objects.filter(aggregatetype="wallet").order_by("id")]
    assert {p["schema_version"] for p in payloads} == {2}
    assert OutboxEvent.objects.filter(aggregatetype="approval").count() == 2  # requested, approved
    topics.produce_events(payloads)
    assert topics.consume(max_messages=len(payloads)).inserted == len(payloads) == 7 + 3
    return {
        "ann": ann,
        "ben": ben,
        "hold": hold,
        "capture": capture_id,
        "reversal": approved.json()["data"]["transaction_id"],
    }


def _checks() -> dict[str, Any]:
    return {check.name: check for check in reconcile(history_grace=0).checks}


def test_reconcile_agrees_with_holds_captures_and_reversals_in_the_history(with_holds):
    result = reconcile(history_grace=0)
    assert result.ok, result.report()
    assert len(result.checks) == 9
    assert "ok      every wallet's held equals its pending holds; its version counts its changes" in (
        result.report()
    )
    assert "ok      replaying each wallet's history gives every event's balance_after and held_after" in (
        result.report()
    )
    assert HistoryEvent.objects.filter(event_type__in=["HOLD_CREATED", "HOLD_RELEASED"]).count() == 2
    assert HistoryEvent.objects.get(event_type="REVERSAL_OUT").reverses_transaction_id == uuid.UUID(
        with_holds["capture"]
    )
    newest = HistoryEvent.objects.filter(wallet_id=with_holds["ann"]).order_by("-wallet_version").first()
    assert newest is not None and newest.wallet_version == 6 and newest.held_after == 0


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
        f"wallet {ann} version 4: no history event for HOLD_RELEASED 20.0000"
    ]
    assert checks["history_replay"].examples == [
        f"wallet {ann} version 5 WALLET_WITHDRAWN: held_after 0.0000, replayed 20.0000 "
        "(earlier versions are missing)"
    ]
    assert checks["wallet_balances"].ok and checks["holds"].ok  # the books themselves are fine


def test_reconcile_names_held_and_a_version_changed_behind_the_systems_back(with_holds):
    ann, ben = with_holds["ann"], with_holds["ben"]
    # What no service does, and PostgreSQL refuses (migration 0011) unless its guards are off.
    behind_the_ledgers_back("UPDATE wallets_wallet SET held = 7, version = version + 1 WHERE id = %s", [ann])
    checks = _checks()
    assert checks["holds"].examples == [
        f"wallet {ann} (ann, USD): held 7.0000 but its pending holds sum to 0.0000; "
        "version 7 but 6 ledger entries and hold changes"
    ]
    assert checks["wallet_balances"].ok  # the money itself still agrees with the ledger
    # An event claiming a money move at a version the books never made is named too.
    row = HistoryEvent.objects.get(wallet_id=ben, wallet_version=2)
    row.pk, row.event_id, row.wallet_version, row.event_type = None, uuid.uuid4(), 3, "WALLET_FUNDED"
    row.save()
    assert _checks()["history_matches_ledger"].examples == [
        f"wallet {ben} version 3: history event WALLET_FUNDED at a version the wallet never had"
    ]
