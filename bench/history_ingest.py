"""History ingestion benchmark: `consume_events` events/s next to a bare confluent-kafka consumer.

Why the comparison: the bare consumer's rate is what Kafka and librdkafka deliver to Python on this
machine; the history consumer's rate is that plus decoding, validating, the bulk insert with
`ON CONFLICT`, gap detection and the synchronous offset commit after each database commit. Their
ratio says how much of the budget the history service itself spends (target: >= 5,000 events/s and
>= 0.5 of bare).

1. N valid events (W wallets, each created then funded; payloads from `wallets.events.WalletEvent`,
   keyed by wallet id as the relay publishes them) are produced to a scratch topic.
2. Bare: a consumer in a fresh group subscribes and reads all N messages with the same
   `consume(num_messages=batch)` loop, doing nothing with them. Timed from subscribe to the last one.
3. History: `manage.py consume_events --max-messages N` (called in this process, so start-up of
   Python and Django is not counted) in another fresh group, into a scratch database
   (`bench_history`). Timed from the call to its return (group join and final commit included, as
   for the bare consumer's join). The history table is checked to hold exactly N rows afterwards.
4. PostgreSQL alone: the same rows inserted again by one `INSERT ... SELECT` from a staging table,
   the history table's own ceiling here (indexes, JSONB, `ON CONFLICT`; no Kafka, no Python).
Each is run `--rounds` times, alternating, and the median is reported.

    .venv/bin/python bench/history_ingest.py [--events 50000] [--batch-size 1000] [--rounds 3]
    (needs PostgreSQL and Kafka: `scripts/stack up --infra`; results in bench/results/history_ingest.md)
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")

import django  # noqa: E402

django.setup()

from confluent_kafka import Consumer, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from history.models import HistoryEvent  # noqa: E402
from wallets.events import WalletEvent  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BENCH_DB = "bench_history"
EVENTS_PER_WALLET = 50


def payloads(events: int) -> list[dict[str, Any]]:
    """`events` valid payloads, in version order per wallet: created, then funded again and again."""
    now = datetime.now(UTC)
    result: list[dict[str, Any]] = []
    wallets = max(1, events // EVENTS_PER_WALLET)
    for w in range(wallets):
        wallet_id, balance = uuid.uuid4(), Decimal(0)
        count = EVENTS_PER_WALLET if w < wallets - 1 else events - len(result)
        for version in range(count):
            amount = Decimal(0) if version == 0 else Decimal("12.3400")
            balance += amount
            event = WalletEvent(
                event_type="WALLET_CREATED" if version == 0 else "WALLET_FUNDED",
                occurred_at=now,
                wallet_id=wallet_id,
                user_id=f"bench-user-{w % 500}",
                currency="USD",
                amount=amount,
                balance_after=balance,
                wallet_version=version,
                transaction_id=None if version == 0 else uuid.uuid4(),
            )
            result.append(event.payload(uuid.uuid4()))
    return result


def produce(topic: str, events: list[dict[str, Any]]) -> float:
    producer = Producer(
        {"bootstrap.servers": settings.KAFKA_BROKERS, "enable.idempotence": True, "linger.ms": 20}
    )
    started = time.perf_counter()
    for n, payload in enumerate(events):
        while True:
            try:
                producer.produce(
                    topic,
                    key=payload["wallet_id"].encode(),
                    value=json.dumps(payload, separators=(",", ":")).encode(),
                    headers=[
                        ("event_id", payload["event_id"].encode()),
                        ("event_type", payload["event_type"].encode()),
                        ("schema_version", b"1"),
                    ],
                )
                break
            except BufferError:
                producer.poll(0.1)
        if n % 1000 == 0:
            producer.poll(0)
    if producer.flush(60) != 0:
        raise SystemExit("Kafka did not acknowledge every benchmark message")
    return time.perf_counter() - started


def bare(topic: str, events: int, batch: int) -> float:
    """Seconds a plain consumer takes to read every message (subscribe included)."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BROKERS,
            "group.id": f"bench-bare-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    read = 0
    started = time.perf_counter()
    consumer.subscribe([topic])
    try:
        while read < events:
            for message in consumer.consume(num_messages=batch, timeout=1.0):
                if message.error() is None:
                    read += 1
            if time.perf_counter() - started > 600:
                raise SystemExit(f"bare consumer read {read} of {events} in 600 s")
        return time.perf_counter() - started
    finally:
        consumer.close()


def history(topic: str, events: int, batch: int) -> float:
    """Seconds `consume_events` takes to store every event (a fresh group and an empty table)."""
    HistoryEvent.objects.all().delete()
    started = time.perf_counter()
    call_command(
        "consume_events",
        "--topic",
        topic,
        "--group",
        f"bench-history-{uuid.uuid4().hex[:8]}",
        "--max-messages",
        str(events),
        "--batch-size",
        str(batch),
        stdout=io.StringIO(),
    )
    elapsed = time.perf_counter() - started
    stored = HistoryEvent.objects.count()
    if stored != events:
        raise SystemExit(f"consume_events stored {stored} of {events} events")
    return elapsed


