"""Rebuilding the history from the ledger (`manage.py rebuild_history --from-ledger`), whatever Kafka
still holds.

Why: the ledger is the source of truth and holds everything an event says. Each event's id is one
the ledger holds (wallets/events.py: the entry's, the wallet's, the hold's, or the hold's with
version nibble 8 for its release), the balances and versions are the entries', `held_after` is the
running sum of the holds' changes, and the notes are the transaction's, the leg's or the hold's, as
the services wrote them. So the rows equal those the consumer stored from Kafka (docs/history.md).

How: one transaction builds `history_historyevent_new` (the live table's columns, defaults and
checks: `LIKE`) with one `INSERT ... SELECT` over the ledger, then its indexes, then swaps it in:
the live table is locked, the rows the consumer stored meanwhile are copied over (`ON CONFLICT DO
NOTHING`: those the ledger already gave are skipped, by event id or by wallet version), the old
table dropped and the new one renamed with the old names. Readers see the old table until the
commit and the new one after: a query waiting on the lock finds the new table by its name. The
consumer goes on from its committed offsets: what it reads again is skipped by the event id, what
it has not read yet is inserted. An event published before the ids were derived from the ledger
carries a random id; read again (a reset offset, a new group) it is skipped by its wallet version
(`history_wallet_version_unique`, copied to the new table with the other indexes), so the history
keeps one row per event across the change of ids. A
wallet's events are read in one statement, so they are consistent with each other; events
committed after that statement reach the history through the consumer.

Rows built here have no Kafka origin: topic '', partition and offset -1.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from wallets.models import Hold, LedgerEntry, LedgerTransaction, TransactionLeg, Wallet

from .models import HistoryEvent, ReconcileCheckpoint, ReconciledWallet, VersionGap
from .reconcile import RUN_LOCK_NAME

logger = logging.getLogger(__name__)

HISTORY = HistoryEvent._meta.db_table
NEW = f"{HISTORY}_new"
SUFFIX = "_new"
WALLETS = Wallet._meta.db_table
ENTRIES = LedgerEntry._meta.db_table
TRANSACTIONS = LedgerTransaction._meta.db_table
LEGS = TransactionLeg._meta.db_table
HOLDS = Hold._meta.db_table

STEPS = ("read the ledger", "index", "swap")

# The events of every user wallet, in the payload's shape. `bd`/`hd`: how the event changes the
# balance and held; their running sums per wallet are `balance_after` and `held_after`.
_EVENTS = f"""
WITH ev AS (
    SELECT w.id AS wallet_id, 0::bigint AS version, 'WALLET_CREATED'::text AS event_type,
           w.id AS event_id, 0::numeric AS amount, 0::numeric AS bd, 0::numeric AS hd,
           NULL::uuid AS transaction_id, NULL::uuid AS counterparty, NULL::uuid AS hold_id,
           NULL::uuid AS reverses, NULL::text AS description, '{{}}'::jsonb AS metadata,
           NULL::smallint AS leg, w.created_at AS occurred_at
      FROM {WALLETS} AS w
     WHERE w.kind = 'user'
    UNION ALL
    SELECT e.wallet_id, e.wallet_version,
           CASE e.type WHEN 'FUND' THEN 'WALLET_FUNDED' WHEN 'WITHDRAW' THEN 'WALLET_WITHDRAWN'
                       ELSE e.type END,
           e.id, abs(e.amount), e.amount,
           CASE WHEN h.id IS NOT NULL AND e.wallet_id = h.from_wallet_id THEN -h.captured_amount ELSE 0 END,
           e.transaction_id,
           CASE WHEN l.transaction_id IS NOT NULL
                THEN CASE WHEN l.from_wallet_id = e.wallet_id THEN l.to_wallet_id ELSE l.from_wallet_id END
                ELSE o.wallet_id END,
           h.id, t.reverses_id,
           CASE WHEN t.kind = 'REVERSAL' THEN NULL
                WHEN l.description IS NOT NULL OR l.metadata <> '{{}}'::jsonb THEN l.description
                ELSE t.description END,
           CASE WHEN t.kind = 'REVERSAL' THEN '{{}}'::jsonb
                WHEN l.description IS NOT NULL OR l.metadata <> '{{}}'::jsonb THEN l.metadata
                ELSE t.metadata END,
           e.leg, e.created_at
      FROM {ENTRIES} AS e
      JOIN {TRANSACTIONS} AS t ON t.id = e.transaction_id
      LEFT JOIN {HOLDS} AS h ON h.transaction_id = e.transaction_id
      LEFT JOIN {LEGS} AS l ON l.transaction_id = e.transaction_id AND l.index = e.leg
      LEFT JOIN {ENTRIES} AS o
             ON o.transaction_id = e.transaction_id AND e.leg IS NULL AND o.leg IS NULL
            AND o.wallet_id <> e.wallet_id AND o.wallet_version IS NOT NULL
     WHERE e.wallet_version IS NOT NULL
    UNION ALL
    SELECT h.from_wallet_id, h.created_version, 'HOLD_CREATED', h.id, h.amount, 0, h.amount, NULL,
           h.to_wallet_id, h.id, NULL, h.description, h.metadata, NULL, h.created_at
      FROM {HOLDS} AS h
    UNION ALL
    SELECT h.from_wallet_id, h.released_version, 'HOLD_RELEASED',
           overlay(h.id::text PLACING '8' FROM 15 FOR 1)::uuid,
           h.amount - h.captured_amount, 0, -(h.amount - h.captured_amount), h.transaction_id,
           h.to_wallet_id, h.id, NULL,
           CASE WHEN c.id IS NULL THEN h.description ELSE c.description END,
           CASE WHEN c.id IS NULL THEN h.metadata ELSE c.metadata END,
           NULL, CASE WHEN c.id IS NULL THEN h.updated_at ELSE c.created_at END
      FROM {HOLDS} AS h
      LEFT JOIN {TRANSACTIONS} AS c ON c.id = h.transaction_id
     WHERE h.released_version IS NOT NULL
),
run AS (
    SELECT ev.*,
           (sum(bd) OVER w)::numeric(19, 4) AS balance_after,
           (sum(hd) OVER w)::numeric(19, 4) AS held_after
      FROM ev
    WINDOW w AS (PARTITION BY wallet_id ORDER BY version)
)
SELECT r.event_id, r.event_type, r.wallet_id, u.user_id, u.currency, r.amount::numeric(19, 4) AS amount,
       r.balance_after, r.version, r.transaction_id, r.counterparty, cu.user_id AS counterparty_user,
       r.occurred_at, r.held_after, r.hold_id, r.reverses, r.description, r.metadata, r.leg
  FROM run AS r
  JOIN {WALLETS} AS u ON u.id = r.wallet_id
  LEFT JOIN {WALLETS} AS cu ON cu.id = r.counterparty
