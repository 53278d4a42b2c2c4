"""Outbox relay benchmark: publish throughput, and what the on-commit enqueue adds to a request.

Why both: the relay must keep up with the API (events/s it can move to Kafka), and scheduling it
must not slow the API down (performance.md: a Celery `delay()` per commit costs ~0.5 ms of request
CPU; the coalescing flag is meant to avoid that).

1. Throughput: N pending rows are written straight into a scratch database, then drained to a
   scratch topic by the relay in this process (real Kafka, acks=all, idempotent), per batch size.
   The topic's offsets are checked to hold exactly N more messages afterwards.
2. Enqueue cost: real transfers (`services.transfer_create`, one commit each) from several threads,
   with the on-commit hook (a) removed, (b) as shipped (coalesced by a Redis flag, skipped while a
   running task's promise covers the commit), (c) the flag asked on every commit (the previous
   release's hook), (d) a `delay()` per commit. A real Celery worker drains the scratch queue
   meanwhile, so the flag is cleared, set again and promised as in production. Reported: wall
   time and process CPU per commit, and the hook's cost as the difference to (a). Variants
   alternate over several rounds; medians are shown.

Everything runs in a scratch database (`bench_outbox`), topic and queue, dropped at the end: the
relay publishes every pending row of its database, so it must never run against the real one.

    .venv/bin/python bench/outbox_publish.py [--events 20000] [--commits 2000] [--threads 4]
    (needs PostgreSQL, Redis and Kafka: `scripts/stack up --infra`; results in bench/results/outbox.md)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")

import django  # noqa: E402
import redis  # noqa: E402

django.setup()

from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402

from common.postgresql.url import database_url  # noqa: E402
from kafka_bridge import outbox  # noqa: E402
from kafka_bridge.client import ensure_topics  # noqa: E402
from kafka_bridge.models import OutboxEvent  # noqa: E402
from kafka_bridge.publisher import publish_pending  # noqa: E402
from kafka_bridge.tasks import publish_outbox, request_publish, schedule_publish  # noqa: E402
from wallets import services  # noqa: E402

RESULTS = ROOT / "bench" / "results"
WORK = ROOT / ".stack" / "bench"
BENCH_DB = "bench_outbox"

FILL_SQL = f"""
    WITH wallets AS MATERIALIZED (
        SELECT n, gen_random_uuid() AS id FROM generate_series(0, %s - 1) AS n
    ), events AS MATERIALIZED (
        SELECT g, gen_random_uuid() AS id FROM generate_series(0, %s - 1) AS g
    )
    INSERT INTO {OutboxEvent._meta.db_table}
        (event_id, aggregatetype, aggregateid, type, payload, created_at, attempts, last_error)
    SELECT e.id, 'wallet', w.id::text, 'TRANSFER_OUT',
           jsonb_build_object(
               'event_id', e.id::text, 'event_type', 'TRANSFER_OUT', 'schema_version', 1,
               'occurred_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               'wallet_id', w.id::text, 'user_id', 'bench-user', 'currency', 'USD',
               'amount', '30.0000', 'balance_after', '70.0000', 'wallet_version', e.g / %s,
               'transaction_id', gen_random_uuid()::text,
               'counterparty_wallet_id', gen_random_uuid()::text, 'counterparty_user_id', 'bench-peer'),
           now(), 0, ''
      FROM events AS e JOIN wallets AS w ON w.n = e.g %% %s
     ORDER BY e.g
