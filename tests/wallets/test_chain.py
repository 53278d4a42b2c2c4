"""The per-wallet hash chain (docs/ledger-chain.md): PostgreSQL's hash of every new user-wallet
entry equals the Python reference's (wallets/chain.py) whatever path wrote it; the guard lets the
backfill set a missing hash and nothing else; the backfill of migration 0015 rebuilds the chain."""

from __future__ import annotations

import hashlib
import importlib
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, connection, transaction

from wallets import chain, holds, multi_leg, reversals, services
from wallets.models import LedgerEntry, Wallet

pytestmark = pytest.mark.django_db

BACKFILL = importlib.import_module("wallets.migrations.0015_ledger_hash_chain_backfill")


def test_the_reference_definition_by_hand():
    wallet = uuid.UUID("0b6c2a4e-8a8f-4c55-9d7e-2f1a9c3b5d10")
    assert (
        chain.genesis_hash(wallet)
        == hashlib.sha256(b"wallet-ledger-genesis:v1|0b6c2a4e-8a8f-4c55-9d7e-2f1a9c3b5d10").digest()
    )
    canonical = chain.canonical_bytes(
        wallet_id=wallet,
        wallet_version=7,
        entry_id=uuid.UUID(int=1),
        transaction_id=uuid.UUID(int=2),
        type="TRANSFER_OUT",
        amount=Decimal("-12.5"),
        currency="USD",
        balance_after=Decimal("0"),
        created_at=datetime(2026, 1, 2, 3, 4, 5, 60, tzinfo=UTC),
    )
    assert canonical == (
        b"v1|0b6c2a4e-8a8f-4c55-9d7e-2f1a9c3b5d10|7|00000000-0000-0000-0000-000000000001|"
        b"00000000-0000-0000-0000-000000000002|TRANSFER_OUT|-12.5000|USD|0.0000|2026-01-02T03:04:05.000060Z"
    )
    assert chain.next_hash(b"p", canonical) == hashlib.sha256(b"p" + canonical).digest()