def database_only() -> float:
    """Seconds PostgreSQL alone takes to insert the rows `consume_events` just stored, as one
    `INSERT ... SELECT` from a staging table: the history table's own ceiling on this machine
    (same indexes, JSONB parsing and `ON CONFLICT`, every column the consumer writes), without
    Kafka or Python in the way."""
    table = HistoryEvent._meta.db_table
    columns = (
        "event_id, event_type, wallet_id, user_id, currency, amount, balance_after, wallet_version, "
        "transaction_id, counterparty_wallet_id, counterparty_user_id, occurred_at, "
        'topic, "partition", "offset", schema_version, held_after, hold_id, reverses_transaction_id, '
        "description, leg_index"
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_staging")
        cursor.execute(
            f"CREATE UNLOGGED TABLE bench_staging AS SELECT {columns}, payload::text AS payload, "  # noqa: S608
            f"metadata::text AS metadata FROM {table}"
        )
        cursor.execute(f"TRUNCATE {table}")
        started = time.perf_counter()
        cursor.execute(
            f"INSERT INTO {table} ({columns}, payload, metadata, recorded_at) "  # noqa: S608
            f"SELECT {columns}, payload::jsonb, metadata::jsonb, now() FROM bench_staging "
            "ON CONFLICT DO NOTHING"
        )
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_staging")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    suffix = uuid.uuid4().hex[:8]
    topic, dlq = f"bench-history-{suffix}", f"bench-history-{suffix}.dlq"
    admin = AdminClient({"bootstrap.servers": settings.KAFKA_BROKERS})
    for future in admin.create_topics(
        [NewTopic(topic, num_partitions=args.partitions, replication_factor=1), NewTopic(dlq, 1, 1)]
    ).values():
        future.result(timeout=30)
    settings.KAFKA_DLQ_TOPIC = dlq
    connection.settings_dict["TEST"]["NAME"] = BENCH_DB
    old_name: str = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        produce_seconds = produce(topic, payloads(args.events))
        print(
            f"produced {args.events} events to {topic} ({args.partitions} partitions), {produce_seconds:.1f}s"
        )
        bare_runs, history_runs, database_runs = [], [], []
        for n in range(args.rounds):
            bare_runs.append(args.events / bare(topic, args.events, args.batch_size))
            history_runs.append(args.events / history(topic, args.events, args.batch_size))
            database_runs.append(args.events / database_only())
            print(
                f"round {n + 1}: bare {bare_runs[-1]:,.0f} events/s, consume_events {history_runs[-1]:,.0f}, "
                f"PostgreSQL alone {database_runs[-1]:,.0f}"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        for future in admin.delete_topics([topic, dlq], operation_timeout=30).values():
            future.result(timeout=30)

    bare_rate, history_rate = statistics.median(bare_runs), statistics.median(history_runs)
    database_rate = statistics.median(database_runs)
    ratio = history_rate / bare_rate
    verdict = (
        f"target >= 5,000 events/s: {'met' if history_rate >= 5000 else 'MISSED'}; "
        f"target >= 0.5 of bare: {'met' if ratio >= 0.5 else 'MISSED'}"
    )
    command = (
        f".venv/bin/python bench/history_ingest.py --events {args.events} --batch-size {args.batch_size}"
    )
    report = "\n".join(
        [
            "# History ingestion",
            "",
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, PostgreSQL and Kafka on the same machine,",
            f"{args.events:,} events on {args.partitions} partitions, batch {args.batch_size}, "
            f"median of {args.rounds} rounds. `{command}`",
            "",
            "| consumer | events/s |",
            "|---|---|",
            f"| bare confluent-kafka (read only) | {bare_rate:,.0f} |",
            f"| `consume_events` (decode, validate, bulk insert, commit) | {history_rate:,.0f} |",
            f"| ratio consume_events / bare | {ratio:.2f} |",
            f"| PostgreSQL alone: the same rows in one `INSERT ... SELECT` (the table's ceiling) | "
            f"{database_rate:,.0f} |",
            f"| ratio consume_events / PostgreSQL alone | {history_rate / database_rate:.2f} |",
            "",
            verdict,
            "",
        ]
    )
    print()
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "history_ingest.md").write_text(report)
    (RESULTS / "history_ingest.json").write_text(
        json.dumps(
            {
                "events": args.events,
                "partitions": args.partitions,
                "batch_size": args.batch_size,
                "bare_events_per_second": round(bare_rate),
                "history_events_per_second": round(history_rate),
                "ratio": round(ratio, 3),
                "database_only_events_per_second": round(database_rate),
                "database_rounds": [round(r) for r in database_runs],
                "bare_rounds": [round(r) for r in bare_runs],
                "history_rounds": [round(r) for r in history_runs],
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
