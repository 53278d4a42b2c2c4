"""All writes of one money movement (or one hold change) in a single SQL statement.

Why: in a Django transfer the time goes to Python per round trip, not to PostgreSQL (see
../shared/notes/performance.md). After the wallets are locked, one statement with data-modifying
CTEs applies the version-checked balance updates and inserts the ledger transaction, its entries
and the outbox rows. The deferred trigger checks the transaction balances at commit. A hold's
service adds its own row's insert or update to the same statement (`Cte`); a hold change that moves
no money (create, void, expiry) is `write_changes`: wallets, hold and outbox, no ledger rows. Many
rows at once (a batch, a multi-leg transaction, a reversal) are `write_many`: one JSON document
per table, so its text is the same whatever the count.

Callers hold the row locks (`locks.lock_user_wallets`) and run inside `transaction.atomic`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from django.db import connection

from kafka_bridge import outbox

from .events import WalletEvent
from .models import LedgerEntry, LedgerTransaction, TransactionLeg, Wallet

WALLETS = Wallet._meta.db_table
TRANSACTIONS = LedgerTransaction._meta.db_table
ENTRIES = LedgerEntry._meta.db_table
LEGS = TransactionLeg._meta.db_table


class VersionConflict(RuntimeError):
    """A version-checked update touched fewer rows than expected: the lock discipline was broken.

    Never a user error; the transaction rolls back and the bug is logged as a 500.
    """


@dataclass(frozen=True)
class BalanceUpdate:
    wallet_id: uuid.UUID
    balance: Decimal
    held: Decimal
    version: int  # the new version; the row must hold `base_version`

    base_version: int | None = None  # default version - 1; a capture's remainder release adds 2

    @classmethod
    def of(cls, wallet: Wallet, *, steps: int = 1) -> BalanceUpdate:
        """The locked wallet as the service left it, `steps` versions after the row's."""
        return cls(wallet.id, wallet.balance, wallet.held, wallet.version, wallet.version - steps)


@dataclass(frozen=True)
class Cte:
    """One more data-modifying statement for the same SQL statement (e.g. a hold's row).
    With `expect_rows`, it must say `RETURNING ...` and affect exactly that many rows."""

    sql: str
    params: list[Any]
    expect_rows: int | None = None


@dataclass(frozen=True)
class Entry:
    wallet_id: uuid.UUID
    currency: str
    amount: Decimal  # signed
    type: str
    balance_after: Decimal | None
    wallet_version: int | None
    id: uuid.UUID
    leg: int | None = None  # a MULTI_LEG transaction's (or its reversal's) leg


def insert_events(events: Sequence[WalletEvent], at: datetime) -> None:
    """Events of a change that is not a money movement (a wallet created)."""
    outbox.enqueue(messages(events, ()), at)


def messages(events: Sequence[WalletEvent], entries: Iterable[Entry]) -> list[outbox.OutboxMessage]:
    """The events' outbox rows, each movement's event with its entry's id (the wallet and version
    find it), so the ledger holds every event's id (events.py)."""
    ids = {(e.wallet_id, e.wallet_version): e.id for e in entries if e.wallet_version is not None}
    return [event.outbox_message(ids.get((event.wallet_id, event.wallet_version))) for event in events]


@dataclass(frozen=True)
class LegRow:
    """A MULTI_LEG transaction's leg (or its reversal's), as `TransactionLeg` stores it."""

    index: int
    from_wallet_id: uuid.UUID
    to_wallet_id: uuid.UUID
    currency: str
    amount: Decimal
    description: str | None = None
    metadata: dict[str, str] | None = None


@dataclass(frozen=True)
class Movement:
    """One ledger transaction to write: its row, its entries and (MULTI_LEG) its legs."""

    transaction_id: uuid.UUID
    kind: str
    initiated_by: str
    entries: Sequence[Entry]
    description: str | None = None
    metadata: dict[str, str] | None = None
    reverses_id: uuid.UUID | None = None
    reason: str = ""
    legs: Sequence[LegRow] = ()


def balance_updates(wallets: Iterable[Wallet], versions_before: dict[uuid.UUID, int]) -> list[BalanceUpdate]:
    """One version-checked update per locked wallet that moved, however many versions it took (a
    wallet in several legs): from the version it was locked at to the one it has now."""
    return [
        BalanceUpdate(wallet.id, wallet.balance, wallet.held, wallet.version, versions_before[wallet.id])
        for wallet in wallets
        if wallet.version != versions_before[wallet.id]
    ]


