"""Seeding a volume database in SQL: ledger entries and the history events they imply, resumable.

Why SQL and not the API: 10 M entries through HTTP would take days here; one `INSERT ... SELECT`
over `generate_series` per chunk writes them at PostgreSQL's speed, and every database check still
runs (constraints, the entries' foreign keys, the deferred trigger that each ledger transaction
balances: each chunk is committed on its own, so the deferred triggers fire per chunk).

The data (`Plan`): `wallets` user wallets over `users` users (a user has two or three wallets), one
long-history wallet (user `vol-long`) that takes part in `long_per_round` extra transfers per round,
and the currency's system account. Each wallet is created (WALLET_CREATED, version 0) and funded
(FUND, version 1); then rounds of transfers follow: in round r every wallet i sends to wallet
(i + k_r) mod wallets, and the long wallet trades with `long_per_round` others, alternately sending
and receiving. Amounts are 1.0000 to 999.9999, and each wallet is funded with more than it could
ever send (`Plan.regular_fund`, `Plan.long_fund`), so no balance goes negative. Versions and
`balance_after` come from each wallet's row (its state after the previous chunk) plus a running
window over the chunk's legs, so they are gap-free and exact; the wallets' final balance and version
are written in the same transaction. The history gets exactly the events the ledger implies, with
the payload the real producer writes (`wallets/events.py`), on the benchmark's own topic name, a
partition per wallet (wallet number mod partitions) and consecutive offsets per partition, so the
same events produced to that topic in id order (`produce_topic`) land at the same offsets.

Resumable: the schema `volume_seed` (outside `public`, so the app's schema is untouched) records
the plan, the rounds done and each partition's next offset; each chunk's rows and that record are
committed together, so an interrupted run loses at most the chunk in flight, and a re-run continues.
"""

# ruff: noqa: S608 -- SQL built from module constants (table and schema names); values are parameters

from __future__ import annotations

import functools
import json
import math
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
SEED_SCHEMA = "volume_seed"
MAX_AMOUNT = 1000  # amounts are below this
MIN_FUND = 1_000_000
ROUND_STEP = 7919  # k_r = 1 + (r * ROUND_STEP) mod (wallets - 1): never 0, so never to itself
AMOUNT_HASH = 2654435761  # Knuth's multiplicative hash of the transaction's sequence number
SPAN = timedelta(days=365)  # the seeded history spans a year, ending an hour before the seeding
INITIATED_BY = "volume-seed"


@dataclass(frozen=True)
class Plan:
    """What a volume database holds; stored with the progress so a resume uses the same plan."""

    entries: int  # ledger entries wanted (at least; whole rounds are seeded)
    wallets: int = 10_000
    users: int = 4_000
    long_per_round: int = 200
    partitions: int = 6
    currency: str = "USD"
    topic: str = "wallet-events-volume"
    rounds_per_chunk: int = 5

    @property
    def long_wallet(self) -> int:
        """The long-history wallet's number (the user wallets are 0 .. wallets - 1)."""
        return self.wallets

    @property
    def per_round(self) -> int:
        """Transfers per round."""
        return self.wallets + self.long_per_round

    @property
    def setup_entries(self) -> int:
        """Each wallet's FUND: its entry and the system account's."""
        return 2 * (self.wallets + 1)

    @property
    def rounds(self) -> int:
        return max(0, math.ceil((self.entries - self.setup_entries) / (2 * self.per_round)))

    @property
    def total_entries(self) -> int:
        return self.setup_entries + 2 * self.per_round * self.rounds

    @property
    def total_transactions(self) -> int:
        return self.wallets + 1 + self.per_round * self.rounds

    @property
    def total_events(self) -> int:
        """WALLET_CREATED and WALLET_FUNDED per wallet, and one event per transfer leg."""
        return 2 * (self.wallets + 1) + 2 * self.per_round * self.rounds

    @property
    def regular_fund(self) -> int:
        """More than a user wallet can ever send: one transfer a round, plus each time it is the
        long wallet's partner (the partners run through the wallets in turn)."""
        partner_times = math.ceil(self.rounds * self.long_per_round / self.wallets)
        return max(MIN_FUND, MAX_AMOUNT * (self.rounds + partner_times + 1))

    @property
    def long_fund(self) -> int:
        """More than the long wallet can ever send: every other long transfer is its own."""
        return max(MIN_FUND, MAX_AMOUNT * (self.rounds * math.ceil(self.long_per_round / 2) + 1))

    def receiver(self, round_no: int, sender: int) -> int:
        """Whom user wallet `sender` pays in round `round_no` (mirrors the SQL below)."""
        return (sender + 1 + (round_no * ROUND_STEP) % (self.wallets - 1)) % self.wallets

    def long_partner(self, round_no: int, j: int) -> int:
        return (round_no * self.long_per_round + j) % self.wallets

    def user_id(self, n: int) -> str:
        return "vol-long" if n == self.long_wallet else f"vol-{n % self.users:05d}"


