"""The chain under contention, on the real PostgreSQL with real threads (each its own connection):
1,000 concurrent transfers across 20 shared wallets leave every chain valid, a wallet's entry
times never decrease in version order however long a transfer waited for its lock, and the
backfill hashes a ledger while transfers go on."""

from __future__ import annotations

import importlib
import io
import random
import threading
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F

from history.reconcile import reconcile
from tests.wallets.test_concurrency import run_in_threads
from wallets import chain, services
from wallets.errors import InsufficientFunds
from wallets.models import LedgerEntry, Wallet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("without_approvals")]

BACKFILL: Any = importlib.import_module("wallets.migrations.0015_ledger_hash_chain_backfill")
THREADS = 8
WALLETS = 20
TRANSFERS = 1_000


def times_in_version_order() -> list[str]:
    """Every pair of consecutive entries of a wallet whose time goes backwards."""
    backwards = []
    previous: dict[object, LedgerEntry] = {}
    for entry in LedgerEntry.objects.filter(wallet_version__isnull=False).order_by(
        "wallet_id", "wallet_version"
    ):
        before = previous.get(entry.wallet_id)
        if before is not None and entry.created_at < before.created_at:
            backwards.append(f"{entry.wallet_id} v{before.wallet_version} > v{entry.wallet_version}")
        previous[entry.wallet_id] = entry
    return backwards


def test_a_thousand_concurrent_transfers_leave_every_chain_valid_and_times_in_order(make_wallet):
    wallets = [make_wallet(f"user{i}", "1000").id for i in range(WALLETS)]
    per_thread = TRANSFERS // THREADS
    made: list[int] = [0] * THREADS

    def work(index: int, barrier: Any) -> None:
        rng = random.Random(index)
        barrier.wait()
        for _ in range(per_thread):
            source, target = rng.sample(wallets, 2)
            if index % 2 == 0:  # half of the threads pay into the first wallet: a hot receiver
                target = wallets[0] if source != wallets[0] else target
            try:
                services.transfer_create(
                    from_wallet_id=source,
                    to_wallet_id=target,
                    amount=Decimal(rng.randint(1, 50_000)).scaleb(-4),
                    initiated_by="t",
                )
            except InsufficientFunds:
                continue
            made[index] += 1

    run_in_threads(THREADS, work)
    assert sum(made) >= TRANSFERS * 0.99
    entries = LedgerEntry.objects.filter(wallet_version__isnull=False)
    assert entries.count() == WALLETS + 2 * sum(made)

    rows = [
        chain.ChainRow(*values)
        for values in entries.order_by("wallet_id", "wallet_version").values_list(*chain.ROW_FIELDS)
    ]
    assert list(chain.first_breaks(rows)) == []
    out = io.StringIO()
    call_command("verify_ledger", stdout=out, stderr=io.StringIO())
    assert out.getvalue().strip() == f"OK: {len(rows)} entries of {WALLETS} wallet(s), every chain recomputes"
    result = reconcile(full=True, skip_history=True, advance=False)
    assert {check.name: check.count for check in result.checks}["ledger_chain"] == 0

    assert times_in_version_order() == []
    # The wallet row's time is its last change's, its newest entry's.
    for wallet in Wallet.objects.filter(id__in=wallets, version__gt=1):
        newest = LedgerEntry.objects.filter(wallet_id=wallet.id).order_by("-wallet_version").first()
        assert newest is not None and (newest.created_at, newest.wallet_version) == (
            wallet.updated_at,
            wallet.version,
        )
    assert not Wallet.objects.filter(id__in=wallets, updated_at__lt=F("created_at")).exists()


def test_the_backfill_runs_while_transfers_go_on(make_wallet):
    """Migration 0015's backfill on a live ledger: transfers in four threads while it hashes, in
    batches of a few entries, a ledger whose entries have no hash. Every entry ends hashed, every
    chain valid, and the check it then adds validates."""
    wallets = [make_wallet(f"user{i}", "1000").id for i in range(12)]
    for i in range(60):
        services.transfer_create(
            from_wallet_id=wallets[i % 12],
            to_wallet_id=wallets[(i * 5 + 1) % 12],
            amount=Decimal(1),
            initiated_by="t",
        )
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE wallets_ledgerentry DROP CONSTRAINT entry_chain_hash_present")
        cursor.execute("ALTER TABLE wallets_ledgerentry DISABLE TRIGGER USER")
        cursor.execute("UPDATE wallets_ledgerentry SET chain_hash = NULL")
        cursor.execute("ALTER TABLE wallets_ledgerentry ENABLE TRIGGER USER")
    try:
        stop = threading.Event()
        made = [0] * 4
        during: list[int] = []

        def work(index: int, barrier: Any) -> None:
            rng = random.Random(index)
            barrier.wait()
            while not stop.is_set() or made[index] < 20:
                source, target = rng.sample(wallets, 2)
                services.transfer_create(
                    from_wallet_id=source, to_wallet_id=target, amount=Decimal("0.01"), initiated_by="t"
                )
                made[index] += 1

        def backfill(index: int, barrier: Any) -> None:
            if index < 4:
                return work(index, barrier)
            barrier.wait()
            try:
                BACKFILL.backfill(None, SimpleNamespace(connection=connection))
            finally:
                during.append(sum(made))  # transfers committed while it ran
                stop.set()

        original = BACKFILL.BATCH
        BACKFILL.BATCH = 7
        try:
            run_in_threads(5, backfill)
        finally:
            BACKFILL.BATCH = original
        assert sum(made) >= 80 and during[0] > 0
        BACKFILL.backfill(None, SimpleNamespace(connection=connection))  # a second pass finds nothing
        assert not LedgerEntry.objects.filter(wallet_version__isnull=False, chain_hash__isnull=True).exists()
        rows = [
            chain.ChainRow(*values)
            for values in LedgerEntry.objects.filter(wallet_version__isnull=False)
            .order_by("wallet_id", "wallet_version")
            .values_list(*chain.ROW_FIELDS)
        ]
        assert len(rows) == 12 + 2 * (60 + sum(made))
        assert list(chain.first_breaks(rows)) == []
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "ALTER TABLE wallets_ledgerentry ADD CONSTRAINT entry_chain_hash_present "
                "CHECK (wallet_version IS NULL OR chain_hash IS NOT NULL)"
            )