"""  # noqa: S608 -- table names come from model metadata

_TIME = """to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""

_INSERT = f"""
INSERT INTO {NEW} (event_id, event_type, wallet_id, user_id, currency, amount, balance_after,
                   wallet_version, transaction_id, counterparty_wallet_id, counterparty_user_id,
                   occurred_at, recorded_at, payload, topic, "partition", "offset", schema_version,
                   held_after, hold_id, reverses_transaction_id, description, metadata, leg_index)
SELECT event_id, event_type, wallet_id, user_id, currency, amount, balance_after, version,
       transaction_id, counterparty, counterparty_user, occurred_at, now(),
       jsonb_build_object(
           'event_id', event_id::text, 'event_type', event_type, 'schema_version', 2,
           'occurred_at', {_TIME}, 'wallet_id', wallet_id::text, 'user_id', user_id,
           'currency', currency, 'amount', amount::text, 'balance_after', balance_after::text,
           'wallet_version', version, 'transaction_id', transaction_id::text,
           'counterparty_wallet_id', counterparty::text, 'counterparty_user_id', counterparty_user,
           'held_after', held_after::text, 'hold_id', hold_id::text,
           'reverses_transaction_id', reverses::text, 'description', description,
           'metadata', metadata, 'leg_index', leg),
       '', -1, -1, 2, held_after, hold_id, reverses, description, metadata, leg
  FROM ({_EVENTS}) AS events
"""  # noqa: S608


@dataclass
class LedgerRebuildResult:
    built: int = 0  # rows read from the ledger
    replaced: int = 0  # rows of the old table
    carried: int = 0  # rows the consumer stored during the build, copied over
    seconds: float = 0.0
    step_seconds: dict[str, float] | None = None

    def summary(self) -> str:
        steps = ", ".join(f"{name} {secs:.1f}s" for name, secs in (self.step_seconds or {}).items())
        return (
            f"built {self.built} rows from the ledger, replaced {self.replaced}, carried over "
            f"{self.carried} stored meanwhile, {self.seconds:.1f}s ({steps})"
        )


def _indexes(cursor: CursorWrapper) -> list[tuple[str, str, str | None]]:
    """The live table's indexes: (name, CREATE INDEX text, constraint text if one backs a constraint)."""
    cursor.execute(
        """
        SELECT i.relname, pg_get_indexdef(x.indexrelid), pg_get_constraintdef(c.oid)
          FROM pg_index AS x
          JOIN pg_class AS i ON i.oid = x.indexrelid
          LEFT JOIN pg_constraint AS c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
         WHERE x.indrelid = %s::regclass
         ORDER BY i.relname
        """,
        [HISTORY],
    )
    return list(cursor.fetchall())