def amount_of(seq: int) -> str:
    """A transfer's amount from its sequence number (mirrors the SQL), 1.0000 .. 999.9999."""
    units = 10_000 + (seq * AMOUNT_HASH) % 9_990_000
    return f"{units // 10_000}.{units % 10_000:04d}"


def plan_for(entries: int, **overrides: Any) -> Plan:
    return replace(Plan(entries=entries), **overrides)


def database_name(entries: int) -> str:
    """wallet_volume_1m, wallet_volume_10m, wallet_volume_2000 ..."""
    if entries % 1_000_000 == 0:
        return f"wallet_volume_{entries // 1_000_000}m"
    if entries % 1000 == 0:
        return f"wallet_volume_{entries // 1000}k"
    return f"wallet_volume_{entries}"


# --- the database ---------------------------------------------------------------------------------


def create_database(admin_url: str, name: str) -> bool:
    """Create `name` on the server if missing; True if it was created."""
    if not name.startswith("wallet_volume_"):
        raise ValueError(f"refusing to touch {name!r}: volume databases are named wallet_volume_*")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        connection.execute(f'CREATE DATABASE "{name}"')
    return True


def drop_database(admin_url: str, name: str) -> None:
    if not name.startswith("wallet_volume_"):
        raise ValueError(f"refusing to drop {name!r}")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(url: str) -> None:
    """`manage.py migrate` on the database at `url` (idempotent)."""
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "walletproject.settings", "DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )


_STATE_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SEED_SCHEMA};
CREATE TABLE IF NOT EXISTS {SEED_SCHEMA}.state (
    id int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    plan jsonb NOT NULL,
    start_at timestamptz NOT NULL,
    step_seconds float8 NOT NULL,
    setup_done boolean NOT NULL DEFAULT false,
    rounds_done int NOT NULL DEFAULT 0,
    seconds float8 NOT NULL DEFAULT 0,
    finished_at timestamptz,
    increments int NOT NULL DEFAULT 0
);
ALTER TABLE {SEED_SCHEMA}.state ADD COLUMN IF NOT EXISTS increments int NOT NULL DEFAULT 0;
CREATE TABLE IF NOT EXISTS {SEED_SCHEMA}.wallet (n int PRIMARY KEY, id uuid NOT NULL, user_id text NOT NULL);
CREATE TABLE IF NOT EXISTS {SEED_SCHEMA}.offsets (partition int PRIMARY KEY, next bigint NOT NULL);
"""


@dataclass
class State:
    plan: Plan
    start_at: datetime
    step_seconds: float
    setup_done: bool
    rounds_done: int
    seconds: float
    finished_at: datetime | None

    @property
    def done(self) -> bool:
        return self.finished_at is not None


def load_state(connection: psycopg.Connection[Any], plan: Plan) -> State:
    """The seed's progress; recorded with `plan` on first use, refused if another plan was seeded."""
    connection.execute(_STATE_DDL)
    row = connection.execute(
        f"SELECT plan, start_at, step_seconds, setup_done, rounds_done, seconds, finished_at "
        f"FROM {SEED_SCHEMA}.state"
    ).fetchone()
    if row is None:
        start = datetime.now(UTC) - SPAN - timedelta(hours=1)
        step = SPAN.total_seconds() / plan.total_transactions
        connection.execute(
            f"INSERT INTO {SEED_SCHEMA}.state (plan, start_at, step_seconds) VALUES (%s, %s, %s)",
            [json.dumps(asdict(plan)), start, step],
        )
        connection.commit()
        return State(plan, start, step, False, 0, 0.0, None)
    stored = Plan(**row[0])
    if stored != plan:
        raise SystemExit(f"this database was seeded with another plan ({stored}); drop it first (--drop)")
    return State(stored, row[1], row[2], row[3], row[4], row[5], row[6])


