"""The periodic reconcile goes on from its checkpoint: it checks only what changed since, finds what
changed through the wallet rows, leaves a change behind the checkpoint to `--full` (which then hands
the wallet back to the periodic runs), and never moves a checkpoint past a breach or an event still
in flight. Against the real PostgreSQL and Kafka (the history is filled by the real consumer)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections

from history import tasks
from history.models import (
    HistoryEvent,
    ReconcileCheckpoint,
    ReconciledCurrency,
    ReconciledWallet,
    ReconcileRun,
)
from history.reconcile import RUN_LOCK_NAME, ReconcileBusy, reconcile
from kafka_bridge.models import OutboxEvent
from tests.conftest import behind_the_ledgers_back
from wallets.models import LedgerEntry, Wallet
from wallets.money import format_money


@pytest.fixture(autouse=True)
def no_margin(settings: Any) -> None:
    """The transaction watermark at the run's snapshot (no other transaction is open here)."""
    settings.RECONCILE_WATERMARK_MARGIN_SECONDS = 0


def periodic(**options: Any) -> Any:
    return reconcile(full=False, history_grace=0, **options)


def checks(result: Any) -> dict[str, Any]:
    return {check.name: check for check in result.checks}


def move_and_consume(topics: Any, operator: Any, source: str, target: str, amount: str) -> None:
    """One transfer through the API, its two events consumed into the history."""
    body = {"to_wallet_id": target, "amount": amount}
    response = operator.post(f"/wallets/{source}/transfer", body, format="json")
    assert response.status_code == 200, response.content
    newest = list(OutboxEvent.objects.order_by("-id")[:2])
    topics.produce_events(row.payload for row in reversed(newest))
    assert topics.consume(max_messages=2).inserted == 2


def test_the_first_periodic_run_checks_everything_the_next_only_what_changed(topics, operator, drained):
    first = periodic()
    assert first.ok, first.report()
    assert first.full is False
    assert checks(first)["wallet_balances"].checked == "3 of 3 user wallets changed since the checkpoint"
    checkpoints = {str(c.wallet_id): c for c in ReconciledWallet.objects.all()}
    assert set(checkpoints) == set(drained)
    for wallet in Wallet.objects.filter(id__in=drained):
        mark = checkpoints[str(wallet.id)]
        assert (mark.version, mark.balance, mark.held) == (wallet.version, wallet.balance, wallet.held)
        assert mark.history_version == wallet.version  # every event consumed and verified
        assert mark.history_balance == wallet.balance
    assert ReconciledCurrency.objects.get(currency="USD").system_total == -sum(
        Wallet.objects.filter(id__in=drained).values_list("balance", flat=True)
    )
    assert ReconcileCheckpoint.objects.get().history_through_id == max(
        HistoryEvent.objects.values_list("id", flat=True)
    )

    quiet = periodic()  # nothing moved
    assert quiet.ok, quiet.report()
    assert checks(quiet)["wallet_balances"].checked == "0 of 3 user wallets changed since the checkpoint"
    assert checks(quiet)["history_matches_ledger"].checked == "the new events of 0 wallets"

    move_and_consume(topics, operator, drained[0], drained[2], "7.5")
    moved = periodic()
    assert moved.ok, moved.report()
    assert checks(moved)["wallet_balances"].checked == "2 of 3 user wallets changed since the checkpoint"
    assert checks(moved)["history_matches_ledger"].checked == "the new events of 2 wallets"
    source = Wallet.objects.get(id=drained[0])
    assert ReconciledWallet.objects.get(wallet_id=drained[0]).history_version == source.version
    assert ReconciledWallet.objects.get(wallet_id=drained[0]).history_balance == source.balance


def test_a_change_through_the_wallet_row_is_found_and_keeps_being_named(topics, drained):
    assert periodic().ok
    tampered = drained[1]
    behind_the_ledgers_back("UPDATE wallets_wallet SET balance = balance + 1 WHERE id = %s", [tampered])
    for _ in range(2):  # the checkpoint does not move past a breach: named again and again
        found = checks(periodic())
        assert found["wallet_balances"].count == 1
        assert found["wallet_balances"].examples[0].startswith(f"wallet {tampered} (ben, USD): balance")
        assert found["currency_totals"].count == 1
    mark = ReconciledWallet.objects.get(wallet_id=tampered)
    assert mark.balance == Wallet.objects.get(id=tampered).balance - 1