def _lock_live_table(cursor: CursorWrapper, attempts: int = 50) -> None:
    """ACCESS EXCLUSIVE on the live table, asked for 1 s at a time (in a savepoint each), so readers
    queued behind the request never wait longer than that for a lock we do not get."""
    for attempt in range(attempts):
        sid = transaction.savepoint()
        try:
            cursor.execute("SET LOCAL lock_timeout = '1s'")
            cursor.execute(f"LOCK TABLE {HISTORY} IN ACCESS EXCLUSIVE MODE")
        except Exception:
            transaction.savepoint_rollback(sid)
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)
            continue
        transaction.savepoint_commit(sid)
        cursor.execute("SET LOCAL lock_timeout = 0")
        return


def rebuild_from_ledger(*, on_step: Callable[[str, int], None] | None = None) -> LedgerRebuildResult:
    """Build the history from the ledger into a new table and swap it in (one transaction).
    `on_step(name, rows)` after each of STEPS."""
    started = time.monotonic()
    result = LedgerRebuildResult(step_seconds={})
    assert result.step_seconds is not None
    mark = time.monotonic()

    def step(name: str, rows: int) -> None:
        nonlocal mark
        now = time.monotonic()
        result.step_seconds[name] = now - mark  # type: ignore[index]
        mark = now
        if on_step is not None:
            on_step(name, rows)

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('history.rebuild_history'))")
        cursor.execute("SET LOCAL statement_timeout = 0")
        cursor.execute("SET LOCAL lock_timeout = 0")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        # A new history is verified anew (below); a reconcile run under way is waited for, one
        # starting meanwhile finds the lock taken and skips.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [RUN_LOCK_NAME])
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {HISTORY}")  # noqa: S608
        (before_max_id,) = cursor.fetchone()
        indexes = _indexes(cursor)
        cursor.execute(f"DROP TABLE IF EXISTS {NEW}")
        cursor.execute(
            f"CREATE TABLE {NEW} (LIKE {HISTORY} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            "INCLUDING IDENTITY INCLUDING STORAGE)"
        )
        cursor.execute(_INSERT)
        result.built = cursor.rowcount
        step(STEPS[0], result.built)

        for name, definition, constraint in indexes:
            if constraint is not None:
                cursor.execute(f"ALTER TABLE {NEW} ADD CONSTRAINT {name}{SUFFIX} {constraint}")
            else:
                head, _, tail = definition.partition(f" ON public.{HISTORY} ")
                assert tail, definition
                head = head.replace(f"INDEX {name}", f"INDEX {name}{SUFFIX}", 1)
                cursor.execute(f"{head} ON {NEW} {tail}")
        step(STEPS[1], len(indexes))

        _lock_live_table(cursor)
        # What the consumer stored since the build began: its events committed after the ledger
        # was read (the others are there already, by the same event id, or by the same wallet
        # version for an event with an id from before they were derived from the ledger).
        columns = ", ".join(f'"{f.column}"' for f in HistoryEvent._meta.concrete_fields if f.column != "id")
        cursor.execute(
            f"INSERT INTO {NEW} ({columns}) SELECT {columns} FROM {HISTORY} WHERE id > %s "  # noqa: S608
            "ORDER BY id ON CONFLICT DO NOTHING",
            [before_max_id],
        )
        result.carried = cursor.rowcount
        cursor.execute(f"SELECT count(*) FROM {HISTORY}")  # noqa: S608
        (result.replaced,) = cursor.fetchone()
        cursor.execute(f"SELECT pg_get_serial_sequence('{NEW}', 'id')")
        (sequence,) = cursor.fetchone()
        cursor.execute(f"DROP TABLE {HISTORY}")
        cursor.execute(f"ALTER TABLE {NEW} RENAME TO {HISTORY}")
        for name, _, constraint in indexes:
            if constraint is not None:
                cursor.execute(f"ALTER TABLE {HISTORY} RENAME CONSTRAINT {name}{SUFFIX} TO {name}")
            else:
                cursor.execute(f"ALTER INDEX {name}{SUFFIX} RENAME TO {name}")
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {HISTORY}_id_seq")

        # The history is whole up to the ledger read: its gaps are closed, and the periodic
        # reconcile verifies it anew (as after a rebuild from Kafka).
        cursor.execute(
            f"""UPDATE {VersionGap._meta.db_table} AS g SET resolved_at = now()
                 WHERE g.resolved_at IS NULL
                   AND (SELECT count(DISTINCT h.wallet_version) FROM {HISTORY} AS h
                         WHERE h.wallet_id = g.wallet_id
                           AND h.wallet_version BETWEEN g.first_missing AND g.last_missing)
                       = g.last_missing - g.first_missing + 1"""  # noqa: S608
        )
        cursor.execute(
            f"UPDATE {ReconciledWallet._meta.db_table} "  # noqa: S608
            "SET history_version = -1, history_balance = 0, history_held = 0"
        )
        cursor.execute(
            f"UPDATE {ReconcileCheckpoint._meta.db_table} SET history_through_id = 0"  # noqa: S608
        )
        step(STEPS[2], result.carried)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {HISTORY}")
    result.seconds = time.monotonic() - started
    logger.info("history rebuilt from the ledger: %s", result.summary())
    return result