# Each history event from a relation `ev` with columns: event_type, wallet_id, user_id, amount (>= 0),
# balance_after, version, txn, cp_id, cp_user, at, partition, offset; in `ord` order.
_HISTORY_INSERT = """
INSERT INTO history_historyevent (
    event_id, event_type, wallet_id, user_id, currency, amount, balance_after, wallet_version,
    transaction_id, counterparty_wallet_id, counterparty_user_id, occurred_at, recorded_at, payload,
    topic, "partition", "offset", schema_version, held_after, hold_id, reverses_transaction_id,
    description, metadata)
SELECT event_id, event_type, wallet_id, user_id, %(currency)s, amount, balance_after, version, txn,
       cp_id, cp_user, at, at + interval '20 milliseconds',
       jsonb_build_object(
           'event_id', event_id::text, 'event_type', event_type, 'schema_version', 2,
           'occurred_at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
           'wallet_id', wallet_id::text, 'user_id', user_id, 'currency', %(currency)s::text,
           'amount', amount::numeric(19, 4)::text, 'balance_after', balance_after::numeric(19, 4)::text,
           'wallet_version', version, 'transaction_id', txn::text, 'counterparty_wallet_id', cp_id::text,
           'counterparty_user_id', cp_user, 'held_after', '0.0000'::text, 'hold_id', NULL::text,
           'reverses_transaction_id', NULL::text, 'description', NULL::text, 'metadata', '{}'::jsonb),
       %(topic)s, "partition", "offset", 2, 0, NULL, NULL, NULL, '{}'::jsonb
  FROM (SELECT gen_random_uuid() AS event_id, * FROM ev) AS e
 ORDER BY ord
"""


def _history_sql(source: str) -> str:
    return f"WITH ev AS ({source})\n" + _HISTORY_INSERT


def _params(state: State, **extra: Any) -> dict[str, Any]:
    plan = state.plan
    return {
        "W": plan.wallets,
        "L": plan.long_per_round,
        "P": plan.partitions,
        "U": plan.users,
        "currency": plan.currency,
        "topic": plan.topic,
        "start": state.start_at,
        "step": state.step_seconds,
        "fund": plan.regular_fund,
        "long_fund": plan.long_fund,
        "by": INITIATED_BY,
        **extra,
    }


_SETUP = [
    f"""INSERT INTO {SEED_SCHEMA}.wallet (n, id, user_id)
        SELECT n, md5('volume-wallet-' || n)::uuid,
               CASE WHEN n = %(W)s THEN 'vol-long' ELSE 'vol-' || lpad((n %% %(U)s)::text, 5, '0') END
          FROM generate_series(0, %(W)s) AS n""",
    f"INSERT INTO {SEED_SCHEMA}.offsets SELECT p, 0 FROM generate_series(0, %(P)s - 1) AS p",
    """INSERT INTO wallets_wallet (id, user_id, currency, balance, held, version, status, kind,
                                   created_at, updated_at)
       SELECT gen_random_uuid(), 'system:' || %(currency)s, %(currency)s, 0, 0, 0, 'active', 'system',
              %(start)s, %(start)s
        WHERE NOT EXISTS (SELECT 1 FROM wallets_wallet WHERE kind = 'system' AND currency = %(currency)s)""",
    f"""CREATE TEMP TABLE seed_fund ON COMMIT DROP AS
        SELECT w.n, w.id AS wallet_id, w.user_id, gen_random_uuid() AS txn,
               CASE WHEN w.n = %(W)s THEN %(long_fund)s ELSE %(fund)s END::numeric(19, 4) AS amount,
               %(start)s::timestamptz + w.n * make_interval(secs => %(step)s) AS created,
               %(start)s::timestamptz + (w.n + 0.5) * make_interval(secs => %(step)s) AS at
          FROM {SEED_SCHEMA}.wallet AS w""",
    """INSERT INTO wallets_wallet (id, user_id, currency, balance, held, version, status, kind,
                                   created_at, updated_at)
       SELECT wallet_id, user_id, %(currency)s, amount, 0, 1, 'active', 'user', created, at
         FROM seed_fund ORDER BY n""",
    """INSERT INTO wallets_ledgertransaction (id, kind, initiated_by, description, metadata,
                                              reverses_id, reason, created_at)
       SELECT txn, 'FUND', %(by)s, NULL, '{}'::jsonb, NULL, '', at FROM seed_fund ORDER BY n""",
    """INSERT INTO wallets_ledgerentry (id, transaction_id, wallet_id, currency, amount, type,
                                        balance_after, wallet_version, created_at)
       SELECT gen_random_uuid(), f.txn, f.wallet_id, %(currency)s, f.amount, 'FUND', f.amount, 1, f.at
         FROM seed_fund AS f
       UNION ALL
       SELECT gen_random_uuid(), f.txn, s.id, %(currency)s, -f.amount, 'FUND', NULL, NULL, f.at
         FROM seed_fund AS f
         JOIN wallets_wallet AS s ON s.kind = 'system' AND s.currency = %(currency)s""",
    _history_sql(
        """SELECT x.*, row_number() OVER (PARTITION BY x."partition" ORDER BY x.ord) - 1 AS "offset"
              FROM (SELECT 'WALLET_CREATED' AS event_type, wallet_id, user_id, 0::numeric AS amount,
                           0::numeric AS balance_after, 0::bigint AS version, NULL::uuid AS txn,
                           NULL::uuid AS cp_id, NULL::text AS cp_user, created AS at,
                           n %% %(P)s AS "partition", 2 * n AS ord
                      FROM seed_fund
                    UNION ALL
                    SELECT 'WALLET_FUNDED', wallet_id, user_id, amount, amount, 1, txn, NULL, NULL, at,
                           n %% %(P)s, 2 * n + 1
                      FROM seed_fund) AS x"""
    ),
    f"""UPDATE {SEED_SCHEMA}.offsets AS o SET next = c.events
          FROM (SELECT n %% %(P)s AS p, 2 * count(*) AS events FROM seed_fund GROUP BY 1) AS c
         WHERE o.partition = c.p""",
    f"UPDATE {SEED_SCHEMA}.state SET setup_done = true",
]