def test_an_old_ledger_row_changed_behind_the_checkpoint_is_found_by_the_full_run(topics, drained):
    assert periodic().ok
    entry = LedgerEntry.objects.filter(wallet_id=drained[2], wallet_version=1).get()
    # The append-only trigger refuses the change...
    with pytest.raises(Exception, match="append-only"), connection.cursor() as cursor:
        cursor.execute("UPDATE wallets_ledgerentry SET amount = amount + 1 WHERE id = %s", [entry.id])
    # ...so it is made behind its back, the way only a superuser could.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE wallets_ledgerentry DISABLE TRIGGER USER")
        try:
            cursor.execute("UPDATE wallets_ledgerentry SET amount = amount + 1 WHERE id = %s", [entry.id])
        finally:
            cursor.execute("ALTER TABLE wallets_ledgerentry ENABLE TRIGGER USER")

    assert periodic().ok  # the wallet row did not change, the transaction is behind the watermark

    full = reconcile(full=True, history_grace=0)
    assert full.full is True
    found = checks(full)
    balance = Wallet.objects.get(id=drained[2]).balance
    assert found["wallet_balances"].examples == [
        f"wallet {drained[2]} (cid, USD): balance {format_money(balance)} but its ledger entries sum to "
        f"{format_money(balance + 1)}"
    ]
    assert found["transactions_balance"].examples == [
        f"transaction {entry.transaction_id}: its USD entries sum to 1.0000"
    ]
    assert "reconcile (full)" in full.report()
    # The full run handed the wallet back: the periodic runs check it from the beginning and name it.
    mark = ReconciledWallet.objects.get(wallet_id=drained[2])
    assert (mark.version, mark.balance) == (0, 0)  # its history, which agrees, stays verified
    assert checks(periodic())["wallet_balances"].count == 1


def test_a_history_row_changed_behind_the_checkpoint_is_found_by_the_full_run(topics, drained):
    assert periodic().ok
    row = HistoryEvent.objects.get(wallet_id=drained[0], wallet_version=2)
    HistoryEvent.objects.filter(id=row.id).update(amount=row.amount + 1)
    assert periodic().ok  # behind the history checkpoint
    found = checks(reconcile(full=True, history_grace=0))
    assert found["history_matches_ledger"].count == 1
    assert (
        found["history_matches_ledger"].examples[0].startswith(f"wallet {drained[0]} version 2: history says")
    )
    assert found["history_replay"].count == 1
    assert checks(periodic())["history_matches_ledger"].count == 1  # handed back to the periodic runs


def test_the_history_checkpoint_stops_before_an_event_still_in_flight(topics, drained):
    wallet = Wallet.objects.get(id=drained[1])
    newest = HistoryEvent.objects.get(wallet_id=wallet.id, wallet_version=wallet.version)
    saved = {f.attname: getattr(newest, f.attname) for f in HistoryEvent._meta.concrete_fields}
    newest.delete()
    in_flight = reconcile(full=False, history_grace=3600)  # within the grace period: not a breach
    assert in_flight.ok, in_flight.report()
    assert ReconciledWallet.objects.get(wallet_id=wallet.id).history_version == wallet.version - 1
    HistoryEvent.objects.create(**saved)  # it arrives
    arrived = periodic()
    assert arrived.ok, arrived.report()
    assert checks(arrived)["history_matches_ledger"].checked == "the new events of 1 wallet"
    assert ReconciledWallet.objects.get(wallet_id=wallet.id).history_version == wallet.version


def test_an_event_for_a_quiet_wallet_after_the_checkpoint_is_found(topics, drained):
    assert periodic().ok
    row = HistoryEvent.objects.filter(wallet_id=drained[1]).order_by("-wallet_version").first()
    assert row is not None
    row.pk, row.event_id, row.wallet_version, row.event_type = (
        None,
        uuid.uuid4(),
        row.wallet_version + 1,
        "WALLET_FUNDED",
    )
    row.save()
    found = checks(periodic())["history_matches_ledger"]
    assert found.examples == [
        f"wallet {drained[1]} version {row.wallet_version}: history event WALLET_FUNDED at a version the "
        "wallet never had"
    ]


def test_no_store_moves_no_checkpoint_and_one_run_at_a_time(topics, drained):
    result = reconcile(full=False, history_grace=0, advance=False)
    assert result.ok
    assert not ReconciledWallet.objects.exists() and not ReconcileCheckpoint.objects.exists()

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [RUN_LOCK_NAME])
        with pytest.raises(ReconcileBusy):
            periodic()
        assert tasks.reconcile(history_grace=0)["skipped"] is True
        assert not ReconcileRun.objects.exists()
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [RUN_LOCK_NAME])
    finally:
        other.close()
    assert tasks.reconcile(history_grace=0)["ok"] is True
    assert ReconcileRun.objects.get().full is False


def test_the_system_total_grows_by_the_new_transactions_only(topics, operator, drained):
    assert periodic().ok
    total = ReconciledCurrency.objects.get(currency="USD").system_total
    assert operator.post(f"/wallets/{drained[0]}/fund", {"amount": "40"}, format="json").status_code == 200
    result = periodic(skip_history=True)
    assert result.ok, result.report()
    assert ReconciledCurrency.objects.get(currency="USD").system_total == total - Decimal("40")
