"""`manage.py reconcile` on real data: exit 0 when the books agree, non-zero naming what is wrong when
they do not (a balance changed with SQL behind the system's back, a history event lost)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from history import tasks
from history.models import HistoryEvent, ReconcileRun
from wallets.models import Wallet


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