# One chunk of rounds %(r0)s .. %(r1)s - 1. Transaction sequence numbers continue the setup's
# (wallets + 1 funds): %(base)s + r * per_round + the transfer's place in its round, where the long
# wallet's transfers are spread among the others.
_CHUNK = [
    """CREATE TEMP TABLE seed_txn ON COMMIT DROP AS
       WITH slots AS (
           SELECT r, 0 AS kind, 2::bigint * i * %(L)s AS key, s.sender,
                  (s.sender + 1 + (r * 7919) %% (%(W)s - 1)) %% %(W)s AS receiver
             FROM generate_series(%(r0)s, %(r1)s - 1) AS r, generate_series(0, %(regular)s - 1) AS i,
                  LATERAL (SELECT (i * %(stride)s) %% %(W)s AS sender) AS s
           UNION ALL
           SELECT r, 1, (2::bigint * j + 1) * %(W)s,
                  CASE WHEN j %% 2 = 0 THEN %(W)s ELSE (r * %(L)s + j) %% %(W)s END,
                  CASE WHEN j %% 2 = 0 THEN (r * %(L)s + j) %% %(W)s ELSE %(W)s END
             FROM generate_series(%(r0)s, %(r1)s - 1) AS r, generate_series(0, %(long)s - 1) AS j
       ), ordered AS (
           SELECT sender, receiver,
                  %(base)s + r::bigint * (%(W)s + %(L)s)
                  + row_number() OVER (PARTITION BY r ORDER BY key, kind) - 1 AS seq
             FROM slots
       )
       SELECT gen_random_uuid() AS id, seq, sender, receiver,
              (1 + ((seq * 2654435761) %% 9990000) / 10000.0)::numeric(19, 4) AS amount,
              %(t0)s::timestamptz + (seq - %(seq0)s) * make_interval(secs => %(step)s) AS at
         FROM ordered""",
    f"""CREATE TEMP TABLE seed_entry ON COMMIT DROP AS
        SELECT g.*, o.next + row_number() OVER (PARTITION BY g."partition" ORDER BY g.seq, g.leg) - 1
                    AS "offset"
          FROM (SELECT gen_random_uuid() AS id, l.txn, l.seq, l.at, l.leg, l.type, l.signed,
                       w.id AS wallet_id, w.user_id, c.id AS cp_id, c.user_id AS cp_user,
                       l.n %% %(P)s AS "partition",
                       s.version + row_number() OVER wn AS version,
                       s.balance + sum(l.signed) OVER wn AS balance_after
                  FROM (SELECT t.id AS txn, t.seq, t.at, v.*
                          FROM seed_txn AS t
                         CROSS JOIN LATERAL (VALUES (0, t.sender, -t.amount, 'TRANSFER_OUT', t.receiver),
                                                    (1, t.receiver, t.amount, 'TRANSFER_IN', t.sender))
                                            AS v(leg, n, signed, type, cp)) AS l
                  JOIN {SEED_SCHEMA}.wallet AS w ON w.n = l.n
                  JOIN {SEED_SCHEMA}.wallet AS c ON c.n = l.cp
                  JOIN wallets_wallet AS s ON s.id = w.id
                WINDOW wn AS (PARTITION BY l.n ORDER BY l.seq ROWS UNBOUNDED PRECEDING)) AS g
          JOIN {SEED_SCHEMA}.offsets AS o ON o.partition = g."partition" """,
    """INSERT INTO wallets_ledgertransaction (id, kind, initiated_by, description, metadata,
                                              reverses_id, reason, created_at)
       SELECT id, 'TRANSFER', %(by)s, NULL, '{}'::jsonb, NULL, '', at FROM seed_txn ORDER BY seq""",
    """INSERT INTO wallets_ledgerentry (id, transaction_id, wallet_id, currency, amount, type,
                                        balance_after, wallet_version, created_at)
       SELECT id, txn, wallet_id, %(currency)s, signed, type, balance_after, version, at
         FROM seed_entry ORDER BY seq, leg""",
    _history_sql(
        """SELECT type AS event_type, wallet_id, user_id, abs(signed) AS amount, balance_after, version,
                  txn, cp_id, cp_user, at, "partition", "offset", seq * 2 + leg AS ord
             FROM seed_entry"""
    ),
    """UPDATE wallets_wallet AS w SET balance = e.balance_after, version = e.version, updated_at = e.at
         FROM (SELECT DISTINCT ON (wallet_id) wallet_id, balance_after, version, at
                 FROM seed_entry ORDER BY wallet_id, seq DESC) AS e
        WHERE w.id = e.wallet_id""",
    f"""UPDATE {SEED_SCHEMA}.offsets AS o SET next = o.next + c.events
          FROM (SELECT "partition" AS p, count(*) AS events FROM seed_entry GROUP BY 1) AS c
         WHERE o.partition = c.p""",
    f"UPDATE {SEED_SCHEMA}.state SET rounds_done = %(r1)s",
]


