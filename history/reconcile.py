"""Proof that the books agree: the checks behind `manage.py reconcile` and the periodic task.

Why: the database enforces most ledger rules itself (`wallets/sql/ledger_integrity.sql`), but not
that a wallet's balance column still equals its entries (an UPDATE behind the system's back), that
the relay is keeping up, that the history is a faithful copy of the ledger, or that replaying the
history gives the balances and held amounts its events record (hold changes are in no ledger).
These checks say so, naming every wallet, transaction or event in breach, instead of letting a
mistake sit unnoticed.

All checks read one snapshot (a REPEATABLE READ transaction), so money moving while they run cannot
make two checks disagree with each other. The periodic run checks only what is new since its
checkpoint, and moves the checkpoint on in the same transaction; `--full` checks everything
(history/checkpoints.py says what each run can see).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from common.times import format_timestamp
from kafka_bridge.selectors import outbox_backlog, overdue_events
from wallets.models import Hold, LedgerEntry, LedgerTransaction, Wallet
from wallets.money import format_money

from .checkpoints import (
    CURRENCIES,
    HISTORY_SCOPE,
    LEDGER_SCOPE,
    Scope,
    advance_history,
    advance_ledger,
    advance_tables,
    current_scope,
    forget,
    materialize,
    plan_for_few_wallets,
    safe_watermark,
)
from .event_types import (
    BALANCE_CREDITS,
    BALANCE_DEBITS,
    HOLD_CREATED,
    HOLD_RELEASED,
    TRANSFER_OUT,
)
from .models import HistoryEvent, ReconcileRun

logger = logging.getLogger(__name__)

WALLETS = Wallet._meta.db_table
ENTRIES = LedgerEntry._meta.db_table
TRANSACTIONS = LedgerTransaction._meta.db_table
HISTORY = HistoryEvent._meta.db_table
HOLDS = Hold._meta.db_table

EXAMPLES = 20  # breaches listed per check; the count is always complete
RUNS_KEPT = 100
RUN_LOCK_NAME = "history.reconcile"


@dataclass
class CheckResult:
    name: str
    title: str
    checked: str  # what was looked at, e.g. "12 user wallets"
    count: int = 0  # breaches found
    examples: list[str] = field(default_factory=list)
    skipped: str = ""

    @property
    def ok(self) -> bool:
        return self.count == 0


@dataclass
class ReconcileResult:
    started_at: datetime
    finished_at: datetime
    checks: list[CheckResult]
    full: bool = True

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def breaches(self) -> int:
        return sum(1 for check in self.checks if not check.ok)

    def report(self) -> str:
        seconds = (self.finished_at - self.started_at).total_seconds()
        verdict = "all agree" if self.ok else f"{self.breaches} in breach"
        at = format_timestamp(self.finished_at)
        mode = "full" if self.full else "periodic"
        lines = [f"reconcile ({mode}) at {at}: {len(self.checks)} checks, {verdict} ({seconds:.2f}s)"]
        for check in self.checks:
            if check.skipped:
                lines.append(f"  skip    {check.title}: {check.skipped}")
                continue
            status = "ok    " if check.ok else "BREACH"
            suffix = f" ({check.checked})" if check.checked else ""
            lines.append(f"  {status}  {check.title}{suffix}" + ("" if check.ok else f": {check.count}"))
            lines.extend(f"            {example}" for example in check.examples)
            if check.count > len(check.examples):
                lines.append(f"            ... and {check.count - len(check.examples)} more")
        return "\n".join(lines)


def _plural(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def _rows(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return list(cursor.fetchall())


def _scalar(sql: str, params: list[Any] | None = None) -> Any:
    return _rows(sql, params)[0][0]


def _limited(sql: str, params: list[Any] | None = None) -> tuple[int, list[tuple[Any, ...]], set[Any]]:
    """Breach rows of `sql` (whose first column is named `subject`: the wallet or transaction in
    breach): how many in all, the first EXAMPLES of them, and every subject in breach."""
    rows = _rows(
        f"""
        WITH breach AS MATERIALIZED ({sql})
        SELECT breach.*, counted.total, counted.subjects
          FROM breach,
               (SELECT count(*) AS total, array_agg(DISTINCT subject) AS subjects FROM breach) AS counted
         LIMIT {EXAMPLES}
        """,  # noqa: S608
        params,
    )
    if not rows:
        return 0, [], set()
    return rows[0][-2], [row[:-2] for row in rows], set(rows[0][-1])


@dataclass
class _Found:
    """What a check found beyond its result: the wallets in breach (they keep their checkpoint)."""

    wallets: set[Any] = field(default_factory=set)


def _wallets_checked(scope: Scope, changed: int) -> str:
    users = _scalar(f"SELECT count(*) FROM {WALLETS} WHERE kind = 'user'")  # noqa: S608
    if scope.full:
        return _plural(users, "user wallet")
    return f"{changed} of {_plural(users, 'user wallet')} changed since the checkpoint"


def check_wallet_balances(scope: Scope, found: _Found) -> CheckResult:
    """Balance = the sum of the wallet's entries, and its last entry's balance_after.

    From the wallet's checkpoint on: the checkpoint's balance plus its newer entries. The version
    is at least the number of entries, not equal to it: a hold change raises the version without a
    ledger entry (API v1.1). `check_holds` and `check_history` account for every version."""
    count, rows, wallets = _limited(
        f"""
        SELECT s.id AS subject, s.user_id, s.currency, s.balance, s.version,
               s.from_balance + COALESCE(e.total, 0) AS total, COALESCE(e.entries, 0), e.last_version,
               last.balance_after, s.from_version
          FROM {LEDGER_SCOPE} AS s
          LEFT JOIN (SELECT e.wallet_id, sum(e.amount) AS total, count(*) AS entries,
                            max(e.wallet_version) AS last_version
                       FROM {ENTRIES} AS e JOIN {LEDGER_SCOPE} AS scope ON scope.id = e.wallet_id
                      WHERE e.wallet_version > scope.from_version
                      GROUP BY e.wallet_id) AS e ON e.wallet_id = s.id
          LEFT JOIN {ENTRIES} AS last ON last.wallet_id = s.id AND last.wallet_version = e.last_version
         WHERE s.balance <> s.from_balance + COALESCE(e.total, 0)
            OR s.version - s.from_version < COALESCE(e.entries, 0)
            OR e.last_version > s.version
            OR (e.entries > 0 AND last.balance_after IS DISTINCT FROM s.balance)
         ORDER BY s.id
        """  # noqa: S608
    )
    changed = _scalar(f"SELECT count(*) FROM {LEDGER_SCOPE}")  # noqa: S608
    result = CheckResult(
        "wallet_balances", "every wallet's balance equals its ledger", _wallets_checked(scope, changed)
    )
    result.count = count
    found.wallets |= wallets
    for row in rows:
        wallet_id, user_id, currency, balance, version, total, entries, last_version, last_balance, since = (
            row
        )
        problems = []
        if balance != total:
            problems.append(
                f"balance {format_money(balance)} but its ledger entries sum to {format_money(total)}"
            )
        if version - since < entries:
            after = f" after version {since}" if since else ""
            problems.append(f"version {version} but {entries} ledger entries{after}")
        if last_version is not None and last_version > version:
            problems.append(f"version {version} but an entry has version {last_version}")
        if entries > 0 and last_balance != balance:
            shown = "missing" if last_balance is None else format_money(last_balance)
            problems.append(f"its last entry (version {last_version}) says balance_after {shown}")
        result.examples.append(f"wallet {wallet_id} ({user_id}, {currency}): {'; '.join(problems)}")
    return result


def check_ledger_chain(scope: Scope, found: _Found) -> CheckResult:
    """Every user wallet's hash chain recomputes (docs/ledger-chain.md): each entry's stored hash
    is SHA-256 of the previous entry's stored hash (the genesis before the first) and its own
    canonical bytes, as PostgreSQL's `wallets_chain_canonical` writes them. A changed field, a
    removed, reordered or inserted entry breaks it at that entry or the next; the first broken
    entry of each wallet is named. From the checkpoint on: the entries after its version, chained
    to the stored hash of the entry at it (checked by an earlier run)."""
    count, rows, wallets = _limited(
        f"""
        SELECT DISTINCT ON (c.wallet_id) c.wallet_id AS subject, c.id, c.wallet_version, c.chain_hash,
               c.expected
          FROM (SELECT e.wallet_id, e.id, e.wallet_version, e.chain_hash,
                       sha256(lag(e.chain_hash, 1, COALESCE(base.chain_hash,
                                                            wallets_chain_genesis(e.wallet_id)))
                                  OVER (PARTITION BY e.wallet_id ORDER BY e.wallet_version)
                              || wallets_chain_canonical(e.wallet_id, e.wallet_version, e.id,
                                                         e.transaction_id, e.type, e.amount, e.currency,
                                                         e.balance_after, e.created_at)) AS expected
                  FROM {LEDGER_SCOPE} AS s
                  LEFT JOIN LATERAL (SELECT b.chain_hash FROM {ENTRIES} AS b
                                      WHERE b.wallet_id = s.id AND b.wallet_version <= s.from_version
                                      ORDER BY b.wallet_version DESC LIMIT 1) AS base ON true
                  JOIN {ENTRIES} AS e ON e.wallet_id = s.id AND e.wallet_version > s.from_version) AS c
         WHERE c.chain_hash IS DISTINCT FROM c.expected
         ORDER BY c.wallet_id, c.wallet_version
        """  # noqa: S608
    )
    changed = _scalar(f"SELECT count(*) FROM {LEDGER_SCOPE}")  # noqa: S608
    result = CheckResult(
        "ledger_chain", "every wallet's ledger hash chain recomputes", _wallets_checked(scope, changed)
    )
    result.count = count
    found.wallets |= wallets
    for wallet_id, entry_id, version, stored, expected in rows:
        shown = "no hash" if stored is None else f"hash {bytes(stored).hex()}"
        gives = "none (the hash before it is missing)" if expected is None else bytes(expected).hex()
        result.examples.append(
            f"wallet {wallet_id}: entry {entry_id} (version {version}) stores {shown}, "
            f"its chain gives {gives}"
        )
    return result


def check_holds(scope: Scope, found: _Found) -> CheckResult:
    """`held` equals the wallet's pending holds, and the version counts every change: one per
    ledger entry, one per hold created, one per hold released (a version raised behind the
    system's back, or a hold change without its version, is named). From the checkpoint on: the
    changes after its version. (A changed wallet's holds are all read for its pending sum.)"""
    count, rows, wallets = _limited(
        f"""
        SELECT s.id AS subject, s.user_id, s.currency, s.held, COALESCE(h.pending, 0), s.version,
               s.from_version + COALESCE(e.entries, 0) + COALESCE(h.changes, 0)
          FROM {LEDGER_SCOPE} AS s
          LEFT JOIN (SELECT h.from_wallet_id, sum(h.amount) FILTER (WHERE h.status = 'pending') AS pending,
                            count(*) FILTER (WHERE h.created_version > scope.from_version)
                            + count(*) FILTER (WHERE h.released_version > scope.from_version) AS changes
                       FROM {HOLDS} AS h JOIN {LEDGER_SCOPE} AS scope ON scope.id = h.from_wallet_id
                      GROUP BY h.from_wallet_id) AS h ON h.from_wallet_id = s.id
          LEFT JOIN (SELECT e.wallet_id, count(*) AS entries
                       FROM {ENTRIES} AS e JOIN {LEDGER_SCOPE} AS scope ON scope.id = e.wallet_id
                      WHERE e.wallet_version > scope.from_version
                      GROUP BY e.wallet_id) AS e ON e.wallet_id = s.id
         WHERE s.held <> COALESCE(h.pending, 0)
            OR s.version <> s.from_version + COALESCE(e.entries, 0) + COALESCE(h.changes, 0)
         ORDER BY s.id
        """  # noqa: S608
    )
    if scope.full:
        checked = _plural(_scalar(f"SELECT count(*) FROM {HOLDS}"), "hold")  # noqa: S608
    else:
        checked = "the holds of the changed wallets"
    result = CheckResult(
        "holds", "every wallet's held equals its pending holds; its version counts its changes", checked
    )
    result.count = count
    found.wallets |= wallets
    for wallet_id, user_id, currency, held, pending, version, changes in rows:
        problems = []
        if held != pending:
            problems.append(f"held {format_money(held)} but its pending holds sum to {format_money(pending)}")
        if version != changes:
            problems.append(f"version {version} but {changes} ledger entries and hold changes")
        result.examples.append(f"wallet {wallet_id} ({user_id}, {currency}): {'; '.join(problems)}")
    return result


def check_transactions_balance(scope: Scope, found: _Found) -> CheckResult:
    """Every ledger transaction's entries sum to zero per currency, and it has entries (from the
    checkpoint on: those created after the watermark)."""
    condition, params = scope.transactions_filter("t")
    total = _scalar(f"SELECT count(*) FROM {TRANSACTIONS} AS t WHERE {condition}", params)  # noqa: S608
    since = "" if scope.transactions_after is None else " since the checkpoint"
    result = CheckResult(
        "transactions_balance",
        "every ledger transaction balances",
        _plural(total, "ledger transaction") + since,
    )
    count, rows, _subjects = _limited(
        f"""
        SELECT e.transaction_id AS subject, e.currency, sum(e.amount) FROM {ENTRIES} AS e
          JOIN {TRANSACTIONS} AS t ON t.id = e.transaction_id
         WHERE {condition}
         GROUP BY e.transaction_id, e.currency HAVING sum(e.amount) <> 0
        UNION ALL
        SELECT t.id, NULL, NULL FROM {TRANSACTIONS} AS t
         WHERE {condition} AND NOT EXISTS (SELECT 1 FROM {ENTRIES} AS e WHERE e.transaction_id = t.id)
        ORDER BY 1
        """,  # noqa: S608
        params + params,
    )
    result.count = count
    for transaction_id, currency, total_amount in rows:
        if currency is None:
            result.examples.append(f"transaction {transaction_id}: has no entries")
        else:
            result.examples.append(
                f"transaction {transaction_id}: its {currency} entries sum to {format_money(total_amount)}"
            )
    return result


def check_no_negative_balances(scope: Scope, found: _Found) -> CheckResult:
    """Every user wallet, in both runs: the wallets table is small next to the history."""
    result = CheckResult("no_negative_balances", "no user wallet is negative", "")
    count, rows, wallets = _limited(
        f"SELECT id AS subject, user_id, currency, balance FROM {WALLETS} "  # noqa: S608
        "WHERE kind = 'user' AND balance < 0 ORDER BY id"
    )
    result.count = count
    found.wallets |= wallets
    result.examples = [
        f"wallet {wallet_id} ({user_id}, {currency}): balance {format_money(balance)}"
        for wallet_id, user_id, currency, balance in rows
    ]
    return result


def check_currency_totals(scope: Scope, found: _Found) -> CheckResult:
    """Per currency, the user balances equal what the system account paid out: its entries of the
    transactions before the watermark (a running total) plus those after it."""
    currencies = _scalar(f"SELECT count(DISTINCT currency) FROM {WALLETS}")  # noqa: S608
    result = CheckResult(
        "currency_totals",
        "per currency, user balances equal what the system account paid out",
        _plural(currencies, "currency", "currencies"),
    )
    condition, params = scope.transactions_filter("t")
    if scope.transactions_after is None:
        before, transactions = "0", ""  # every entry, from the beginning
    else:
        before, transactions = (
            "COALESCE(rc.system_total, 0)",
            f"JOIN {TRANSACTIONS} AS t ON t.id = e.transaction_id",
        )
    count, rows, _subjects = _limited(
        f"""
        SELECT c.currency AS subject, COALESCE(u.total, 0), {before} + COALESCE(s.total, 0)
          FROM (SELECT DISTINCT currency FROM {WALLETS}) AS c
          LEFT JOIN (SELECT currency, sum(balance) AS total FROM {WALLETS}
                      WHERE kind = 'user' GROUP BY currency) AS u ON u.currency = c.currency
          LEFT JOIN (SELECT e.currency, sum(e.amount) AS total
                       FROM {ENTRIES} AS e JOIN {WALLETS} AS w ON w.id = e.wallet_id {transactions}
                      WHERE w.kind = 'system' AND {condition}
                      GROUP BY e.currency) AS s ON s.currency = c.currency
          LEFT JOIN {CURRENCIES} AS rc ON rc.currency = c.currency
         WHERE COALESCE(u.total, 0) <> -({before} + COALESCE(s.total, 0))
         ORDER BY c.currency
        """,  # noqa: S608
        params,
    )
    result.count = count
    result.examples = [
        f"{currency}: user balances sum to {format_money(users)}, "
        f"the system account's entries to {format_money(system)} (expected {format_money(-users)})"
        for currency, users, system in rows
    ]
    return result


def check_outbox(max_age_seconds: float) -> CheckResult:
    result = CheckResult(
        "outbox_backlog",
        f"no outbox event pending for more than {max_age_seconds:g}s",
        f"{outbox_backlog().pending} pending",
    )
    result.count, overdue = overdue_events(max_age_seconds=max_age_seconds, limit=EXAMPLES)
    for event in overdue:
        error = f", last error: {event.last_error[:120]}" if event.last_error else ""
        result.examples.append(
            f"outbox #{event.id} {event.type} of {event.aggregatetype} {event.aggregateid}: pending "
            f"{event.age_seconds:.0f}s, {event.attempts} attempts{error}"
        )
    return result


# The ledger transaction kind of a reversal (holds.md: "a new ledger transaction of kind
# `reversal`"); compared case-insensitively, as the ledger's other kinds are upper case.
_REVERSAL_KIND = "REVERSAL"


def _sql_list(types: tuple[str, ...]) -> str:
    """Event type constants (never user input) as an SQL list."""
    return ", ".join(f"'{t}'" for t in types)


# For each wallet of the history scope (`history_scope`: wallet_id, from_version, from_balance,
# from_held), what the history must hold after `from_version`, version by version: the creation
# (when from_version < 0), one event per ledger entry, and one per hold change, from the holds
# themselves: HOLD_CREATED at the hold's `created_version`, and HOLD_RELEASED at its
# `released_version` (void, expiry: all of it; a partial capture: the rest, with the capture's
# transaction). A hold change's balance_after is not in the holds (NULL here: not compared;
# the replay checks it). `at` is when it happened, for the grace period; `leg`, an entry's leg of
# a MULTI_LEG transaction or its reversal (issue #22), which the event's `leg_index` must equal.
_EXPECTED_EVENTS = f"""
    SELECT w.id AS wallet_id, 0::bigint AS version, 'WALLET_CREATED'::text AS event_type,
           0::numeric AS amount, 0::numeric AS balance_after, NULL::uuid AS transaction_id,
           w.created_at AS at, NULL::smallint AS leg
      FROM {WALLETS} AS w JOIN history_scope AS s ON s.wallet_id = w.id
     WHERE w.kind = 'user' AND s.from_version < 0
    UNION ALL
    SELECT e.wallet_id, e.wallet_version,
           CASE WHEN upper(t.kind) = '{_REVERSAL_KIND}'
                     THEN CASE WHEN e.amount < 0 THEN 'REVERSAL_OUT' ELSE 'REVERSAL_IN' END
                WHEN e.type = 'FUND' THEN 'WALLET_FUNDED' WHEN e.type = 'WITHDRAW' THEN 'WALLET_WITHDRAWN'
                ELSE e.type END,
           abs(e.amount), e.balance_after, e.transaction_id, e.created_at, e.leg
      FROM {ENTRIES} AS e JOIN history_scope AS s ON s.wallet_id = e.wallet_id
      JOIN {TRANSACTIONS} AS t ON t.id = e.transaction_id
     WHERE e.wallet_version > s.from_version
    UNION ALL
    SELECT h.from_wallet_id, h.created_version, '{HOLD_CREATED}', h.amount, NULL, NULL::uuid, h.created_at,
           NULL
      FROM {HOLDS} AS h JOIN history_scope AS s ON s.wallet_id = h.from_wallet_id
     WHERE h.created_version > s.from_version
    UNION ALL
    SELECT h.from_wallet_id, h.released_version, '{HOLD_RELEASED}', h.amount - h.captured_amount, NULL,
           CASE WHEN h.status = 'captured' THEN h.transaction_id END, h.updated_at, NULL
      FROM {HOLDS} AS h JOIN history_scope AS s ON s.wallet_id = h.from_wallet_id
     WHERE h.released_version > s.from_version
"""  # noqa: S608

# Every version of the scope, expected or found in the history, compared: `breach` (named now) or
# `matched` (the event is there once, as the books say). Neither: still within the grace period.
_VERSIONS = f"""
    expected AS ({_EXPECTED_EVENTS}),
    actual AS (
        SELECT h.wallet_id, h.wallet_version AS version, count(*) AS copies,
               (array_agg(h.event_type))[1] AS event_type, (array_agg(h.amount))[1] AS amount,
               (array_agg(h.balance_after))[1] AS balance_after,
               (array_agg(h.transaction_id))[1] AS transaction_id, (array_agg(h.leg_index))[1] AS leg
          FROM {HISTORY} AS h JOIN history_scope AS s ON s.wallet_id = h.wallet_id
         WHERE h.wallet_version > s.from_version
         GROUP BY h.wallet_id, h.wallet_version
    ),
    newest AS (
        SELECT s.wallet_id, (SELECT max(h.wallet_version) FROM {HISTORY} AS h
                              WHERE h.wallet_id = s.wallet_id) AS version
          FROM history_scope AS s
    ),
    versions AS (
        SELECT COALESCE(x.wallet_id, a.wallet_id) AS wallet_id, COALESCE(x.version, a.version) AS version,
               x.wallet_id IS NOT NULL AS expected, x.event_type AS x_type, x.amount AS x_amount,
               x.balance_after AS x_balance, x.transaction_id AS x_txn,
               a.event_type AS a_type, a.amount AS a_amount, a.balance_after AS a_balance,
               a.transaction_id AS a_txn, COALESCE(a.copies, 0) AS copies, x.leg AS x_leg, a.leg AS a_leg,
               (x.wallet_id IS NULL
                OR (a.wallet_id IS NULL
                    AND (x.at < now() - make_interval(secs => %s) OR n.version > x.version))
                OR a.copies > 1
                OR (a.wallet_id IS NOT NULL
                    AND (a.event_type <> x.event_type OR a.amount <> x.amount
                         OR a.balance_after <> x.balance_after
                         OR a.transaction_id IS DISTINCT FROM x.transaction_id
                         OR a.leg IS DISTINCT FROM x.leg))) IS TRUE AS breach,
               (x.wallet_id IS NOT NULL AND a.copies = 1 AND a.event_type = x.event_type
                AND a.amount = x.amount AND (x.balance_after IS NULL OR a.balance_after = x.balance_after)
                AND a.transaction_id IS NOT DISTINCT FROM x.transaction_id
                AND a.leg IS NOT DISTINCT FROM x.leg) IS TRUE AS matched
          FROM expected AS x FULL OUTER JOIN actual AS a
            ON a.wallet_id = x.wallet_id AND a.version = x.version
          LEFT JOIN newest AS n ON n.wallet_id = COALESCE(x.wallet_id, a.wallet_id)
    )
"""  # noqa: S608

# Each scope wallet's history after from_version replayed from the checkpoint's balance and held:
# money moves by the types' sign (a hold moves none); `held` rises by HOLD_CREATED and falls by
# HOLD_RELEASED and by a capture (a TRANSFER_OUT with a hold_id).
_REPLAY = f"""
    replay AS (
        SELECT h.wallet_id, h.wallet_version, h.event_type, h.balance_after, h.held_after,
               s.from_version + row_number() OVER w AS position,
               s.from_balance + sum(CASE WHEN h.event_type IN ({_sql_list(BALANCE_CREDITS)}) THEN h.amount
                                         WHEN h.event_type IN ({_sql_list(BALANCE_DEBITS)}) THEN -h.amount
                                         ELSE 0 END) OVER w AS balance,
               s.from_held + sum(CASE WHEN h.event_type = '{HOLD_CREATED}' THEN h.amount
                                      WHEN h.event_type = '{HOLD_RELEASED}' THEN -h.amount
                                      WHEN h.event_type = '{TRANSFER_OUT}' AND h.hold_id IS NOT NULL
                                           THEN -h.amount
                                      ELSE 0 END) OVER w AS held
          FROM {HISTORY} AS h JOIN history_scope AS s ON s.wallet_id = h.wallet_id
         WHERE h.wallet_version > s.from_version
        WINDOW w AS (PARTITION BY h.wallet_id ORDER BY h.wallet_version, h.event_id ROWS UNBOUNDED PRECEDING)
    )
"""  # noqa: S608

_HISTORY_TITLE = (
    "the history holds exactly one matching event per ledger entry, hold change and wallet creation"
)


def _history_checked(scope: Scope) -> str:
    if scope.full:
        return _plural(_scalar(f"SELECT count(*) FROM {HISTORY}"), "history event")  # noqa: S608
    wallets = _scalar(f"SELECT count(*) FROM {HISTORY_SCOPE}")  # noqa: S608
    return f"the new events of {_plural(wallets, 'wallet')}"


def check_history(scope: Scope, found: _Found, grace_seconds: float) -> CheckResult:
    """The history against the ledger, version by version, after each wallet's checkpoint.

    An event is missing once it is older than the grace period, or as soon as a later event of
    the same wallet is in the history (a wallet's events arrive in version order)."""
    result = CheckResult("history_matches_ledger", _HISTORY_TITLE, _history_checked(scope))
    count, rows, wallets = _limited(
        f"""
        WITH history_scope AS NOT MATERIALIZED (SELECT * FROM {HISTORY_SCOPE}), {_VERSIONS}
        SELECT wallet_id AS subject, version, expected, x_type, x_amount, x_balance, x_txn,
               a_type, a_amount, a_balance, a_txn, copies, x_leg, a_leg
          FROM versions WHERE breach ORDER BY 1, 2
        """,  # noqa: S608
        [grace_seconds],
    )
    result.count = count
    found.wallets |= wallets
    for row in rows:
        wallet_id, version, expected, x_type, x_amount, x_balance, x_txn = row[:7]
        a_type, a_amount, a_balance, a_txn, copies, x_leg, a_leg = row[7:]
        where = f"wallet {wallet_id} version {version}"
        if not expected:
            result.examples.append(f"{where}: history event {a_type} at a version the wallet never had")
        elif copies == 0:
            after = "" if x_balance is None else f" (balance after {format_money(x_balance)})"
            result.examples.append(f"{where}: no history event for {x_type} {format_money(x_amount)}{after}")
        elif copies > 1:
            result.examples.append(f"{where}: {copies} history events")
        else:
            expected_after = "" if x_balance is None else f" -> {format_money(x_balance)}"
            result.examples.append(
                f"{where}: history says {a_type} {format_money(a_amount)} -> {format_money(a_balance)}"
                f" (transaction {a_txn}{_leg(a_leg)}), the books say {x_type} {format_money(x_amount)}"
                f"{expected_after} (transaction {x_txn}{_leg(x_leg)})"
            )
    return result


def _leg(leg: int | None) -> str:
    return "" if leg is None else f", leg {leg}"


_REPLAY_TITLE = "replaying each wallet's history gives every event's balance_after and held_after"


def check_history_replay(scope: Scope, found: _Found) -> CheckResult:
    """Each wallet's history replayed from its checkpoint (version -1 for a full run) gives every
    event's balance_after and (in schema_version 2 events) held_after: from the history alone, so
    hold changes are checked too. A wallet is named once, at the first event where the replay
    and the record part."""
    result = CheckResult("history_replay", _REPLAY_TITLE, "")
    count, rows, wallets = _limited(
        f"""
        WITH history_scope AS NOT MATERIALIZED (SELECT * FROM {HISTORY_SCOPE}), {_REPLAY}
        SELECT DISTINCT ON (wallet_id) wallet_id AS subject, wallet_version, event_type, position,
               balance_after, balance, held_after, held
          FROM replay
         WHERE balance_after <> balance OR held_after <> held
         ORDER BY wallet_id, wallet_version
        """  # noqa: S608
    )
    result.count = count
    found.wallets |= wallets
    for wallet_id, version, event_type, position, balance_after, balance, held_after, held in rows:
        problems = []
        if balance_after != balance:
            problems.append(f"balance_after {format_money(balance_after)}, replayed {format_money(balance)}")
        if held_after is not None and held_after != held:
            problems.append(f"held_after {format_money(held_after)}, replayed {format_money(held)}")
        missing = " (earlier versions are missing)" if position != version else ""
        result.examples.append(
            f"wallet {wallet_id} version {version} {event_type}: {'; '.join(problems)}{missing}"
        )
    return result


def history_reached(scope: Scope, grace_seconds: float) -> list[tuple[Any, int, Any, Any]]:
    """Per wallet of the history scope, the newest version up to which every version is matched
    and replays cleanly, with the replayed balance and held there: where its history checkpoint
    moves to. A breach, or an event still within the grace period, stops it."""
    return _rows(
        f"""
        WITH history_scope AS NOT MATERIALIZED (SELECT * FROM {HISTORY_SCOPE}), {_VERSIONS}, {_REPLAY},
        first_unverified AS (
            SELECT wallet_id, min(version) AS version
              FROM (SELECT wallet_id, version FROM versions WHERE NOT matched
                    UNION ALL
                    SELECT wallet_id, wallet_version FROM replay
                     WHERE balance_after <> balance OR held_after <> held
                        OR position <> wallet_version) AS unverified
             GROUP BY wallet_id
        ),
        reached AS (
            SELECT v.wallet_id, max(v.version) AS version
              FROM versions AS v LEFT JOIN first_unverified AS u ON u.wallet_id = v.wallet_id
             WHERE v.matched AND (u.version IS NULL OR v.version < u.version)
             GROUP BY v.wallet_id
        )
        SELECT r.wallet_id, r.version, p.balance, p.held
          FROM reached AS r JOIN replay AS p ON p.wallet_id = r.wallet_id AND p.wallet_version = r.version
        """,  # noqa: S608
        [grace_seconds],
    )


class ReconcileBusy(RuntimeError):
    """Another reconcile run holds the lock; this one did nothing."""


@contextmanager
def _run_lock() -> Iterator[None]:
    """One run at a time (a session-level advisory lock taken before the run's snapshot), so two
    runs never advance the checkpoints from the same starting point."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", [RUN_LOCK_NAME])
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise ReconcileBusy("another reconcile run is in progress")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [RUN_LOCK_NAME])
        except DatabaseError:
            connection.close()  # the lock goes with the broken session


def reconcile(
    *,
    full: bool = True,
    outbox_max_age: float = 300.0,
    history_grace: float = 60.0,
    skip_history: bool = False,
    advance: bool = True,
    on_check: Callable[[str], None] | None = None,
) -> ReconcileResult:
    """Run every check on one snapshot of the database: over everything (`full`), or over what is
    new since the checkpoint (`full=False`, the periodic run; everything when no checkpoint
    exists yet). With `advance`, the checkpoints move on past what was found in agreement.
    `on_check(title)` is called before each check (progress)."""
    started = timezone.now()
    checks: list[tuple[str, Callable[[Scope, _Found], CheckResult]]] = [
        ("wallet balances", check_wallet_balances),
        ("holds", check_holds),
        ("ledger chain", check_ledger_chain),
        ("ledger transactions", check_transactions_balance),
        ("negative balances", check_no_negative_balances),
        ("currency totals", check_currency_totals),
        ("outbox", lambda scope, found: check_outbox(outbox_max_age)),
    ]
    if not skip_history:
        checks += [
            ("history", lambda scope, found: check_history(scope, found, history_grace)),
            ("history replay", check_history_replay),
        ]
    results = []
    outermost = not connection.in_atomic_block
    with _run_lock(), transaction.atomic():
        with connection.cursor() as cursor:
            if outermost:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            # Compiling these queries took PostgreSQL's JIT longer than running them (1.4 s of 4 s
            # for the history check of a periodic run at 1 M events).
            cursor.execute("SET LOCAL jit = off")
        scope = current_scope(full=full)
        materialize(scope, history=not skip_history)
        if not scope.full:
            plan_for_few_wallets()
        through = safe_watermark(settings.RECONCILE_WATERMARK_MARGIN_SECONDS)
        if scope.transactions_after is not None:
            through = max(through, scope.transactions_after)  # never backwards
        ledger, history = _Found(), _Found()
        for title, check in checks:
            if on_check is not None:
                on_check(title)
            began = time.monotonic()
            results.append(check(scope, history if title.startswith("history") else ledger))
            logger.debug("reconcile: %s took %.3fs", results[-1].name, time.monotonic() - began)
        if advance:
            _advance(scope, ledger, history, skip_history, history_grace, through, on_check)
    if skip_history:
        results += [
            CheckResult("history_matches_ledger", _HISTORY_TITLE, "", skipped="--skip-history"),
            CheckResult("history_replay", _REPLAY_TITLE, "", skipped="--skip-history"),
        ]
    return ReconcileResult(started_at=started, finished_at=timezone.now(), checks=results, full=scope.full)


def _advance(
    scope: Scope,
    ledger: _Found,
    history: _Found,
    skip_history: bool,
    history_grace: float,
    through: datetime,
    on_check: Callable[[str], None] | None,
) -> None:
    """Move the checkpoints on, in the run's transaction (so from the run's snapshot)."""
    if on_check is not None:
        on_check("checkpoints")
    at = timezone.now()
    if scope.full:
        forget(ledger.wallets | history.wallets)
    advance_ledger(ledger.wallets, at)
    if not skip_history:
        advance_history(history_reached(scope, history_grace), at)
    advance_tables(scope, through=through, at=at)


def store(result: ReconcileResult) -> ReconcileRun:
    """Keep the result (the newest is what the admin and `/metrics` show); prune old runs."""
    run = ReconcileRun.objects.create(
        started_at=result.started_at,
        finished_at=result.finished_at,
        full=result.full,
        ok=result.ok,
        breaches=result.breaches,
        checks=[{**asdict(check), "ok": check.ok} for check in result.checks],
        report=result.report(),
    )
    stale = ReconcileRun.objects.order_by("-finished_at", "-id").values_list("id", flat=True)[RUNS_KEPT:]
    ReconcileRun.objects.filter(id__in=list(stale)).delete()
    return run
