"""All writes of one money movement in a single SQL statement.

Why: in a Django transfer the time goes to Python per round trip, not to PostgreSQL (see
../shared/notes/performance.md). After the wallets are locked, one statement with data-modifying
CTEs applies the version-checked balance updates and inserts the ledger transaction, its entries
and the outbox rows. The deferred trigger checks the transaction balances at commit.

Callers hold the row locks (`locks.lock_user_wallets`) and run inside `transaction.atomic`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection

from kafka_bridge import outbox

from .events import WalletEvent
from .models import LedgerEntry, LedgerTransaction, Wallet

WALLETS = Wallet._meta.db_table
TRANSACTIONS = LedgerTransaction._meta.db_table
ENTRIES = LedgerEntry._meta.db_table


class VersionConflict(RuntimeError):
    """A version-checked update touched fewer rows than expected: the lock discipline was broken.

    Never a user error; the transaction rolls back and the bug is logged as a 500.
    """


@dataclass(frozen=True)
class BalanceUpdate:
    wallet_id: uuid.UUID
    balance: Decimal
    version: int  # the new version; the row must hold version - 1


@dataclass(frozen=True)
class Entry:
    wallet_id: uuid.UUID
    currency: str
    amount: Decimal  # signed
    type: str
    balance_after: Decimal | None
    wallet_version: int | None
    id: uuid.UUID


def insert_events(events: Sequence[WalletEvent], at: datetime) -> None:
    """Events of a change that is not a money movement (a wallet created)."""
    outbox.enqueue([event.outbox_message() for event in events], at)


def write_movement(
    *,
    transaction_id: uuid.UUID,
    kind: str,
    initiated_by: str,
    at: datetime,
    updates: Sequence[BalanceUpdate],
    entries: Sequence[Entry],
    events: Sequence[WalletEvent],
) -> None:
    params: list[Any] = []
    update_rows = []
    for update in updates:
        update_rows.append("(%s::uuid, %s::numeric, %s::bigint)")
        params += [update.wallet_id, update.balance, update.version]
    params += [at, transaction_id, kind, initiated_by, at]
    entry_rows = []
    for entry in entries:
        entry_rows.append("(%s, %s, %s, %s, %s, %s, %s, %s, %s)")
        params += [
            entry.id,
            transaction_id,
            entry.wallet_id,
            entry.currency,
            entry.amount,
            entry.type,
            entry.balance_after,
            entry.wallet_version,
            at,
        ]
    outbox_insert, outbox_params = outbox.insert_statement([event.outbox_message() for event in events], at)
    params += outbox_params
    sql = f"""
        WITH new_balances (id, balance, version) AS (VALUES {", ".join(update_rows)}),
        moved AS (
            UPDATE {WALLETS} AS w
               SET balance = n.balance, version = n.version, updated_at = %s
              FROM new_balances AS n
             WHERE w.id = n.id AND w.version = n.version - 1
            RETURNING w.id
        ),
        txn AS (
            INSERT INTO {TRANSACTIONS} (id, kind, initiated_by, created_at) VALUES (%s, %s, %s, %s)
        ),
        entries AS (
            INSERT INTO {ENTRIES} (id, transaction_id, wallet_id, currency, amount, type,
                                   balance_after, wallet_version, created_at)
            VALUES {", ".join(entry_rows)}
        ),
        outbox AS ({outbox_insert})
        SELECT count(*) FROM moved
    """  # noqa: S608 -- table names come from model metadata, every value is a parameter
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (moved,) = cursor.fetchone()
    if moved != len(updates):
        raise VersionConflict(f"expected {len(updates)} version-checked updates, applied {moved}")