def _movement_ctes(movement: Movement, at: datetime) -> list[Cte]:
    """A ledger transaction's inserts as VALUES lists: the transaction and its entries. Legs are
    `write_many`'s: this statement stays within psycopg's cache of converted statements (at most
    50 parameters; a transfer's has 49), which the hot path relies on."""
    if movement.legs or any(entry.leg is not None for entry in movement.entries):
        raise ValueError("a movement with legs is written by write_many")
    entry_rows = []
    entry_params: list[Any] = []
    for entry in movement.entries:
        entry_rows.append("(%s, %s, %s, %s, %s, %s, %s, %s, %s)")
        entry_params += [
            entry.id,
            movement.transaction_id,
            entry.wallet_id,
            entry.currency,
            entry.amount,
            entry.type,
            entry.balance_after,
            entry.wallet_version,
            at,
        ]
    return [
        Cte(
            f"""INSERT INTO {TRANSACTIONS} (id, kind, initiated_by, description, metadata, reverses_id,
                                            reason, created_at)
                VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, %s)""",  # noqa: S608 -- names from model metadata
            [
                movement.transaction_id,
                movement.kind,
                movement.initiated_by,
                movement.description,
                json.dumps(movement.metadata or {}),
                movement.reverses_id,
                movement.reason,
                at,
            ],
        ),
        Cte(
            f"""INSERT INTO {ENTRIES} (id, transaction_id, wallet_id, currency, amount, type,
                                       balance_after, wallet_version, created_at)
                VALUES {", ".join(entry_rows)}""",  # noqa: S608
            entry_params,
        ),
    ]


def write_movement(
    *,
    transaction_id: uuid.UUID,
    kind: str,
    initiated_by: str,
    at: datetime,
    updates: Sequence[BalanceUpdate],
    entries: Sequence[Entry],
    events: Sequence[WalletEvent],
    description: str | None = None,
    metadata: dict[str, str] | None = None,
    reverses_id: uuid.UUID | None = None,
    reason: str = "",
    extra: Sequence[Cte] = (),
) -> None:
    """A ledger transaction: balances, the transaction and its entries, events (and `extra`)."""
    movement = Movement(
        transaction_id, kind, initiated_by, entries, description, metadata, reverses_id, reason
    )
    write_changes(
        at=at,
        updates=updates,
        events=events,
        extra=[*_movement_ctes(movement, at), *extra],
        entries=entries,
    )


def write_changes(
    *,
    at: datetime,
    updates: Sequence[BalanceUpdate],
    events: Sequence[WalletEvent],
    extra: Sequence[Cte] = (),
    entries: Sequence[Entry] = (),
) -> None:
    """Version-checked wallet updates, outbox rows and `extra`, in one statement (`entries`: the
    movement's, whose ids its events take)."""
    params: list[Any] = []
    update_rows = []
    for update in updates:
        update_rows.append("(%s::uuid, %s::numeric, %s::numeric, %s::bigint, %s::bigint)")
        base = update.version - 1 if update.base_version is None else update.base_version
        params += [update.wallet_id, update.balance, update.held, update.version, base]
    params.append(at)
    outbox_insert, outbox_params = outbox.insert_statement(messages(events, entries), at)
    ctes = [Cte(outbox_insert, outbox_params), *extra]
    parts = []
    for number, cte in enumerate(ctes):
        parts.append(f"c{number} AS ({cte.sql})")
        params += cte.params
    checked = [number for number, cte in enumerate(ctes) if cte.expect_rows is not None]
    counts = "".join(f", (SELECT count(*) FROM c{number})" for number in checked)  # noqa: S608
    sql = f"""
        WITH new_balances (id, balance, held, version, base) AS (VALUES {", ".join(update_rows)}),
        moved AS (
            UPDATE {WALLETS} AS w
               SET balance = n.balance, held = n.held, version = n.version, updated_at = %s
              FROM new_balances AS n
             WHERE w.id = n.id AND w.version = n.base
            RETURNING w.id
        ),
        {", ".join(parts)}
        SELECT (SELECT count(*) FROM moved){counts}
    """  # noqa: S608 -- table names come from model metadata, every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        moved, *affected = cursor.fetchone()
    if moved != len(updates):
        raise VersionConflict(f"expected {len(updates)} version-checked updates, applied {moved}")
    expected = [ctes[number].expect_rows for number in checked]
    if affected != expected:
        raise VersionConflict(f"expected rows {expected}, affected {affected}")


def _records(rows: list[dict[str, Any]]) -> str:
    """Rows as one JSON array for `jsonb_to_recordset` (UUIDs and decimals as their text). orjson
    writes a batch's thousand rows in a tenth of the time `json` takes, under the wallets' locks."""
    return orjson.dumps(rows, default=str).decode()