def _session(connection: psycopg.Connection[Any]) -> None:
    # Bigger sorts in memory for the chunk's window functions; an unflushed commit is fine for a
    # seed (a crash loses the last chunks, and the resume redoes them: the record goes with them).
    connection.execute("SET work_mem = '256MB'")
    connection.execute("SET synchronous_commit = off")


@contextmanager
def progress_bar(title: str, total: int, unit: str) -> Iterator[Callable[[int], None]]:
    """A progress bar (tqdm: done, rate, time left) on a terminal; elsewhere (a log) a line every 5 %."""
    if not sys.stderr.isatty():
        started, last = time.monotonic(), -1

        def log(done: int) -> None:
            nonlocal last
            step = done * 20 // max(total, 1)
            if step != last:
                last = step
                elapsed = time.monotonic() - started
                print(f"{title}: {done:,}/{total:,} {unit} ({elapsed:.0f}s)", flush=True)

        yield log
        return
    with tqdm(total=total, desc=title, unit=f" {unit}", unit_scale=True) as bar:

        def advance(done: int) -> None:
            bar.update(done - bar.n)

        yield advance


def seed(
    url: str,
    plan: Plan,
    *,
    say: Callable[[str], None] = print,
    show_progress: bool = True,
    stop_after_chunks: int | None = None,
) -> State:
    """Seed (or finish seeding) the migrated database at `url`; returns the final state.
    `stop_after_chunks` stops early, as an interruption would (for the tests). Autocommit: each
    `transaction()` block below is a transaction of its own (one chunk and its progress)."""
    with psycopg.connect(url, autocommit=True) as connection:
        state = load_state(connection, plan)
        if state.done:
            say(
                f"already seeded: {plan.total_entries:,} ledger entries, {plan.total_events:,} history events"
            )
            return state
        _session(connection)
        params = _params(state)
        started = time.monotonic()
        if not state.setup_done:
            say(f"setup: {plan.wallets + 1:,} wallets created and funded")
            with connection.transaction(), psycopg.ClientCursor(connection) as cursor:
                for sql in _SETUP:
                    cursor.execute(sql, params)
            connection.commit()
            state.setup_done = True
        base = plan.wallets + 1
        chunks = range(state.rounds_done, plan.rounds, plan.rounds_per_chunk)
        per_round_entries = 2 * plan.per_round
        bar = progress_bar("ledger entries", plan.total_entries, "entries") if show_progress else None
        with bar if bar is not None else _no_bar() as advance:
            advance(plan.setup_entries + per_round_entries * state.rounds_done)
            for number, r0 in enumerate(chunks):
                if stop_after_chunks is not None and number >= stop_after_chunks:
                    return state
                r1 = min(r0 + plan.rounds_per_chunk, plan.rounds)
                chunk_params = {
                    **params,
                    **{"r0": r0, "r1": r1, "base": base, "regular": plan.wallets, "stride": 1},
                    **{"long": plan.long_per_round, "t0": state.start_at, "seq0": 0},
                }
                with connection.transaction(), psycopg.ClientCursor(connection) as cursor:
                    for sql in _CHUNK:
                        cursor.execute(sql, chunk_params)
                # After the commit (the deferred checks run there): the seeding's time so far.
                connection.execute(
                    f"UPDATE {SEED_SCHEMA}.state SET seconds = seconds + %s", [time.monotonic() - started]
                )
                started = time.monotonic()
                state.rounds_done = r1
                advance(plan.setup_entries + per_round_entries * r1)
        connection.execute(f"UPDATE {SEED_SCHEMA}.state SET finished_at = now()")
        connection.commit()
        say("analyze")
        connection.execute("ANALYZE")
        connection.commit()
        return load_state(connection, plan)