"""  # noqa: S608 -- the table name comes from model metadata


def use_scratch_database() -> str:
    """Create and migrate the scratch database and switch this process to it; returns the old name."""
    connection.settings_dict["TEST"]["NAME"] = BENCH_DB
    old_name: str = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    return old_name


def topic_size(topic: str) -> int:
    consumer = Consumer(
        {"bootstrap.servers": settings.KAFKA_BROKERS, "group.id": f"bench-{uuid.uuid4().hex}"}
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions
        )
    finally:
        consumer.close()


def throughput(events: int, batch_sizes: list[int], wallets: int) -> list[dict[str, Any]]:
    rows = []
    for batch in batch_sizes:
        OutboxEvent.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(FILL_SQL, [wallets, events, wallets, wallets])
        before = topic_size(settings.KAFKA_TOPIC)
        started = time.perf_counter()
        cpu = time.process_time()
        result = publish_pending(batch_size=batch, time_budget=3600)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        added = topic_size(settings.KAFKA_TOPIC) - before
        assert result.published == events == added, (result, added)
        rows.append(
            {
                "batch_size": batch,
                "events": events,
                "seconds": round(elapsed, 3),
                "events_per_s": round(events / elapsed),
                "relay_cpu_us_per_event": round(cpu / events * 1e6, 1),
            }
        )
        print(f"  batch {batch:>5}: {events / elapsed:>8.0f} events/s", flush=True)
    return rows


class Worker:
    """A real `celery worker` on the scratch queue, database and topic (beat embedded: the sweeper)."""

    def __init__(self, queue: str, *, lingers: bool) -> None:
        self.queue = queue
        WORK.mkdir(parents=True, exist_ok=True)
        self.log = WORK / "outbox-worker.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "KAFKA_TOPIC": settings.KAFKA_TOPIC,
            "OUTBOX_TASK_QUEUE": queue,
            # A lingering task (production's) would make the delay()-per-commit variant (thousands
            # of tasks) take an hour: that variant gets a worker whose tasks only drain.
            **({} if lingers else {"OUTBOX_LINGER_SECONDS": "0"}),
            "PYTHONUNBUFFERED": "1",
        }
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    str(ROOT / ".venv" / "bin" / "celery"),
                    "-A",
                    "walletproject",
                    "worker",
                    "-B",
                    "--schedule",
                    str(WORK / "outbox-beat-schedule"),
                    "-Q",
                    queue,
                    "--hostname",
                    f"{queue}@%h",
                    "--concurrency",
                    "2",
                    "--loglevel",
                    "INFO",
                    "--without-gossip",
                    "--without-mingle",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while b"ready." not in self.log.read_bytes():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"the Celery worker did not start; see {self.log}")
            time.sleep(0.2)

    def tasks_received(self) -> int:
        return len(
            re.findall(
                r"kafka_bridge\.publish_outbox\[[^\]]+\] received", self.log.read_text(errors="replace")
            )
        )

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the worker has taken every queued task (so that its log counts them)."""
        broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        deadline = time.monotonic() + timeout
        while broker.llen(self.queue) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


def set_hook(hook: Callable[[], None]) -> None:
    """What the outbox registers with `transaction.on_commit` (looked up at each commit)."""
    vars(outbox)["schedule_publish"] = hook


