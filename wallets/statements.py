"""A wallet's statement over a period: its opening and closing marks, totals and entries (issue #33).

Why this shape: a period is half-open, `[start, end)`, so consecutive statements tile exactly (one's
`end` is the next one's `start`, and an entry at that moment is in the later one). The opening mark
is the wallet after its last entry before `start`, the closing mark after its last entry before
`end`: balance, version and chain hash (docs/statements.md). With no entry before, the opening is
balance 0, version 0 and the wallet's genesis hash; an empty period closes where it opened. So one
statement's closing hash is the next one's opening hash, which is what lets a customer check that
nothing was inserted, changed or removed between two statements they hold.

The marks are entries, not holds: a hold changes the version and the held amount, never the balance
or the chain, so a statement's versions are its entries' (the balance at a moment,
`wallets/balance_at.py`, is where holds count). Every read goes through the partial index
`entry_wallet_created_idx (wallet, created_at, wallet_version)`: the marks are one-row probes, the
totals and the entries one range of it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, When
from django.utils import timezone

from common.times import format_timestamp

from .chain import genesis_hash
from .locks import lock_user_wallets
from .models import LedgerEntry, TransactionLeg, Wallet

CSV_CHUNK = 2000  # rows fetched per round trip of the server-side cursor


# How recent a moment must be for `settle` to wait for the wallet's write in flight: far more than a
# write holds a wallet's lock (lock waits give up after DB_LOCK_TIMEOUT_MS, 5 s by default).
SETTLE_WINDOW = timedelta(minutes=1)


def settle(*, wallet: Wallet, moment: datetime) -> None:
    """Make every entry of the wallet timed before `moment` visible before reading up to it.

    Why: a writer takes its entry's time under the wallet's lock (`wallets.locks.change_time`) and
    commits a few milliseconds later. A statement to "now" read in between would miss an entry
    timed before its `to`, which the next statement (from that `to`) would not hold either: the
    two would not chain, a false alarm of tampering. So for a recent moment this waits for the
    writer in flight, if any, by taking the wallet's lock as writers do (`wallets.locks`, the one
    way a wallet is locked) in a transaction of its own that ends at once. A writer that locks the
    wallet afterwards takes a time after this moment. Older moments need nothing: nothing is
    written into the past."""
    if moment <= timezone.now() - SETTLE_WINDOW:
        return
    with transaction.atomic():
        lock_user_wallets([wallet.id])


def utc_text(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, whatever zone the moment is in: `0124-01-26T22:06:10.300000Z`
    (a period may start that early)."""
    return format_timestamp(moment.astimezone(UTC))


@dataclass(frozen=True)
class Mark:
    """The wallet right after an entry (or at its opening, before any)."""

    balance: Decimal
    version: int
    hash: bytes | None  # None: an entry written before the chain, not yet backfilled


@dataclass(frozen=True)
class StatementHeader:
    wallet: Wallet
    start: datetime
    end: datetime
    opening: Mark
    closing: Mark
    total_in: Decimal
    total_out: Decimal  # a magnitude: closing - opening = total_in - total_out
    count: int


def _chained(wallet: Wallet) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(wallet_id=wallet.id, wallet_version__isnull=False)


def mark_before(*, wallet: Wallet, moment: datetime) -> Mark:
    """The wallet after its last entry strictly before `moment` (genesis: none before)."""
    row = (
        _chained(wallet)
        .filter(created_at__lt=moment)
        .order_by("-created_at", "-wallet_version")
        .values_list("balance_after", "wallet_version", "chain_hash")
        .first()
    )
    if row is None:
        return Mark(Decimal(0), 0, genesis_hash(wallet.id))
    balance, version, chain_hash = row
    assert balance is not None  # a chained entry has both
    assert version is not None
    return Mark(Decimal(balance), int(version), bytes(chain_hash) if chain_hash is not None else None)


def statement_header(*, wallet: Wallet, start: datetime, end: datetime) -> StatementHeader:
    """The statement's marks and totals over `[start, end)` (`settle`d first: a recent `end`
    waits for the wallet's write in flight)."""
    settle(wallet=wallet, moment=end)
    totals = (
        _chained(wallet)
        .filter(created_at__gte=start, created_at__lt=end)
        .aggregate(
            total_in=Sum("amount", filter=Q(amount__gt=0), default=Decimal(0)),
            total_out=Sum(-F("amount"), filter=Q(amount__lt=0), default=Decimal(0)),
            count=Count("id"),
        )
    )
    opening = mark_before(wallet=wallet, moment=start)
    closing = mark_before(wallet=wallet, moment=end) if totals["count"] else opening
    return StatementHeader(
        wallet=wallet,
        start=start,
        end=end,
        opening=opening,
        closing=closing,
        total_in=Decimal(totals["total_in"]),
        total_out=Decimal(totals["total_out"]),
        count=int(totals["count"]),
    )


def _leg_of(entry_field: str) -> QuerySet[TransactionLeg]:
    return TransactionLeg.objects.filter(
        transaction_id=OuterRef("transaction_id"), index=OuterRef(entry_field)
    )


def statement_entries(
    *, wallet: Wallet, start: datetime, end: datetime, after: tuple[datetime, int] | None = None
) -> QuerySet[LedgerEntry]:
    """The period's entries, oldest first (time, then version), after a position; each with its
    `note` (the description a statement shows): its leg's if the leg has a description or metadata,
    else its transaction's (as `wallets.multi_leg.leg_note` and the transactions list do)."""
    entries = _chained(wallet).filter(created_at__gte=start, created_at__lt=end)
    if after is not None:
        moment, version = after
        entries = entries.filter(Q(created_at__gt=moment) | Q(created_at=moment, wallet_version__gt=version))
    leg = _leg_of("leg")
    leg_has_note = Exists(leg.filter(Q(description__isnull=False) | ~Q(metadata={})))
    return entries.annotate(
        note=Case(
            When(Q(leg__isnull=False) & leg_has_note, then=Subquery(leg.values("description")[:1])),
            default=F("transaction__description"),
        ),
    ).order_by("created_at", "wallet_version")


# The columns a download reads, in this order (`statement_rows`).
ROW_FIELDS = (
    "id",
    "transaction_id",
    "type",
    "amount",
    "currency",
    "balance_after",
    "wallet_version",
    "created_at",
    "note",
    "chain_hash",
)


@dataclass(frozen=True)
class Row:
    id: uuid.UUID
    transaction_id: uuid.UUID
    type: str
    amount: Decimal
    currency: str
    balance_after: Decimal
    wallet_version: int
    created_at: datetime
    note: str | None
    chain_hash: bytes | None


def statement_rows(*, wallet: Wallet, start: datetime, end: datetime) -> Iterator[Row]:
    """Every entry of the period, oldest first, read through a server-side cursor `CSV_CHUNK` rows
    at a time: memory stays constant whatever the period holds."""
    rows: Any = (
        statement_entries(wallet=wallet, start=start, end=end)
        .values_list(*ROW_FIELDS)
        .iterator(chunk_size=CSV_CHUNK)
    )
    for values in rows:
        row = Row(*values)
        if row.chain_hash is not None and not isinstance(row.chain_hash, bytes):
            row = Row(*values[:-1], bytes(row.chain_hash))
        yield row
