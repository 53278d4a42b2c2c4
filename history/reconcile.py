"""Proof that the books agree: the checks behind `manage.py reconcile` and the periodic task.

Why: the database enforces most ledger rules itself (`wallets/sql/ledger_integrity.sql`), but not
that a wallet's balance column still equals its entries (an UPDATE behind the system's back), that
the relay is keeping up, that the history is a faithful copy of the ledger, or that replaying the
history gives the balances and held amounts its events record (hold changes are in no ledger).
These checks say so, naming every wallet, transaction or event in breach, instead of letting a
mistake sit unnoticed.

All checks read one snapshot (a REPEATABLE READ, read-only transaction), so money moving while they
run cannot make two checks disagree with each other.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from common.times import format_timestamp
from kafka_bridge.selectors import outbox_backlog, overdue_events
from wallets.models import Hold, LedgerEntry, LedgerTransaction, Wallet
from wallets.money import format_money

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
        lines = [f"reconcile at {at}: {len(self.checks)} checks, {verdict} ({seconds:.2f}s)"]
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


def _limited(sql: str, params: list[Any] | None = None) -> tuple[int, list[tuple[Any, ...]]]:
    """Breach rows of `sql`: how many in all, and the first EXAMPLES of them."""
    rows = _rows(
        f"SELECT *, count(*) OVER () FROM ({sql}) AS breach LIMIT {EXAMPLES}",  # noqa: S608
        params,
    )
    return (rows[0][-1] if rows else 0), [row[:-1] for row in rows]


def check_wallet_balances() -> CheckResult:
    """Balance = the sum of the wallet's entries, and its last entry's balance_after.

    The version is at least the number of entries, not equal to it: a hold change raises the
    version without a ledger entry (API v1.1). `check_history` accounts for every version."""
    users = _scalar(f"SELECT count(*) FROM {WALLETS} WHERE kind = 'user'")  # noqa: S608
    result = CheckResult(
        "wallet_balances", "every wallet's balance equals its ledger", _plural(users, "user wallet")
    )
    count, rows = _limited(
        f"""
        SELECT w.id, w.user_id, w.currency, w.balance, w.version,
               COALESCE(e.total, 0) AS total, COALESCE(e.entries, 0) AS entries, e.last_version,
               last.balance_after
          FROM {WALLETS} AS w
          LEFT JOIN (SELECT wallet_id, sum(amount) AS total, count(*) AS entries,
                            max(wallet_version) AS last_version
                       FROM {ENTRIES} GROUP BY wallet_id) AS e ON e.wallet_id = w.id
          LEFT JOIN {ENTRIES} AS last ON last.wallet_id = w.id AND last.wallet_version = e.last_version
         WHERE w.kind = 'user'
           AND (w.balance <> COALESCE(e.total, 0) OR w.version < COALESCE(e.entries, 0)
                OR e.last_version > w.version
                OR (e.entries > 0 AND last.balance_after IS DISTINCT FROM w.balance))
         ORDER BY w.id
        """  # noqa: S608
    )
    result.count = count
    for wallet_id, user_id, currency, balance, version, total, entries, last_version, last_balance in rows:
        problems = []
        if balance != total:
            problems.append(
                f"balance {format_money(balance)} but its ledger entries sum to {format_money(total)}"
            )
        if version < entries:
            problems.append(f"version {version} but {entries} ledger entries")
        if last_version is not None and last_version > version:
            problems.append(f"version {version} but an entry has version {last_version}")
        if entries > 0 and last_balance != balance:
            shown = "missing" if last_balance is None else format_money(last_balance)
            problems.append(f"its last entry (version {last_version}) says balance_after {shown}")
        result.examples.append(f"wallet {wallet_id} ({user_id}, {currency}): {'; '.join(problems)}")
    return result


def check_holds() -> CheckResult:
    """`held` equals the wallet's pending holds, and the version counts every change: one per
    ledger entry, one per hold created, one per hold released (a version raised behind the
    system's back, or a hold change without its version, is named)."""
    holds = _scalar(f"SELECT count(*) FROM {HOLDS}")  # noqa: S608
    result = CheckResult(
        "holds",
        "every wallet's held equals its pending holds; its version counts its changes",
        _plural(holds, "hold"),
    )
    count, rows = _limited(
        f"""
        SELECT w.id, w.user_id, w.currency, w.held, COALESCE(p.pending, 0), w.version,
               COALESCE(e.entries, 0) + COALESCE(c.changes, 0)
          FROM {WALLETS} AS w
          LEFT JOIN (SELECT from_wallet_id, sum(amount) AS pending FROM {HOLDS}
                      WHERE status = 'pending' GROUP BY from_wallet_id) AS p ON p.from_wallet_id = w.id
          LEFT JOIN (SELECT wallet_id, count(*) AS entries FROM {ENTRIES} GROUP BY wallet_id) AS e
                 ON e.wallet_id = w.id
          LEFT JOIN (SELECT from_wallet_id, count(*) + count(released_version) AS changes FROM {HOLDS}
                      GROUP BY from_wallet_id) AS c ON c.from_wallet_id = w.id
         WHERE w.kind = 'user'
           AND (w.held <> COALESCE(p.pending, 0)
                OR w.version <> COALESCE(e.entries, 0) + COALESCE(c.changes, 0))
         ORDER BY w.id
        """  # noqa: S608
    )
    result.count = count
    for wallet_id, user_id, currency, held, pending, version, changes in rows:
        problems = []
        if held != pending:
            problems.append(f"held {format_money(held)} but its pending holds sum to {format_money(pending)}")
        if version != changes:
            problems.append(f"version {version} but {changes} ledger entries and hold changes")
        result.examples.append(f"wallet {wallet_id} ({user_id}, {currency}): {'; '.join(problems)}")
    return result


def check_transactions_balance() -> CheckResult:
    total = _scalar(f"SELECT count(*) FROM {TRANSACTIONS}")  # noqa: S608
    result = CheckResult(
        "transactions_balance", "every ledger transaction balances", _plural(total, "ledger transaction")
    )
    count, rows = _limited(
        f"""
        SELECT transaction_id, currency, sum(amount) FROM {ENTRIES}
         GROUP BY transaction_id, currency HAVING sum(amount) <> 0
        UNION ALL
        SELECT t.id, NULL, NULL FROM {TRANSACTIONS} AS t
         WHERE NOT EXISTS (SELECT 1 FROM {ENTRIES} AS e WHERE e.transaction_id = t.id)
        ORDER BY 1
        """  # noqa: S608
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


def check_no_negative_balances() -> CheckResult:
    result = CheckResult("no_negative_balances", "no user wallet is negative", "")
    count, rows = _limited(
        f"SELECT id, user_id, currency, balance FROM {WALLETS} "  # noqa: S608
        "WHERE kind = 'user' AND balance < 0 ORDER BY id"
    )
    result.count = count
    result.examples = [
        f"wallet {wallet_id} ({user_id}, {currency}): balance {format_money(balance)}"
        for wallet_id, user_id, currency, balance in rows
    ]
    return result


def check_currency_totals() -> CheckResult:
    currencies = _scalar(f"SELECT count(DISTINCT currency) FROM {WALLETS}")  # noqa: S608
    result = CheckResult(
        "currency_totals",
        "per currency, user balances equal what the system account paid out",
        _plural(currencies, "currency", "currencies"),
    )
    count, rows = _limited(
        f"""
        SELECT c.currency, COALESCE(u.total, 0), COALESCE(s.total, 0)
          FROM (SELECT DISTINCT currency FROM {WALLETS}) AS c
          LEFT JOIN (SELECT currency, sum(balance) AS total FROM {WALLETS}
                      WHERE kind = 'user' GROUP BY currency) AS u ON u.currency = c.currency
          LEFT JOIN (SELECT e.currency, sum(e.amount) AS total FROM {ENTRIES} AS e
                       JOIN {WALLETS} AS w ON w.id = e.wallet_id
                      WHERE w.kind = 'system' GROUP BY e.currency) AS s ON s.currency = c.currency
         WHERE COALESCE(u.total, 0) <> -COALESCE(s.total, 0)
         ORDER BY c.currency
        """  # noqa: S608
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
            f"outbox #{event.id} {event.type} of wallet {event.aggregateid}: pending "
            f"{event.age_seconds:.0f}s, {event.attempts} attempts{error}"
        )
    return result


# The ledger transaction kind of a reversal (holds.md: "a new ledger transaction of kind
# `reversal`"); compared case-insensitively, as the ledger's other kinds are upper case.
_REVERSAL_KIND = "REVERSAL"


def _sql_list(types: tuple[str, ...]) -> str:
    """Event type constants (never user input) as an SQL list."""
    return ", ".join(f"'{t}'" for t in types)


# What the history must hold, version by version: the creation, one event per ledger entry, and one
# per hold change, from the holds themselves: HOLD_CREATED at the hold's `created_version`, and
# HOLD_RELEASED at its `released_version` (void, expiry: all of it; a partial capture: the rest,
# with the capture's transaction). A hold change's balance_after is not in the holds (NULL here:
# not compared; `check_history_replay` checks it). `at` is when it happened, for the grace period.
_EXPECTED_EVENTS = f"""
    SELECT w.id AS wallet_id, 0::bigint AS version, 'WALLET_CREATED'::text AS event_type,
           0::numeric AS amount, 0::numeric AS balance_after, NULL::uuid AS transaction_id,
           w.created_at AS at
      FROM {WALLETS} AS w WHERE w.kind = 'user'
    UNION ALL
    SELECT e.wallet_id, e.wallet_version,
           CASE WHEN upper(t.kind) = '{_REVERSAL_KIND}'
                     THEN CASE WHEN e.amount < 0 THEN 'REVERSAL_OUT' ELSE 'REVERSAL_IN' END
                WHEN e.type = 'FUND' THEN 'WALLET_FUNDED' WHEN e.type = 'WITHDRAW' THEN 'WALLET_WITHDRAWN'
                ELSE e.type END,
           abs(e.amount), e.balance_after, e.transaction_id, e.created_at
      FROM {ENTRIES} AS e JOIN {WALLETS} AS w ON w.id = e.wallet_id
      JOIN {TRANSACTIONS} AS t ON t.id = e.transaction_id
     WHERE w.kind = 'user'
    UNION ALL
    SELECT h.from_wallet_id, h.created_version, '{HOLD_CREATED}', h.amount, NULL, NULL::uuid, h.created_at
      FROM {HOLDS} AS h
    UNION ALL
    SELECT h.from_wallet_id, h.released_version, '{HOLD_RELEASED}', h.amount - h.captured_amount, NULL,
           CASE WHEN h.status = 'captured' THEN h.transaction_id END, h.updated_at
      FROM {HOLDS} AS h WHERE h.released_version IS NOT NULL
"""  # noqa: S608

_HISTORY_TITLE = (
    "the history holds exactly one matching event per ledger entry, hold change and wallet creation"
)


def check_history(grace_seconds: float) -> CheckResult:
    """The history against the ledger, version by version.

    An event is missing once it is older than the grace period, or as soon as a later event of
    the same wallet is in the history (a wallet's events arrive in version order)."""
    events = _scalar(f"SELECT count(*) FROM {HISTORY}")  # noqa: S608
    result = CheckResult("history_matches_ledger", _HISTORY_TITLE, _plural(events, "history event"))
    count, rows = _limited(
        f"""
        WITH expected AS ({_EXPECTED_EVENTS}),
        actual AS (
            SELECT wallet_id, wallet_version AS version, count(*) AS copies,
                   (array_agg(event_type))[1] AS event_type, (array_agg(amount))[1] AS amount,
                   (array_agg(balance_after))[1] AS balance_after,
                   (array_agg(transaction_id))[1] AS transaction_id
              FROM {HISTORY} GROUP BY wallet_id, wallet_version
        ),
        newest AS (SELECT wallet_id, max(wallet_version) AS version FROM {HISTORY} GROUP BY wallet_id)
        SELECT COALESCE(x.wallet_id, a.wallet_id) AS wallet_id, COALESCE(x.version, a.version) AS version,
               x.wallet_id IS NOT NULL, x.event_type, x.amount, x.balance_after, x.transaction_id,
               a.event_type, a.amount, a.balance_after, a.transaction_id, COALESCE(a.copies, 0)
          FROM expected AS x FULL OUTER JOIN actual AS a
            ON a.wallet_id = x.wallet_id AND a.version = x.version
          LEFT JOIN newest AS n ON n.wallet_id = x.wallet_id
         WHERE x.wallet_id IS NULL
            OR (a.wallet_id IS NULL
                AND (x.at < now() - make_interval(secs => %s) OR n.version > x.version))
            OR a.copies > 1
            OR (a.event_type <> x.event_type OR a.amount <> x.amount
                OR a.balance_after <> x.balance_after
                OR a.transaction_id IS DISTINCT FROM x.transaction_id)
         ORDER BY 1, 2
        """,  # noqa: S608
        [grace_seconds],
    )
    result.count = count
    for (
        wallet_id,
        version,
        expected,
        x_type,
        x_amount,
        x_balance,
        x_txn,
        a_type,
        a_amount,
        a_balance,
        a_txn,
        copies,
    ) in rows:
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
                f" (transaction {a_txn}), the books say {x_type} {format_money(x_amount)}"
                f"{expected_after} (transaction {x_txn})"
            )
    return result


_REPLAY_TITLE = "replaying each wallet's history gives every event's balance_after and held_after"


def check_history_replay() -> CheckResult:
    """Each wallet's history replayed from version 0 gives every event's balance_after and (in
    schema_version 2 events) held_after: from the history alone, so hold changes are checked too.

    Money moves by the types' sign (a hold moves none); `held` rises by HOLD_CREATED and falls by
    HOLD_RELEASED and by a capture (a TRANSFER_OUT with a hold_id). A wallet is named once, at the
    first event where the replay and the record part."""
    result = CheckResult("history_replay", _REPLAY_TITLE, "")
    count, rows = _limited(
        f"""
        SELECT DISTINCT ON (wallet_id) wallet_id, wallet_version, event_type, position,
               balance_after, balance, held_after, held
          FROM (SELECT wallet_id, wallet_version, event_type, balance_after, held_after,
                       row_number() OVER w - 1 AS position,
                       sum(CASE WHEN event_type IN ({_sql_list(BALANCE_CREDITS)}) THEN amount
                                WHEN event_type IN ({_sql_list(BALANCE_DEBITS)}) THEN -amount
                                ELSE 0 END) OVER w AS balance,
                       sum(CASE WHEN event_type = '{HOLD_CREATED}' THEN amount
                                WHEN event_type = '{HOLD_RELEASED}' THEN -amount
                                WHEN event_type = '{TRANSFER_OUT}' AND hold_id IS NOT NULL THEN -amount
                                ELSE 0 END) OVER w AS held
                  FROM {HISTORY}
                WINDOW w AS (PARTITION BY wallet_id ORDER BY wallet_version, event_id
                             ROWS UNBOUNDED PRECEDING)) AS replay
         WHERE balance_after <> balance OR held_after <> held
         ORDER BY wallet_id, wallet_version
        """  # noqa: S608
    )
    result.count = count
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


def reconcile(
    *, outbox_max_age: float = 300.0, history_grace: float = 60.0, skip_history: bool = False
) -> ReconcileResult:
    """Run every check on one snapshot of the database."""
    started = timezone.now()
    checks: list[Callable[[], CheckResult]] = [
        check_wallet_balances,
        check_holds,
        check_transactions_balance,
        check_no_negative_balances,
        check_currency_totals,
        lambda: check_outbox(outbox_max_age),
    ]
    if not skip_history:
        checks += [lambda: check_history(history_grace), check_history_replay]
    results = []
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for check in checks:
            began = time.monotonic()
            results.append(check())
            logger.debug("reconcile: %s took %.3fs", results[-1].name, time.monotonic() - began)
    if skip_history:
        results += [
            CheckResult("history_matches_ledger", _HISTORY_TITLE, "", skipped="--skip-history"),
            CheckResult("history_replay", _REPLAY_TITLE, "", skipped="--skip-history"),
        ]
    return ReconcileResult(started_at=started, finished_at=timezone.now(), checks=results)


def store(result: ReconcileResult) -> ReconcileRun:
    """Keep the result (the newest is what the admin and `/metrics` show); prune old runs."""
    run = ReconcileRun.objects.create(
        started_at=result.started_at,
        finished_at=result.finished_at,
        ok=result.ok,
        breaches=result.breaches,
        checks=[{**asdict(check), "ok": check.ok} for check in result.checks],
        report=result.report(),
    )
    stale = ReconcileRun.objects.order_by("-finished_at", "-id").values_list("id", flat=True)[RUNS_KEPT:]
    ReconcileRun.objects.filter(id__in=list(stale)).delete()
    return run
