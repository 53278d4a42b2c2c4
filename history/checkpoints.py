"""What a reconcile run looks at: everything (`--full`), or only what is new since the checkpoint.

Why: a full reconcile reads every ledger entry and history event ever written, a cost that grows
with the history without end (a minute of a core at 2.2 GB). The periodic run checks what changed
since the last verified checkpoint instead, so its cost follows the traffic since the last run, not
the size of the books:

- per wallet (`ReconciledWallet`): a wallet whose row still has the version, balance and held last
  verified has nothing new on the ledger side; one that changed is checked from its checkpoint
  version on (its newer entries and hold changes, its balance from the checkpoint's). Its history
  is matched and replayed from the last verified history version on.
- per table (`ReconcileCheckpoint`): ledger transactions created after a time watermark are checked
  to balance, and the system account's entries after it are added to a running total per currency
  (`ReconciledCurrency`); history rows after an id watermark name the quiet wallets that got events.

Each check's SQL is written once over a `scope` of wallets with a starting point; the full run's
scope is every wallet from the beginning, so both runs share every rule. What the periodic run
cannot see is a change behind the checkpoint that leaves the wallet row alone (an UPDATE of an old
ledger entry or history row, a hold's status rewritten): that is the full run's job, weekly by beat
and on demand (`manage.py reconcile --full`); the append-only triggers refuse such UPDATEs anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from wallets.models import LedgerEntry, LedgerTransaction, Wallet

from .models import HistoryEvent, ReconcileCheckpoint, ReconciledCurrency, ReconciledWallet

WALLETS = Wallet._meta.db_table
ENTRIES = LedgerEntry._meta.db_table
TRANSACTIONS = LedgerTransaction._meta.db_table
HISTORY = HistoryEvent._meta.db_table
RECONCILED = ReconciledWallet._meta.db_table
CURRENCIES = ReconciledCurrency._meta.db_table
CHECKPOINT = ReconcileCheckpoint._meta.db_table


@dataclass(frozen=True)
class Scope:
    """The part of the books one run checks. `full`: all of it, from the beginning."""

    full: bool
    transactions_after: datetime | None  # ledger transactions created after this (None: all)
    history_after_id: int  # history rows with a larger id name wallets to check

    def ledger_wallets(self) -> str:
        """SQL of the user wallets to check on the ledger side, each with where to start:
        `from_version` and `from_balance` (what the entries up to that version sum to)."""
        columns = "w.id, w.user_id, w.currency, w.balance, w.held, w.version"
        if self.full:
            return (
                f"SELECT {columns}, 0::bigint AS from_version, 0::numeric AS from_balance "  # noqa: S608
                f"FROM {WALLETS} AS w WHERE w.kind = 'user'"
            )
        return f"""
            SELECT {columns}, COALESCE(c.version, 0) AS from_version, COALESCE(c.balance, 0) AS from_balance
              FROM {WALLETS} AS w LEFT JOIN {RECONCILED} AS c ON c.wallet_id = w.id
             WHERE w.kind = 'user'
               AND (c.wallet_id IS NULL OR c.version <> w.version OR c.balance <> w.balance
                    OR c.held <> w.held)
        """  # noqa: S608

    def history_wallets(self) -> tuple[str, list[Any]]:
        """SQL (and parameters) of the wallets whose history to check, each with where to start:
        `from_version` (-1: from WALLET_CREATED), and the replay's `from_balance` and `from_held`
        there. Wallets the history names but the books do not are included: their events are
        breaches."""
        if self.full:
            return (
                f"""
                SELECT ids.wallet_id, -1::bigint AS from_version, 0::numeric AS from_balance,
                       0::numeric AS from_held
                  FROM (SELECT id AS wallet_id FROM {WALLETS} WHERE kind = 'user'
                        UNION SELECT DISTINCT wallet_id FROM {HISTORY}) AS ids
                """,  # noqa: S608
                [],
            )
        return (
            f"""
            SELECT ids.wallet_id, COALESCE(c.history_version, -1) AS from_version,
                   COALESCE(c.history_balance, 0) AS from_balance, COALESCE(c.history_held, 0) AS from_held
              FROM (SELECT w.id AS wallet_id FROM {WALLETS} AS w
                      LEFT JOIN {RECONCILED} AS c ON c.wallet_id = w.id
                     WHERE w.kind = 'user' AND (c.wallet_id IS NULL OR c.history_version < w.version)
                    UNION SELECT wallet_id FROM {HISTORY} WHERE id > %s) AS ids
              LEFT JOIN {RECONCILED} AS c ON c.wallet_id = ids.wallet_id
            """,  # noqa: S608
            [self.history_after_id],
        )

    def transactions_filter(self, alias: str) -> tuple[str, list[Any]]:
        """An SQL condition on a ledger transaction `alias`: in this run's scope."""
        if self.transactions_after is None:
            return "TRUE", []
        return f"{alias}.created_at > %s", [self.transactions_after]


