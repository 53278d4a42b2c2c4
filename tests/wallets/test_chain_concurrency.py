"""The chain under contention, on the real PostgreSQL with real threads (each its own connection):
1,000 concurrent transfers across 20 shared wallets leave every chain valid, and a wallet's entry
times never decrease in version order, however long a transfer waited for its lock."""

from __future__ import annotations

import io
import random
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import F

from history.reconcile import reconcile
from tests.wallets.test_concurrency import run_in_threads
from wallets import chain, services
from wallets.errors import InsufficientFunds
from wallets.models import LedgerEntry, Wallet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("without_approvals")]

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

    def work(index: int, barrier) -> None:  # type: ignore[no-untyped-def]
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
