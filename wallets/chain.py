"""The per-wallet hash chain of the ledger: its definition in Python (docs/ledger-chain.md).

Why: a customer (or an auditor) must be able to recompute every hash from a statement alone, so
the definition is a few lines anyone can repeat. PostgreSQL computes the same hash when an entry
is inserted (trigger `wallets_chain_entry`, sql/ledger_chain.sql); this module is the reference
the verification (`verify_ledger`, reconcile) and the tests recompute with, and
`verify_statement.py` at the repository root repeats it without the project.

    genesis(wallet)  = SHA-256(b"wallet-ledger-genesis:v1|" + wallet id)
    hash(entry)      = SHA-256(hash(previous entry of the wallet) || canonical(entry))

Only user-wallet entries (those with a `wallet_version`) are chained.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

GENESIS_PREFIX = b"wallet-ledger-genesis:v1|"
_PLACES = Decimal("0.0001")


def genesis_hash(wallet_id: uuid.UUID) -> bytes:
    """The hash a wallet's first entry chains to."""
    return hashlib.sha256(GENESIS_PREFIX + str(wallet_id).encode()).digest()


def money_text(value: Decimal) -> str:
    """A decimal as PostgreSQL's `numeric(19,4)::text`: 4 places, no exponent, no `+`."""
    return format(Decimal(value).quantize(_PLACES), "f")


def time_text(value: datetime) -> str:
    """A time in UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always 6 fraction digits)."""
    if value.tzinfo is None:
        raise ValueError("an entry's time must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(
    *,
    wallet_id: uuid.UUID,
    wallet_version: int,
    entry_id: uuid.UUID,
    transaction_id: uuid.UUID,
    type: str,
    amount: Decimal,
    currency: str,
    balance_after: Decimal,
    created_at: datetime,
) -> bytes:
    """The bytes an entry's hash covers, in the definition's field order."""
    fields = [
        "v1",
        str(wallet_id),
        str(int(wallet_version)),
        str(entry_id),
        str(transaction_id),
        type,
        money_text(amount),
        currency,
        money_text(balance_after),
        time_text(created_at),
    ]
    return "|".join(fields).encode()


def next_hash(previous: bytes, canonical: bytes) -> bytes:
    """An entry's hash from the previous entry's hash (or the genesis) and its canonical bytes."""
    return hashlib.sha256(previous + canonical).digest()


ROW_FIELDS = (
    "id",
    "wallet_id",
    "wallet_version",
    "transaction_id",
    "type",
    "amount",
    "currency",
    "balance_after",
    "created_at",
    "chain_hash",
)


@dataclass(frozen=True)
class ChainRow:
    """What the chain reads of one user-wallet entry (a `LedgerEntry` row)."""

    id: uuid.UUID
    wallet_id: uuid.UUID
    wallet_version: int
    transaction_id: uuid.UUID
    type: str
    amount: Decimal
    currency: str
    balance_after: Decimal
    created_at: datetime
    chain_hash: bytes | None

    def canonical(self) -> bytes:
        return canonical_bytes(
            wallet_id=self.wallet_id,
            wallet_version=self.wallet_version,
            entry_id=self.id,
            transaction_id=self.transaction_id,
            type=self.type,
            amount=self.amount,
            currency=self.currency,
            balance_after=self.balance_after,
            created_at=self.created_at,
        )


@dataclass(frozen=True)
class Break:
    """The first entry of a wallet whose stored hash is not the one its chain gives."""

    wallet_id: uuid.UUID
    entry_id: uuid.UUID
    wallet_version: int
    expected: bytes
    stored: bytes | None

    def describe(self) -> str:
        stored = self.stored.hex() if self.stored is not None else "none"
        return (
            f"wallet {self.wallet_id}: entry {self.entry_id} (version {self.wallet_version}) "
            f"stores hash {stored}, its chain gives {self.expected.hex()}"
        )


def first_breaks(rows: Iterable[ChainRow]) -> Iterator[Break]:
    """The first broken entry of each wallet, from rows ordered by (wallet, version): one pass,
    constant memory. A changed field, a removed, reordered or inserted entry each change the
    hash the chain gives for that entry or the next one."""
    wallet: uuid.UUID | None = None
    previous = b""
    broken = False
    for row in rows:
        if row.wallet_id != wallet:
            wallet, previous, broken = row.wallet_id, genesis_hash(row.wallet_id), False
        if broken:
            continue
        expected = next_hash(previous, row.canonical())
        if row.chain_hash is None or bytes(row.chain_hash) != expected:
            broken = True
            yield Break(row.wallet_id, row.id, row.wallet_version, expected, row.chain_hash)
        previous = expected