def write_many(
    *,
    at: datetime,
    updates: Sequence[BalanceUpdate],
    movements: Sequence[Movement],
    events: Sequence[WalletEvent],
) -> None:
    """Any number of ledger transactions (a batch, a multi-leg transaction) with their balances,
    entries, legs and events, in one statement whose text does not depend on how many: each
    table's rows as one JSON array (`jsonb_to_recordset`). A VALUES list of a 100-transfer batch
    has 4,000 placeholders, which psycopg converted again on every execute (half the batch's time,
    under the wallets' locks); this text is converted once and prepared by PostgreSQL, and one JSON
    text per table costs less than an array per column (psycopg dumps each element). The balances
    are read through `wallets_new_balances` (migration 0010), so the update finds each wallet by its
    key rather than scanning the wallet table."""
    balances = [
        {
            "id": update.wallet_id,
            "balance": update.balance,
            "held": update.held,
            "version": update.version,
            "base": update.version - 1 if update.base_version is None else update.base_version,
        }
        for update in updates
    ]
    transactions = [
        {
            "id": movement.transaction_id,
            "kind": movement.kind,
            "initiated_by": movement.initiated_by,
            "description": movement.description,
            "metadata": movement.metadata or {},
            "reverses_id": movement.reverses_id,
            "reason": movement.reason,
        }
        for movement in movements
    ]
    entries = [
        {
            "id": entry.id,
            "transaction_id": movement.transaction_id,
            "wallet_id": entry.wallet_id,
            "currency": entry.currency,
            "amount": entry.amount,
            "type": entry.type,
            "balance_after": entry.balance_after,
            "wallet_version": entry.wallet_version,
            "leg": entry.leg,
        }
        for movement in movements
        for entry in movement.entries
    ]
    legs = [
        {
            "transaction_id": movement.transaction_id,
            "index": leg.index,
            "from_wallet_id": leg.from_wallet_id,
            "to_wallet_id": leg.to_wallet_id,
            "currency": leg.currency,
            "amount": leg.amount,
            "description": leg.description,
            "metadata": leg.metadata or {},
        }
        for movement in movements
        for leg in movement.legs
    ]
    outbox_insert, outbox_params = outbox.insert_many_statement(
        messages(events, (entry for movement in movements for entry in movement.entries)), at
    )
    sql = f"""
        WITH moved AS (
            UPDATE {WALLETS} AS w
               SET balance = n.balance, held = n.held, version = n.version, updated_at = %s
              FROM wallets_new_balances(%s::jsonb) AS n
             WHERE w.id = n.id AND w.version = n.base
            RETURNING w.id
        ),
        transactions AS (
            INSERT INTO {TRANSACTIONS} (id, kind, initiated_by, description, metadata, reverses_id, reason,
                                        created_at)
            SELECT id, kind, initiated_by, description, metadata, reverses_id, reason, %s
              FROM jsonb_to_recordset(%s::jsonb)
                   AS u(id uuid, kind text, initiated_by text, description text, metadata jsonb,
                        reverses_id uuid, reason text)
        ),
        entries AS (
            INSERT INTO {ENTRIES} (id, transaction_id, wallet_id, currency, amount, type, balance_after,
                                   wallet_version, leg, created_at)
            SELECT id, transaction_id, wallet_id, currency, amount, type, balance_after, wallet_version,
                   leg, %s
              FROM jsonb_to_recordset(%s::jsonb)
                   AS u(id uuid, transaction_id uuid, wallet_id uuid, currency text, amount numeric,
                        type text, balance_after numeric, wallet_version bigint, leg smallint)
        ),
        legs AS (
            INSERT INTO {LEGS} (transaction_id, index, from_wallet_id, to_wallet_id, currency, amount,
                                description, metadata)
            SELECT transaction_id, index, from_wallet_id, to_wallet_id, currency, amount, description,
                   metadata
              FROM jsonb_to_recordset(%s::jsonb)
                   AS u(transaction_id uuid, index smallint, from_wallet_id uuid, to_wallet_id uuid,
                        currency text, amount numeric, description text, metadata jsonb)
        ),
        events AS ({outbox_insert})
        SELECT count(*) FROM moved
    """  # noqa: S608 -- table names come from model metadata, every value is a parameter
    params: list[Any] = [
        at,
        _records(balances),
        at,
        _records(transactions),
        at,
        _records(entries),
        _records(legs),
        *outbox_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (moved,) = cursor.fetchone()
    if moved != len(updates):
        raise VersionConflict(f"expected {len(updates)} version-checked updates, applied {moved}")
