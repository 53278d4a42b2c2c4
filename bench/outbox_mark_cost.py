"""What marking an outbox row published cost PostgreSQL, against two ways it could be done.

A historic measurement, kept runnable: it led to issue #21, and the relay now deletes each row once
Kafka acknowledged it (the `delete` variant; migration kafka_bridge 0003 dropped `published_at`).
It builds its own scratch tables in the old shape, so it does not depend on the model.

Why it was measured: the relay's `UPDATE ... SET published_at` was never a HOT update (the pending
rows' partial index named `published_at`), so each marked row wrote a new heap tuple and an entry
in every index (pk, `event_id`, `aggregateid`). This measures, on outbox-shaped scratch tables of
200,000 rows, the statement per row in batches of 20 as the relay marked them:

- `update_nonhot`: the table and statement before issue #21;
- `delete`: the row deleted once delivered (what issue #21 adopted);
- `update_hot_ff60`: no index naming `published_at` (pending rows found some other way) and
  fillfactor 60, so that most updates can be HOT.

Each variant runs twice, alternating, in a scratch database dropped at the end; then `VACUUM`'s
cost per row is timed too. Single client, so the numbers include one round trip per 20 rows.

    .venv/bin/python bench/outbox_mark_cost.py    (needs PostgreSQL: `scripts/stack up --infra`)
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

SCRATCH = "bench_outbox_mark"
ROWS = 200_000
BATCH = 20
BATCHES = 2_000
VARIANTS = {
    # name: (fillfactor, partial pending index, statement)
    "update_nonhot": (
        100,
        True,
        "UPDATE {t} SET published_at = now() WHERE id = ANY(%s) AND published_at IS NULL",
    ),
    "delete": (100, True, "DELETE FROM {t} WHERE id = ANY(%s) AND published_at IS NULL"),
    "update_hot_ff60": (60, False, "UPDATE {t} SET published_at = now() WHERE id = ANY(%s)"),
}
PAYLOAD = json.dumps(
    {
        "event_id": str(uuid.uuid4()),
        "event_type": "TRANSFER_OUT",
        "wallet_id": str(uuid.uuid4()),
        "user_id": "user-123",
        "currency": "USD",
        "amount": "0.0100",
        "balance_after": "99.1200",
        "wallet_version": 12345,
        "transaction_id": str(uuid.uuid4()),
        "counterparty_wallet_id": str(uuid.uuid4()),
        "counterparty_user_id": "user-456",
        "timestamp": "2026-11-26T07:00:00.000000Z",
        "schema_version": 2,
        "held_after": "0.0000",
    }
)


def create_table(conn: psycopg.Connection, name: str, fillfactor: int, pending_index: bool) -> None:
    table = sql.Identifier(name)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
    conn.execute(
        sql.SQL(
            """CREATE TABLE {} (id bigserial PRIMARY KEY, event_id uuid UNIQUE, aggregatetype varchar(64),
               aggregateid varchar(64), type varchar(64), payload jsonb, created_at timestamptz,
               published_at timestamptz, attempts int DEFAULT 0, last_error text DEFAULT '')
               WITH (fillfactor = {}, autovacuum_enabled = off)"""
        ).format(table, sql.Literal(fillfactor))
    )
    if pending_index:
        conn.execute(sql.SQL("CREATE INDEX ON {} (id) WHERE published_at IS NULL").format(table))
    conn.execute(sql.SQL("CREATE INDEX ON {} (aggregateid, id)").format(table))
    conn.execute(
        sql.SQL(
            """INSERT INTO {} (event_id, aggregatetype, aggregateid, type, payload, created_at)
               SELECT gen_random_uuid(), 'wallet', gen_random_uuid()::text, 'TRANSFER_OUT', %s::jsonb, now()
                 FROM generate_series(1, %s)"""
        ).format(table),
        [PAYLOAD, ROWS],
    )
    conn.execute(sql.SQL("VACUUM ANALYZE {}").format(table))


def mark_all(conn: psycopg.Connection, name: str, statement: str) -> tuple[float, float]:
    """Microseconds per row: the marking statement, then the VACUUM that cleans up after it."""
    query = sql.SQL(statement).format(t=sql.Identifier(name))
    spent = 0.0
    for batch in range(BATCHES):
        ids = list(range(batch * BATCH + 1, (batch + 1) * BATCH + 1))
        started = time.perf_counter()
        conn.execute(query, [ids])
        spent += time.perf_counter() - started
    started = time.perf_counter()
    conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(name)))
    vacuum = time.perf_counter() - started
    rows = BATCHES * BATCH
    return spent / rows * 1e6, vacuum / rows * 1e6


def connect(dbname: str) -> psycopg.Connection:
    """The project's PostgreSQL (its settings), database `dbname`."""
    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=dbname,
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        autocommit=True,
    )


def main() -> None:
    project_db = settings.DATABASES["default"]["NAME"]
    with connect(project_db) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(SCRATCH)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(SCRATCH)))
    try:
        with connect(SCRATCH) as conn:
            for _round in range(2):
                for name, (fillfactor, pending_index, statement) in VARIANTS.items():
                    create_table(conn, name, fillfactor, pending_index)
                    per_row, vacuum = mark_all(conn, name, statement)
                    print(f"{name:16s} {per_row:6.1f} us/row   vacuum {vacuum:4.1f} us/row", flush=True)
    finally:
        with connect(project_db) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(SCRATCH)))


if __name__ == "__main__":
    main()