def test_postgresql_formats_the_canonical_bytes_as_the_reference_does():
    at = datetime(2026, 1, 2, 3, 4, 5, 60, tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL TIME ZONE 'America/New_York'")  # the session's zone plays no part
        cursor.execute(
            "SELECT wallets_chain_canonical(%s, 7, %s, %s, 'TRANSFER_OUT', -12.5, 'USD', 0, %s), "
            "wallets_chain_genesis(%s)",
            [uuid.UUID(int=9), uuid.UUID(int=1), uuid.UUID(int=2), at, uuid.UUID(int=9)],
        )
        canonical, genesis = cursor.fetchone()
    assert bytes(canonical) == chain.canonical_bytes(
        wallet_id=uuid.UUID(int=9),
        wallet_version=7,
        entry_id=uuid.UUID(int=1),
        transaction_id=uuid.UUID(int=2),
        type="TRANSFER_OUT",
        amount=Decimal("-12.5"),
        currency="USD",
        balance_after=Decimal(0),
        created_at=at,
    )
    assert bytes(genesis) == chain.genesis_hash(uuid.UUID(int=9))


def chain_rows(wallet_id: uuid.UUID | None = None) -> list[chain.ChainRow]:
    entries = LedgerEntry.objects.filter(wallet_version__isnull=False)
    if wallet_id is not None:
        entries = entries.filter(wallet_id=wallet_id)
    return [
        chain.ChainRow(*values)
        for values in entries.order_by("wallet_id", "wallet_version").values_list(*chain.ROW_FIELDS)
    ]


def stored_hashes() -> dict[uuid.UUID, bytes | None]:
    return {
        entry_id: None if value is None else bytes(value)
        for entry_id, value in LedgerEntry.objects.filter(wallet_version__isnull=False).values_list(
            "id", "chain_hash"
        )
    }


@pytest.fixture
def every_path(make_wallet) -> list[Wallet]:
    """Entries written by every path: fund, withdraw, transfer, a hold's capture (a version with no
    entry between), a multi-leg transaction (a wallet in two legs), a batch and a reversal."""
    alice, bob, carol = make_wallet("alice", "100.5"), make_wallet("bob", "3"), make_wallet("carol", "7")
    services.transfer_create(
        from_wallet_id=alice.id, to_wallet_id=bob.id, amount=Decimal("0.0001"), initiated_by="t"
    )
    services.wallet_withdraw(wallet_id=bob.id, amount=Decimal("3"), initiated_by="t")
    hold = holds.hold_create(
        from_wallet_id=alice.id, to_wallet_id=carol.id, amount=Decimal(5), initiated_by="t"
    )
    holds.hold_capture(hold=hold, amount=Decimal(2), initiated_by="t")
    legs = [
        multi_leg.Leg(alice.id, bob.id, Decimal(1)),
        multi_leg.Leg(bob.id, carol.id, Decimal("0.5")),
        multi_leg.Leg(alice.id, carol.id, Decimal(2)),
    ]
    made = multi_leg.transaction_create(legs=legs, initiated_by="t")
    items = multi_leg.batch_transfer(transfers=legs + legs[:1], initiated_by="t")
    assert all(item.result is not None for item in items)
    reversals.transaction_reverse(transaction_id=made.transaction_id, reason="test", initiated_by="t")
    return [alice, bob, carol]


def test_postgresql_hashes_every_path_as_the_reference_does(every_path):
    rows = chain_rows()
    assert len(rows) == 3 + 2 + 1 + 2 + 6 + 8 + 6  # funds, transfer, withdraw, capture, ..., reversal
    assert all(row.chain_hash is not None and len(bytes(row.chain_hash)) == 32 for row in rows)
    assert list(chain.first_breaks(rows)) == []
    # A hold took a version of alice's with no entry: the chain follows the versions it has.
    versions = [row.wallet_version for row in rows if row.wallet_id == every_path[0].id]
    assert versions != list(range(1, len(versions) + 1))
    system = LedgerEntry.objects.filter(wallet_version__isnull=True)
    assert system.exists() and not system.filter(chain_hash__isnull=False).exists()


class _Undo(Exception):
    """Rolls a savepoint back: the entry below is not what the wallet row says."""


def test_a_hash_the_writer_gives_is_replaced_by_the_one_postgresql_computes(make_wallet):
    wallet = make_wallet("alice", "1")
    entry = LedgerEntry.objects.get(wallet_id=wallet.id)
    with pytest.raises(_Undo), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO wallets_ledgerentry (id, transaction_id, wallet_id, currency, amount, type, "
                "balance_after, wallet_version, created_at, chain_hash) "
                "VALUES (%s, %s, %s, 'USD', 1, 'FUND', 2, 2, now(), %s)",
                [uuid.uuid4(), entry.transaction_id, wallet.id, b"\0" * 32],
            )
        rows = chain_rows(wallet.id)
        assert len(rows) == 2 and rows[1].chain_hash != b"\0" * 32
        assert list(chain.first_breaks(rows)) == []
        raise _Undo


def test_an_entry_below_the_wallets_newest_version_is_refused(make_wallet):
    wallet = make_wallet("alice", "1")
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal(1), initiated_by="t")
    holds.hold_create(
        from_wallet_id=wallet.id, to_wallet_id=make_wallet("bob").id, amount=Decimal(1), initiated_by="t"
    )
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal(1), initiated_by="t")
    versions = LedgerEntry.objects.filter(wallet_id=wallet.id).order_by("wallet_version")
    assert list(versions.values_list("wallet_version", flat=True)) == [
        1,
        2,
        4,
    ]
    entry = LedgerEntry.objects.get(wallet_id=wallet.id, wallet_version=1)
    refused(  # version 3, the hold's, has no entry: an insert there would be chained to 2's hash
        "INSERT INTO wallets_ledgerentry (id, transaction_id, wallet_id, currency, amount, type, "
        "balance_after, wallet_version, created_at) VALUES (%s, %s, %s, 'USD', 1, 'FUND', 3, 3, now())",
        [uuid.uuid4(), entry.transaction_id, wallet.id],
        "entry version 3 is not after its newest entry's version 4",
    )


