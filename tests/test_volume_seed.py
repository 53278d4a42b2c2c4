"""The volume benchmark's seeding (bench/volume_seed.py): its plan, and a tiny seeded database that
every database check accepts and `reconcile --full` finds in agreement, resumed and incremented."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from common.postgresql.url import database_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import volume_seed as seeding  # noqa: E402


def simulate(plan: seeding.Plan) -> tuple[dict[int, Decimal], dict[int, int], int]:
    """The plan's transfers replayed in Python: each wallet's lowest balance, its version, entries."""
    balance = {n: Decimal(plan.regular_fund) for n in range(plan.wallets)}
    balance[plan.long_wallet] = Decimal(plan.long_fund)
    lowest = dict(balance)
    version = dict.fromkeys(balance, 1)
    entries = plan.setup_entries
    seq = plan.wallets + 1
    for r in range(plan.rounds):
        pairs = [(i, plan.receiver(r, i)) for i in range(plan.wallets)]
        for j in range(plan.long_per_round):
            partner = plan.long_partner(r, j)
            pairs.append((plan.long_wallet, partner) if j % 2 == 0 else (partner, plan.long_wallet))
        for sender, receiver in pairs:
            assert sender != receiver
            amount = Decimal(seeding.amount_of(seq))
            assert Decimal(1) <= amount < seeding.MAX_AMOUNT
            balance[sender] -= amount
            balance[receiver] += amount
            lowest[sender] = min(lowest[sender], balance[sender])
            version[sender] += 1
            version[receiver] += 1
            entries += 2
            seq += 1
    return lowest, version, entries


@pytest.mark.parametrize(
    "plan",
    [
        seeding.plan_for(2000, wallets=50, users=20, long_per_round=10),
        seeding.plan_for(50_000, wallets=100, users=40, long_per_round=40),
    ],
)
def test_the_plan_never_overdraws_and_seeds_what_it_says(plan: seeding.Plan) -> None:
    lowest, version, entries = simulate(plan)
    assert min(lowest.values()) > 0
    assert entries == plan.total_entries >= plan.entries
    assert sum(version.values()) + len(version) == plan.total_events  # + each WALLET_CREATED


def test_database_names() -> None:
    assert seeding.database_name(1_000_000) == "wallet_volume_1m"
    assert seeding.database_name(10_000_000) == "wallet_volume_10m"
    assert seeding.database_name(2000) == "wallet_volume_2k"
    with pytest.raises(ValueError, match="refusing"):
        seeding.create_database("postgres://unused", "wallet")


def reconcile_full(url: str) -> subprocess.CompletedProcess[str]:
    help_text = subprocess.run(
        [sys.executable, "manage.py", "reconcile", "--help"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    full = ["--full"] if "--full" in help_text else []
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "manage.py", "reconcile", *full, "--no-store"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_tiny_volume_database_passes_every_check_and_reconciles() -> None:
    plan = seeding.plan_for(2000, wallets=50, users=20, long_per_round=10, rounds_per_chunk=3, topic="t")
    name = f"wallet_volume_pytest_{os.getpid()}"
    admin_url, url = database_url("postgres"), database_url(name)
    seeding.drop_database(admin_url, name)
    seeding.create_database(admin_url, name)
    try:
        seeding.migrate(url)
        # Interrupted after two chunks (a chunk is one transaction with its progress), then resumed.
        seeding.seed(url, plan, say=lambda _: None, show_progress=False, stop_after_chunks=2)
        with psycopg.connect(url) as connection:
            row = connection.execute("SELECT rounds_done, finished_at FROM volume_seed.state").fetchone()
        assert row == (6, None)
        state = seeding.seed(url, plan, say=lambda _: None, show_progress=False)
        assert state.done and state.rounds_done == plan.rounds
        assert seeding.counts(url) == {
            "wallets_wallet": plan.wallets + 2,  # and the system account
            "wallets_ledgertransaction": plan.total_transactions,
            "wallets_ledgerentry": plan.total_entries,
            "history_historyevent": plan.total_events,
        }
        seeding.increment(url, plan, 20)
        result = reconcile_full(url)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "all agree" in result.stdout
        with psycopg.connect(url) as connection:
            versions = connection.execute(
                "SELECT count(*) FROM history_historyevent h JOIN wallets_wallet w ON w.id = h.wallet_id "
                "GROUP BY h.wallet_id HAVING max(h.wallet_version) <> max(w.version) OR "
                "count(*) <> max(h.wallet_version) + 1"
            ).fetchall()
        assert versions == []
    finally:
        seeding.drop_database(admin_url, name)