def increment(url: str, plan: Plan, transfers: int) -> int:
    """`transfers` more transfers (at most one per user wallet), happening now, a millisecond apart,
    as an extra round after the plan's (the seed's checks and history as for the others). Returns
    the increment's number. Offsets continue each partition's; `produce_topic` publishes them."""
    if not 0 < transfers <= plan.wallets:
        raise ValueError(f"an increment is 1 to {plan.wallets} transfers")
    with psycopg.connect(url, autocommit=True) as connection:
        state = load_state(connection, plan)
        if not state.done:
            raise SystemExit("the database is not fully seeded yet")
        row = connection.execute(f"SELECT increments FROM {SEED_SCHEMA}.state").fetchone()
        assert row is not None
        number = int(row[0])
        round_no = plan.rounds + number
        params = {
            **_params(state),
            **{"r0": round_no, "r1": round_no + 1, "base": plan.wallets + 1, "regular": transfers},
            **{"stride": 7919, "long": 0, "t0": datetime.now(UTC) - timedelta(milliseconds=transfers)},
            **{"seq0": plan.wallets + 1 + round_no * plan.per_round, "step": 0.001},
        }
        _session(connection)
        with connection.transaction(), psycopg.ClientCursor(connection) as cursor:
            cursor.execute(f"SELECT 1 FROM {SEED_SCHEMA}.state WHERE increments = %s FOR UPDATE", [number])
            if cursor.fetchone() is None:
                raise RuntimeError("another increment ran at the same time")
            for sql in _CHUNK[:-1]:
                cursor.execute(sql, params)
            cursor.execute(f"UPDATE {SEED_SCHEMA}.state SET increments = increments + 1")
        return number + 1


def sync_offsets(url: str, plan: Plan, ends: list[int]) -> None:
    """After live events went to the topic (a relay on this database), new seeded events continue
    after them: each partition's next offset is at least its end offset."""
    with psycopg.connect(url) as connection:
        connection.execute(
            f"UPDATE {SEED_SCHEMA}.offsets SET next = greatest(next, (%s::bigint[])[partition + 1])",
            [ends],
        )


def topic_ends(topic: str, partitions: int) -> list[int]:
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    from kafka_bridge.client import base_config

    consumer = Consumer({**base_config(), "group.id": "volume-seed-watermarks", "enable.auto.commit": False})
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                return [
                    consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
                    for p in range(partitions)
                ]
            except KafkaException:  # a topic just created has no leaders for a moment
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        consumer.close()


@contextmanager
def _no_bar() -> Iterator[Callable[[int], None]]:
    yield lambda done: None


