"""The two relays side by side in one run (issue #24): the Celery relay and Debezium's outbox router
on Kafka Connect, each publishing the same stack's outbox.

For each relay in turn the stack is switched to it (`RELAY=... scripts/stack up`, the app processes
restarted so they read the mode; `relay_setup` registers or removes the connector and slot), then:

- **events/s**: the relay is stopped (the Celery worker) or paused (the connector) while wrk makes a
  backlog of transfers, then let go; the rate is the events that reach the wallet topic from the
  first one to the last (Kafka's end offsets, polled every 20 ms), so a worker's start-up is not
  counted against it.
- **end-to-end lag** at half and at 80 % of the transfers/s a wrk probe reached in that mode:
  paced transfers over HTTP (`e2e_lag.paced_load`), lag = the history row's `recorded_at` minus the
  event's `occurred_at`, percentiles by PostgreSQL (`e2e_lag.lag_percentiles`).
- **CPU and memory** during the 80 % run: CPU seconds of the relay's own processes (the Celery
  worker; or the Connect JVM, PostgreSQL's walsender that decodes the WAL for it, and the Celery
  worker that still runs the cleaning sweeper), per 1,000 events and as cores, the whole machine's
  CPU per transfer, and the relay processes' proportional memory (PSS, the largest sample).

    .venv/bin/python bench/relays.py        (make bench-relays; leaves the stack on RELAY=celery)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import http_bench
from confluent_kafka import Consumer, TopicPartition
from django.conf import settings
from django.db import connection
from e2e_lag import lag_percentiles, paced_load
from memory import rss_of
from quiet import cores_busy_between, cpu_seconds_of, cpu_times, wait_for_quiet

from kafka_bridge import debezium
from kafka_bridge.client import base_config
from kafka_bridge.models import OutboxEvent

ROOT = http_bench.ROOT
STACK = ROOT / "scripts" / "stack"
RUN = ROOT / ".stack" / "run"
RELAYS = ("celery", "debezium")
APPS = ("web", "worker", "beat", "consumer")


def say(message: str) -> None:
    print(f"relays: {message}", flush=True)


def stack(relay: str, *args: str) -> None:
    subprocess.run([str(STACK), *args], check=True, cwd=ROOT, env={**os.environ, "RELAY": relay})


def switch_to(relay: str) -> None:
    """The stack on `relay`, its app processes started afresh in that mode."""
    say(f"switching the stack to RELAY={relay}")
    for service in APPS:
        stack(relay, "stop", service)
    stack(relay, "up")  # relay_setup: the connector registered, or deleted while Connect still answers
    if relay != "debezium":
        stack(relay, "stop", "connect")
        if wal_level() == "logical":
            # Left by RELAY=debezium (its slot is dropped now): the Celery relay is measured as it
            # runs by default, on wal_level=replica, which a restart in this mode gives.
            for service in (*APPS, "postgres"):
                stack(relay, "stop", service)
            connection.close()
            stack(relay, "up")
    connection.close()


def wal_level() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW wal_level")
        return str(cursor.fetchone()[0])


class TopicEnd:
    """The wallet topic's end offsets, summed over its partitions."""

    def __init__(self) -> None:
        self.consumer = Consumer({**base_config(), "group.id": "bench-relays", "enable.auto.commit": False})
        topic = settings.KAFKA_TOPIC
        partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        self.partitions = [TopicPartition(topic, p) for p in sorted(partitions)]

    def total(self) -> int:
        return sum(
            self.consumer.get_watermark_offsets(tp, timeout=5, cached=False)[1] for tp in self.partitions
        )

    def close(self) -> None:
        self.consumer.close()