def refused(sql: str, params: list[object], match: str) -> None:
    with pytest.raises(IntegrityError, match=match), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_an_entry_with_a_hash_never_changes_not_even_its_hash(make_wallet):
    entry = LedgerEntry.objects.get(wallet_id=make_wallet("alice", "1").id)
    refused(
        "UPDATE wallets_ledgerentry SET chain_hash = %s WHERE id = %s", [b"\1" * 32, entry.id], "append-only"
    )
    refused("UPDATE wallets_ledgerentry SET amount = 2 WHERE id = %s", [entry.id], "append-only")
    refused("DELETE FROM wallets_ledgerentry WHERE id = %s", [entry.id], "append-only")


def superuser(sql: str, params: list[object]) -> None:
    """`sql` with the ledger's own triggers off, as only a superuser or the table's owner could."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute("ALTER TABLE wallets_ledgerentry DISABLE TRIGGER USER")
        try:
            cursor.execute(sql, params)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the foreign keys it queued
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        finally:
            cursor.execute("ALTER TABLE wallets_ledgerentry ENABLE TRIGGER USER")


@pytest.fixture
def ledger_before_the_chain(every_path):
    """The ledger of `every_path` as migration 0014 finds one: no entry has a hash."""
    before = stored_hashes()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no queued checks: the table may be altered
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute("ALTER TABLE wallets_ledgerentry DROP CONSTRAINT entry_chain_hash_present")
    superuser("UPDATE wallets_ledgerentry SET chain_hash = NULL", [])
    return before


def test_the_guard_lets_the_backfill_set_a_missing_hash_and_nothing_else(ledger_before_the_chain):
    entry = LedgerEntry.objects.filter(wallet_version__isnull=False).first()
    assert entry is not None
    refused(
        "UPDATE wallets_ledgerentry SET chain_hash = %s, amount = amount + 1 WHERE id = %s",
        [b"\1" * 32, entry.id],
        "append-only",
    )
    refused(
        "UPDATE wallets_ledgerentry SET chain_hash = %s WHERE id = %s", [b"\1" * 3, entry.id], "append-only"
    )
    system = LedgerEntry.objects.filter(wallet_version__isnull=True).first()
    assert system is not None
    refused(
        "UPDATE wallets_ledgerentry SET chain_hash = %s WHERE id = %s", [b"\1" * 32, system.id], "append-only"
    )
    with connection.cursor() as cursor:
        cursor.execute("UPDATE wallets_ledgerentry SET chain_hash = %s WHERE id = %s", [b"\1" * 32, entry.id])
    assert bytes(LedgerEntry.objects.get(id=entry.id).chain_hash) == b"\1" * 32


@pytest.mark.parametrize("batch", [3, 20_000])
def test_the_backfill_rebuilds_the_chain_in_batches_while_money_moves(
    ledger_before_the_chain, every_path, monkeypatch, batch
):
    alice, bob, _ = every_path
    # A transfer during the backfill, before it reached these wallets: the trigger cannot chain
    # an entry whose previous entry has no hash yet, so it leaves it to the backfill.
    services.transfer_create(
        from_wallet_id=alice.id, to_wallet_id=bob.id, amount=Decimal(1), initiated_by="t"
    )
    newest = LedgerEntry.objects.filter(wallet_id=alice.id).order_by("-wallet_version").first()
    assert newest is not None and newest.chain_hash is None
    # A new wallet's entries are chained at once, from its genesis.
    fresh = services.wallet_create(user_id="dan", currency="USD")
    services.wallet_fund(wallet_id=fresh.id, amount=Decimal(1), initiated_by="t")
    assert LedgerEntry.objects.get(wallet_id=fresh.id, wallet_version=1).chain_hash is not None

    monkeypatch.setattr(BACKFILL, "BATCH", batch)
    BACKFILL.backfill(None, SimpleNamespace(connection=connection))

    after = stored_hashes()
    assert all(after[entry_id] == value for entry_id, value in ledger_before_the_chain.items())
    assert None not in after.values()
    assert list(chain.first_breaks(chain_rows())) == []
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            "ALTER TABLE wallets_ledgerentry ADD CONSTRAINT entry_chain_hash_present "
            "CHECK (wallet_version IS NULL OR chain_hash IS NOT NULL)"
        )