def counts(url: str) -> dict[str, int]:
    """Rows per seeded table (exact counts)."""
    with psycopg.connect(url) as connection:
        return {
            table: int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in (
                "wallets_wallet",
                "wallets_ledgertransaction",
                "wallets_ledgerentry",
                "history_historyevent",
            )
        }


def database_size(url: str) -> int:
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT pg_database_size(current_database())").fetchone()
        assert row is not None
        return int(row[0])


def public_schema(url: str) -> str:
    """`pg_dump --schema-only` of the app's schema, for comparing with a freshly migrated database."""
    result = subprocess.run(
        ["pg_dump", "--schema-only", "--no-owner", "--schema=public", "--dbname", url],
        capture_output=True,
        text=True,
        check=True,
    )
    return "\n".join(
        ln for ln in result.stdout.splitlines() if not ln.startswith(("--", "\\restrict", "\\unrestrict"))
    )


# --- the Kafka topic ------------------------------------------------------------------------------


def produce_topic(
    url: str, plan: Plan, *, say: Callable[[str], None] = print, show_progress: bool = True
) -> int:
    """Produce the seeded history's events to `plan.topic` (created if missing), each to the partition
    and in the offset order the history records; resumes after the partitions' end offsets.
    Returns how many messages were produced now."""
    from confluent_kafka import KafkaException, Producer
    from confluent_kafka.admin import NewTopic  # type: ignore[attr-defined]

    from kafka_bridge.client import admin_client, base_config

    admin = admin_client()
    if plan.topic not in admin.list_topics(timeout=30).topics:
        futures = admin.create_topics(
            [NewTopic(plan.topic, num_partitions=plan.partitions, replication_factor=1)]
        )
        for future in futures.values():
            future.result()
        say(f"topic {plan.topic}: created with {plan.partitions} partitions")
    ends = topic_ends(plan.topic, plan.partitions)
    with psycopg.connect(url) as connection:
        row = connection.execute(f"SELECT sum(next) FROM {SEED_SCHEMA}.offsets").fetchone()
        total = int(row[0]) if row and row[0] is not None else 0
    if sum(ends) >= total:
        say(f"topic {plan.topic}: already holds {sum(ends):,} events")
        return 0
    producer = Producer(
        {
            **base_config(),
            "client.id": "volume-seed",
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 50,
            "batch.size": 1_000_000,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 500_000,
        }
    )
    mismatched = 0
    failed: list[str] = []

    def delivered(err: Any, message: Any, *, expected: int) -> None:
        nonlocal mismatched
        if err is not None:
            failed.append(str(err))
        elif message.offset() != expected:
            mismatched += 1

    produced = 0
    with psycopg.connect(url) as connection:
        cursor = connection.cursor(name="volume_produce")
        cursor.itersize = 20_000
        cursor.execute(
            """SELECT "partition", "offset", wallet_id::text, event_id::text, event_type, payload::text
                 FROM history_historyevent
                WHERE topic = %s AND "offset" >= (%s::bigint[])["partition" + 1]
                ORDER BY id""",
            [plan.topic, ends],
        )
        bar = progress_bar(f"produce {plan.topic}", total, "events") if show_progress else None
        with bar if bar is not None else _no_bar() as advance:
            done = sum(ends)
            for partition, offset, wallet_id, event_id, event_type, payload in cursor:
                headers = [
                    ("event_id", event_id.encode()),
                    ("event_type", event_type.encode()),
                    ("schema_version", b"2"),
                ]
                while True:
                    try:
                        producer.produce(
                            plan.topic,
                            key=wallet_id.encode(),
                            value=payload.encode(),
                            partition=partition,
                            headers=headers,
                            on_delivery=functools.partial(delivered, expected=offset),
                        )
                        break
                    except BufferError:
                        producer.poll(0.5)
                produced += 1
                if produced % 20_000 == 0:
                    producer.poll(0)
                    advance(done + produced)
                    if failed:
                        raise KafkaException(failed[0])
            producer.flush(120)
            advance(done + produced)
    if failed:
        raise KafkaException(failed[0])
    if mismatched:
        say(f"warning: {mismatched} events landed at another offset than the history records")
    return produced


def delete_topic(topic: str) -> None:
    from kafka_bridge.client import admin_client

    admin = admin_client()
    if topic in admin.list_topics(timeout=30).topics:
        for future in admin.delete_topics([topic], operation_timeout=60).values():
            future.result()