def run_commits(wallet_ids: list[uuid.UUID], commits: int, threads: int) -> tuple[float, float]:
    """`commits` transfers from `threads` threads; returns (wall seconds, process CPU seconds)."""
    per_thread = commits // threads
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            barrier.wait()
            for n in range(per_thread):
                # Disjoint wallet pairs per thread: measures the hook, not lock waits.
                a = wallet_ids[(offset * 2) % len(wallet_ids)]
                b = wallet_ids[(offset * 2 + 1) % len(wallet_ids)]
                if n % 2:
                    a, b = b, a
                services.transfer_create(
                    from_wallet_id=a, to_wallet_id=b, amount=Decimal("0.01"), initiated_by="bench"
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started, cpu = time.perf_counter(), time.process_time()
    for thread in pool:
        thread.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if errors:
        raise errors[0]
    return elapsed, cpu


def enqueue_cost(commits: int, threads: int, rounds: int, queue: str) -> list[dict[str, Any]]:
    wallet_ids = []
    for n in range(threads * 2):
        wallet = services.wallet_create(user_id=f"bench-{n}")
        services.wallet_fund(wallet_id=wallet.id, amount=Decimal("1000000"), initiated_by="bench")
        wallet_ids.append(wallet.id)

    def naive_delay() -> None:
        publish_outbox.apply_async(queue=settings.OUTBOX_TASK_QUEUE)

    def no_hook() -> None:
        return None

    # Each variant with the worker it needs: production's (tasks linger and promise) or, for
    # delay() per commit, one whose tasks only drain.
    variants: dict[str, tuple[Callable[[], None], bool]] = {
        "no hook": (no_hook, True),
        "coalesced hook with the relay's promise (shipped)": (schedule_publish, True),
        "coalesced hook, Redis asked on every commit": (request_publish, True),
        "delay() per commit": (naive_delay, False),
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    tasks: dict[str, int] = dict.fromkeys(variants, 0)
    try:
        for round_number in range(rounds):
            for lingers in (True, False):
                worker = Worker(queue, lingers=lingers)
                try:
                    if round_number == 0 and lingers:
                        run_commits(wallet_ids, commits // 4, threads)  # warm-up: connections, caches
                    for name, (hook, needs_lingering) in variants.items():
                        if needs_lingering != lingers:
                            continue
                        set_hook(hook)
                        received = worker.tasks_received()
                        samples[name].append(run_commits(wallet_ids, commits, threads))
                        worker.settle()
                        tasks[name] += worker.tasks_received() - received
                finally:
                    worker.stop()
    finally:
        set_hook(schedule_publish)

    base_wall = statistics.median(wall for wall, _ in samples["no hook"]) / commits
    base_cpu = statistics.median(cpu for _, cpu in samples["no hook"]) / commits
    rows = []
    for name in variants:
        wall = statistics.median(w for w, _ in samples[name]) / commits
        cpu = statistics.median(c for _, c in samples[name]) / commits
        rows.append(
            {
                "variant": name,
                "commits_per_s": round(1 / wall),
                "wall_ms_per_commit": round(wall * 1000, 3),
                "cpu_ms_per_commit": round(cpu * 1000, 3),
                "added_wall_ms": round((wall - base_wall) * 1000, 3),
                "added_cpu_ms": round((cpu - base_cpu) * 1000, 3),
                "tasks_per_1000_commits": round(tasks[name] / (commits * rounds) * 1000, 1),
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(row[k]) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=20_000, help="rows drained per batch size")
    parser.add_argument("--batch-sizes", default="100,500,2000")
    parser.add_argument("--wallets", type=int, default=200, help="distinct keys among the rows")
    parser.add_argument("--commits", type=int, default=2_000, help="transfers per variant and round")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    suffix = uuid.uuid4().hex[:8]
    settings.KAFKA_TOPIC = f"bench-outbox-{suffix}"
    settings.KAFKA_DLQ_TOPIC = f"{settings.KAFKA_TOPIC}.dlq"
    settings.OUTBOX_TASK_QUEUE = f"bench-outbox-{suffix}"
    old_name = use_scratch_database()
    try:
        ensure_topics(timeout=30)
        print(f"throughput: {args.events} events per run, topic {settings.KAFKA_TOPIC}", flush=True)
        publish = throughput(args.events, [int(b) for b in args.batch_sizes.split(",")], args.wallets)
        print(
            f"enqueue cost: {args.commits} commits x {args.rounds} rounds, {args.threads} threads", flush=True
        )
        enqueue = enqueue_cost(args.commits, args.threads, args.rounds, settings.OUTBOX_TASK_QUEUE)
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        admin = AdminClient({"bootstrap.servers": settings.KAFKA_BROKERS})
        for future in admin.delete_topics([settings.KAFKA_TOPIC, settings.KAFKA_DLQ_TOPIC]).values():
            future.result(timeout=30)

    report = (
        f"## Outbox relay ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs)\n\n"
        f"Publish throughput ({args.events} events, {args.wallets} wallets, one relay, real Kafka):\n\n"
        f"{table(publish)}\n\n"
        f"On-commit enqueue cost ({args.commits} transfers x {args.rounds} rounds, {args.threads} threads, "
        "medians; `added` = difference to no hook):\n\n"
        f"{table(enqueue)}\n"
    )
    print("\n" + report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "outbox.md").write_text(report)
    (RESULTS / "outbox.json").write_text(
        json.dumps({"publish": publish, "enqueue": enqueue}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
