"""The per-wallet hash chain (docs/ledger-chain.md): PostgreSQL's hash of every new user-wallet
entry equals the Python reference's (wallets/chain.py), whatever path wrote it."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from wallets import chain, services
from wallets.models import LedgerEntry

pytestmark = pytest.mark.django_db


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


def rows(wallet_id: uuid.UUID) -> list[chain.ChainRow]:
    return [
        chain.ChainRow(**values)
        for values in LedgerEntry.objects.filter(wallet_id=wallet_id, wallet_version__isnull=False)
        .order_by("wallet_version")
        .values(*chain.ROW_FIELDS)
    ]


def test_postgresql_hashes_every_new_entry_as_the_reference_does(make_wallet):
    alice = make_wallet("alice", "100.5")
    bob = make_wallet("bob", "3")
    services.transfer_create(
        from_wallet_id=alice.id, to_wallet_id=bob.id, amount=Decimal("0.0001"), initiated_by="t"
    )
    services.wallet_withdraw(wallet_id=bob.id, amount=Decimal("3"), initiated_by="t")
    for wallet in (alice, bob):
        entries = rows(wallet.id)
        assert entries and all(len(bytes(e.chain_hash)) == 32 for e in entries)
        assert list(chain.first_breaks(entries)) == []
    system = LedgerEntry.objects.filter(wallet_version__isnull=True)
    assert system.exists() and not system.filter(chain_hash__isnull=False).exists()