# The run's scopes, materialized (see `materialize`).
LEDGER_SCOPE = "reconcile_ledger_scope"
HISTORY_SCOPE = "reconcile_history_scope"


def materialize(scope: Scope, *, history: bool) -> None:
    """The run's scopes as temporary tables with statistics (ANALYZE), dropped at commit.

    Why: as a CTE the planner guessed the wallets changed since the checkpoint at a third of all
    wallets and scanned the ledger and the history whole to join them (8 s at 1 M entries); with
    the real count it reads the changed wallets' rows through their indexes."""
    scopes: list[tuple[str, str, list[Any]]] = [(LEDGER_SCOPE, scope.ledger_wallets(), [])]
    if history:
        scopes.append((HISTORY_SCOPE, *scope.history_wallets()))
    with connection.cursor() as cursor:
        for name, sql, params in scopes:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
            cursor.execute(f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS {sql}", params)
            cursor.execute(f"ANALYZE {name}")


def plan_for_few_wallets() -> None:
    """For the rest of a periodic run's transaction: reach rows through indexes (nested loops).

    Why: even knowing the run checks 906 wallets, PostgreSQL guesses that `wallet_version >
    from_version` keeps a third of each wallet's rows, prices index lookups above a scan of the
    whole ledger, and scans it (1 s at 1 M entries, ten times that at 10 M). The rows after a
    checkpoint are few; reading them through the (wallet, version) indexes costs what changed.
    A full run keeps the planner's choice: it reads everything, where scans and hash joins win."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute("SET LOCAL enable_mergejoin = off")


def _row(sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return tuple(cursor.fetchone())


def current_scope(*, full: bool) -> Scope:
    """The scope of a run starting now: everything, or what is new since the stored checkpoint
    (everything when there is none yet)."""
    checkpoint = ReconcileCheckpoint.objects.filter(id=1).first()
    if full or checkpoint is None:
        return Scope(full=full, transactions_after=None, history_after_id=0)
    return Scope(
        full=False,
        transactions_after=checkpoint.transactions_through,
        history_after_id=checkpoint.history_through_id,
    )


def system_totals(scope: Scope) -> dict[str, Any]:
    """Per currency, what the system account's entries sum to before this run's transactions (the
    stored totals; zero for a full run, which adds up every transaction itself)."""
    if scope.full:
        return {}
    return dict(ReconciledCurrency.objects.values_list("currency", "system_total"))


def safe_watermark(margin_seconds: float) -> datetime:
    """The newest time before which every ledger transaction is visible to this run's snapshot.

    A transaction stamps `created_at` when it starts and may commit later; so the watermark trails
    both the snapshot's clock and the start of any transaction still open, by `margin_seconds`
    (clock differences between hosts, a stamp taken just before the transaction's first query)."""
    (now, oldest_open) = _row(
        "SELECT now(), min(xact_start) FROM pg_stat_activity "
        "WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND datname = current_database()"
    )
    start: datetime = now if oldest_open is None else min(now, oldest_open)
    return start - timedelta(seconds=margin_seconds)


def advance_ledger(breached: set[Any], at: datetime) -> int:
    """Store the checked wallets' versions, balances and held as verified, except those in breach.
    Returns how many wallets moved on."""
    sql = f"""
        WITH scope AS (SELECT * FROM {LEDGER_SCOPE})
        INSERT INTO {RECONCILED} AS c (wallet_id, version, balance, held, history_version,
                                       history_balance, history_held, verified_at)
        SELECT s.id, s.version, s.balance, s.held, -1, 0, 0, %s FROM scope AS s
         WHERE NOT (s.id = ANY(%s))
        ON CONFLICT (wallet_id) DO UPDATE
           SET version = EXCLUDED.version, balance = EXCLUDED.balance, held = EXCLUDED.held,
               verified_at = EXCLUDED.verified_at
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [at, list(breached)])
        return int(cursor.rowcount)


def forget(wallet_ids: set[Any]) -> None:
    """Drop these wallets' checkpoints (a full run found them in breach behind them), so the
    periodic runs check them from the beginning again, and keep naming them until mended."""
    if wallet_ids:
        ReconciledWallet.objects.filter(wallet_id__in=list(wallet_ids)).delete()


def advance_history(reached: list[tuple[Any, int, Any, Any]], at: datetime) -> int:
    """Store, per wallet, the history version verified (and the replayed balance and held there)."""
    if not reached:
        return 0
    rows = ", ".join(["(%s::uuid, %s::bigint, %s::numeric, %s::numeric)"] * len(reached))
    params: list[Any] = [value for row in reached for value in row]
    sql = f"""
        INSERT INTO {RECONCILED} AS c (wallet_id, version, balance, held, history_version,
                                       history_balance, history_held, verified_at)
        SELECT v.wallet_id, 0, 0, 0, v.version, v.balance, v.held, %s
          FROM (VALUES {rows}) AS v (wallet_id, version, balance, held)
        ON CONFLICT (wallet_id) DO UPDATE
           SET history_version = EXCLUDED.history_version, history_balance = EXCLUDED.history_balance,
               history_held = EXCLUDED.history_held, verified_at = EXCLUDED.verified_at
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [at, *params])
        return int(cursor.rowcount)


def advance_tables(scope: Scope, *, through: datetime, at: datetime) -> None:
    """Move the table watermarks on: the system totals gain the entries of the transactions up to
    `through`, and the history id watermark goes to the newest row this snapshot sees."""
    condition, params = scope.transactions_filter("t")
    with connection.cursor() as cursor:
        if scope.transactions_after is None:
            cursor.execute(f"DELETE FROM {CURRENCIES}")  # noqa: S608 -- summed from the beginning
        cursor.execute(
            f"""
            INSERT INTO {CURRENCIES} AS c (currency, system_total)
            SELECT e.currency, sum(e.amount)
              FROM {ENTRIES} AS e
              JOIN {WALLETS} AS w ON w.id = e.wallet_id AND w.kind = 'system'
              JOIN {TRANSACTIONS} AS t ON t.id = e.transaction_id
             WHERE {condition} AND t.created_at <= %s
             GROUP BY e.currency
            ON CONFLICT (currency) DO UPDATE SET system_total = c.system_total + EXCLUDED.system_total
            """,  # noqa: S608
            [*params, through],
        )
        cursor.execute(
            f"""
            INSERT INTO {CHECKPOINT} (id, transactions_through, history_through_id, updated_at)
            SELECT 1, %s, COALESCE((SELECT max(id) FROM {HISTORY}), 0), %s
            ON CONFLICT (id) DO UPDATE
               SET transactions_through = EXCLUDED.transactions_through,
                   history_through_id = EXCLUDED.history_through_id, updated_at = EXCLUDED.updated_at
            """,  # noqa: S608
            [through, at],
        )