def pgid(service: str) -> int | None:
    try:
        return int((RUN / f"{service}.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def relay_processes(relay: str) -> list[int]:
    """Pids of the relay's own processes: its process groups, and in debezium mode the walsender."""
    groups = {g for g in (pgid("worker"), pgid("connect") if relay == "debezium" else None) if g}
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[2]) in groups or (relay == "debezium" and b"walsender" in command):
            pids.append(int(stat.parent.name))
    return pids


def outbox_sequence() -> int:
    """The outbox's id sequence now: rows above it are the ones written from now on."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_value FROM pg_sequences WHERE sequencename = %s",
            [f"{OutboxEvent._meta.db_table}_id_seq"],
        )
        row = cursor.fetchone()
    return int(row[0] or 0) if row else 0


def hold(relay: str) -> None:
    if relay == "celery":
        stack(relay, "stop", "worker")
    else:
        debezium.connect_request("PUT", f"/connectors/{settings.DEBEZIUM_CONNECTOR}/pause")
        deadline = time.monotonic() + 30
        while debezium.connector_state().connector != "PAUSED":
            if time.monotonic() > deadline:
                raise RuntimeError("the connector did not pause")
            time.sleep(0.2)


def let_go(relay: str) -> None:
    if relay == "celery":
        threading.Thread(target=stack, args=(relay, "start", "worker"), daemon=True).start()
    else:
        debezium.connect_request("PUT", f"/connectors/{settings.DEBEZIUM_CONNECTOR}/resume")


def drain_rate(relay: str, ids_file: Path, token: str, hot: str, seconds: int) -> dict[str, Any]:
    """Events/s of the relay through a backlog made while it was held."""
    end = TopicEnd()
    try:
        hold(relay)
        before, written_above = end.total(), outbox_sequence()
        backlog_run = http_bench.run_wrk("transfer", 16, seconds, ids_file, token, hot)
        backlog = OutboxEvent.objects.filter(id__gt=written_above).count()
        say(f"{relay}: a backlog of {backlog} events, letting the relay go")
        let_go(relay)
        first_at = None
        first_total = before
        deadline = time.monotonic() + 600
        while True:
            now, total = time.monotonic(), end.total()
            if first_at is None and total > before:
                first_at, first_total = now, total
            if total - before >= backlog:
                break
            if now > deadline:
                raise RuntimeError(f"{relay}: {total - before} of {backlog} events after 10 minutes")
            time.sleep(0.02)
        assert first_at is not None
        seconds_taken = now - first_at
        counted = total - first_total
        return {
            "backlog_events": backlog,
            "backlog_transfers_per_s": backlog_run["rps"],
            "drain_s": round(seconds_taken, 2),
            "events_per_s": round(counted / seconds_taken) if seconds_taken > 0 else None,
        }
    finally:
        end.close()
        connection.close()


def lag_under_load(
    relay: str, ids: list[str], token: str, rate: float, duration: int, settle: int
) -> dict[str, Any]:
    """Paced transfers at `rate`; lag percentiles, and what the relay cost meanwhile (its CPU and
    memory are those of the processes it had when the run started)."""
    pids = relay_processes(relay)
    memory_peak = [0]
    stop = threading.Event()

    def sample_memory() -> None:
        while not stop.is_set():
            memory_peak[0] = max(memory_peak[0], sum(rss_of(pid) for pid in pids))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()
    relay_before, machine_before = cpu_seconds_of(pids), cpu_times()
    since = datetime.now(UTC)
    counts = paced_load(ids, token, rate, duration, threads=16)
    until = datetime.now(UTC)
    relay_cpu, machine_after = cpu_seconds_of(pids) - relay_before, cpu_times()
    stop.set()
    sampler.join()
    time.sleep(settle)
    lag = lag_percentiles(since, until)
    connection.close()
    events = lag["events"] or 1
    busy = cores_busy_between(machine_before, machine_after)
    return {
        "target_transfers_per_s": round(rate, 1),
        "achieved_transfers_per_s": round(counts["ok"] / duration, 1),
        "failed": counts["failed"],
        "events": lag["events"],
        "p50_ms": lag["p50_ms"],
        "p99_ms": lag["p99_ms"],
        "max_ms": lag["max_ms"],
        "relay_cpu_s": round(relay_cpu, 2),
        "relay_cpu_ms_per_1000_events": round(relay_cpu / events * 1e6, 1),
        "relay_cores": round(relay_cpu / duration, 3),
        "machine_cpu_ms_per_transfer": round(busy * duration / max(counts["ok"], 1) * 1000, 2),
        "relay_memory_mib": round(memory_peak[0] / 2**20),
    }


def measure(relay: str, args: argparse.Namespace) -> dict[str, Any]:
    switch_to(relay)
    token = http_bench.owner_token()
    ids_file = http_bench.prepare_wallets(1000)
    ids = ids_file.read_text().split()
    http_bench.run_wrk("transfer", 16, args.warmup, ids_file, token, ids[0])  # JIT, caches, pools
    probe = http_bench.run_wrk("transfer", 16, args.duration, ids_file, token, ids[0])
    say(f"{relay}: {probe['rps']} transfers/s at 16 clients")
    result: dict[str, Any] = {"wal_level": wal_level(), "max_transfers_per_s": probe["rps"]}
    # The paced runs first: after the backlog's burst, autovacuum and the history's catch-up would
    # weigh on the first of them (seen: a p99 at half load twice the one at 80 %).
    for share in (0.5, 0.8):
        wait_for_quiet(say)
        result[f"load_{int(share * 100)}"] = lag_under_load(
            relay, ids, token, probe["rps"] * share, args.lag_duration, args.settle
        )
        say(f"{relay} at {share:.0%}: {result[f'load_{int(share * 100)}']}")
    result["drain"] = drain_rate(relay, ids_file, token, ids[0], args.backlog_seconds)
    say(f"{relay}: {result['drain']}")
    return result


def report(results: dict[str, Any]) -> str:
    lines = [
        "| relay | events/s (backlog) | transfers/s probe | load | lag p50 ms | p99 ms"
        " | relay CPU ms / 1,000 events | relay cores | machine CPU ms / transfer | relay memory MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for relay, r in results.items():
        for key, name in (("load_50", "50 %"), ("load_80", "80 %")):
            load = r[key]
            lines.append(
                f"| {relay} | {r['drain']['events_per_s']:,} ({r['drain']['backlog_events']:,}) "
                f"| {r['max_transfers_per_s']} | {name}: {load['achieved_transfers_per_s']}/s "
                f"| {load['p50_ms']} | {load['p99_ms']} | {load['relay_cpu_ms_per_1000_events']} "
                f"| {load['relay_cores']} | {load['machine_cpu_ms_per_transfer']} "
                f"| {load['relay_memory_mib']} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--relays", default=",".join(RELAYS))
    parser.add_argument("--warmup", type=int, default=15, help="seconds of discarded transfers per relay")
    parser.add_argument("--duration", type=int, default=10, help="seconds of the wrk probe")
    parser.add_argument("--backlog-seconds", type=int, default=15, help="seconds of wrk making the backlog")
    parser.add_argument("--lag-duration", type=int, default=30, help="seconds of each paced run")
    parser.add_argument("--settle", type=int, default=10, help="seconds for the history to catch up")
    parser.add_argument("--out", default=str(http_bench.RESULTS / "relays"))
    args = parser.parse_args()
    results: dict[str, Any] = {}
    try:
        for relay in args.relays.split(","):
            results[relay] = measure(relay, args)
    finally:
        if "debezium" in args.relays:
            switch_to("celery")  # the stack's default again: no connector, no slot keeping WAL
    http_bench.write_results(
        args.out, {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"), **results}, report(results)
    )


if __name__ == "__main__":
    main()
