"""The two relays side by side in one run (issue #24): the Celery relay and Debezium's outbox router
on Kafka Connect, each publishing the same stack's outbox.

For each relay in turn, on a stack running that relay (below), with its own `relay_setup`:

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
- **commit to Kafka** in those runs: when a consumer tailing the topic receives each transfer event,
  minus its `occurred_at` (`bench/kafka_arrivals.py`, a process of its own); and **to producer**,
  the part of it until the relay handed the event to its producer (the message's CreateTime).
- **idle CPU**: the relay's processes over `--idle-seconds` with no traffic.

Before and after (issue #37: the relay woken on commit, the consumer's batches, Debezium's poll
interval): with `--before REF` each relay is measured twice in the run, first with the relay and
history consumer of commit REF (a git worktree in `.stack/relay-before/src`: its Celery worker and
consumer run from there in place of the stack's, the outbox's wake-up trigger dropped meanwhile;
for Debezium its poll interval `--before-poll-ms`), then with this checkout's.

Where: each relay on a stack of its own that this script starts next to the shared one and stops at
the end (`--on own`, the default), so that no one else's restart, benchmark or test touches its
processes, and no one else's work lands in its queue or topic: `.stack/relay-celery` (a database of
its own on the shared PostgreSQL, web on 3300, Redis database 8) and `.stack/relay-debezium` (its
own PostgreSQL with `wal_level=logical` on 5444, since switching the shared server would restart
it under everyone else's connections, Connect on 8095, web on 3200, Redis database 7); topics and
consumer group of their own. The script runs itself again inside that stack's environment
(`--on inside`). `--on shared` measures the shared stack, switching it between relays
(`RELAY=... scripts/stack up`) as before.

    .venv/bin/python bench/relays.py --before e3037f2      (make bench-relays)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
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
from django.db import OperationalError, connection, transaction
from e2e_lag import KafkaArrivals, lag_percentiles, paced_load
from memory import rss_of
from quiet import cores_busy_between, cpu_seconds_of, cpu_times, wait_for_quiet
from worktrees import checkout

from kafka_bridge import debezium
from kafka_bridge.client import base_config
from kafka_bridge.models import OutboxEvent

ROOT = http_bench.ROOT
STACK = ROOT / "scripts" / "stack"
STACK_DIR = Path(os.environ.get("STACK_DIR", str(ROOT / ".stack")))
RUN = STACK_DIR / "run"
BEFORE = ROOT / ".stack" / "relay-before"
RELAYS = ("celery", "debezium")
APPS = ("web", "worker", "beat", "consumer")
WAKE_SQL = ROOT / "kafka_bridge" / "sql"
VENV_BIN = ROOT / ".venv" / "bin"


def own_env(relay: str) -> dict[str, str]:
    """The environment of the stack of its own this script starts for `relay` next to the shared
    one: its own app processes, Redis database, topics and group; for Debezium its own PostgreSQL
    (wal_level=logical) and Connect worker, for Celery a database of its own on the shared server."""
    debezium_mode = relay == "debezium"
    return {
        **os.environ,
        "STACK_DIR": str(ROOT / ".stack" / f"relay-{relay}"),
        "RELAY": relay,
        "DATABASE_URL": "postgres://wallet:wallet@127.0.0.1:5444/wallet"
        if debezium_mode
        else "postgres://wallet:wallet@127.0.0.1:5432/relay_bench_celery",
        "CONNECT_PORT": "8095",
        "CONNECT_GROUP_ID": "wallet-connect-relay-bench",
        "PORT": "3200" if debezium_mode else "3300",
        "HISTORY_PORT": "3201" if debezium_mode else "3301",
        "REDIS_URL": f"redis://127.0.0.1:6379/{7 if debezium_mode else 8}",
        "CACHE_KEY_PREFIX": f"relay-bench-{relay}",
        "KAFKA_TOPIC": f"relay-bench-{relay}-wallet-events",
        "KAFKA_DLQ_TOPIC": f"relay-bench-{relay}-wallet-events.dlq",
        "KAFKA_APPROVALS_TOPIC": f"relay-bench-{relay}-approvals",
        "KAFKA_GROUP_ID": f"relay-bench-{relay}-history",
        "WEBHOOKS": "off",
        "DJANGO_SETTINGS_MODULE": "walletproject.settings",
    }


def start_own_stack(relay: str, env: dict[str, str]) -> None:
    say(f"starting a stack of its own for {relay} ({env['STACK_DIR']})")
    python = str(VENV_BIN / "python")
    if relay == "debezium":
        subprocess.run([str(STACK), "start", "postgres"], check=True, cwd=ROOT, env=env)
    else:
        import psycopg

        with psycopg.connect(
            "postgres://wallet:wallet@127.0.0.1:5432/postgres", autocommit=True
        ) as admin:  # the shared server: a database of its own
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = 'relay_bench_celery'").fetchone():
                admin.execute("CREATE DATABASE relay_bench_celery OWNER wallet")
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v", "0"], check=True, cwd=ROOT, env=env)
    subprocess.run([python, "manage.py", "kafka_setup"], check=True, cwd=ROOT, env=env)
    if relay == "debezium":
        subprocess.run([str(STACK), "start", "connect"], check=True, cwd=ROOT, env=env)
        subprocess.run([python, "manage.py", "relay_setup"], check=True, cwd=ROOT, env=env)
    for service in APPS:
        subprocess.run([str(STACK), "start", service], check=True, cwd=ROOT, env=env)


def stop_own_stack(relay: str, env: dict[str, str]) -> None:
    for service in (*reversed(APPS), *(("connect", "postgres") if relay == "debezium" else ())):
        subprocess.run([str(STACK), "stop", service], check=False, cwd=ROOT, env=env)


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


def relay_processes(relay: str, code: Code) -> list[int]:
    """Pids of the relay's own processes: its process groups, and in debezium mode the walsender."""
    groups = {g for g in (code.worker_group(), pgid("connect") if relay == "debezium" else None) if g}
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


def hold(relay: str, code: Code) -> None:
    if relay == "celery":
        code.stop_worker()
    else:
        debezium.connect_request("PUT", f"/connectors/{settings.DEBEZIUM_CONNECTOR}/pause")
        deadline = time.monotonic() + 30
        while debezium.connector_state().connector != "PAUSED":
            if time.monotonic() > deadline:
                raise RuntimeError("the connector did not pause")
            time.sleep(0.2)


def let_go(relay: str, code: Code) -> None:
    if relay == "celery":
        threading.Thread(target=code.start_worker, daemon=True).start()
    else:
        debezium.connect_request("PUT", f"/connectors/{settings.DEBEZIUM_CONNECTOR}/resume")


def drain_rate(relay: str, code: Code, ids_file: Path, token: str, hot: str, seconds: int) -> dict[str, Any]:
    """Events/s of the relay through a backlog made while it was held."""
    end = TopicEnd()
    try:
        hold(relay, code)
        before, written_above = end.total(), outbox_sequence()
        backlog_run = http_bench.run_wrk("transfer", 16, seconds, ids_file, token, hot, **web())
        backlog = OutboxEvent.objects.filter(id__gt=written_above).count()
        say(f"{relay}: a backlog of {backlog} events, letting the relay go")
        let_go(relay, code)
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
    relay: str, code: Code, ids: list[str], token: str, rate: float, duration: int, settle: int
) -> dict[str, Any]:
    """Paced transfers at `rate`; lag percentiles (to Kafka and to the history), and what the relay
    cost meanwhile (its CPU and memory are those of the processes it had when the run started)."""
    pids = relay_processes(relay, code)
    memory_peak = [0]
    stop = threading.Event()

    def sample_memory() -> None:
        while not stop.is_set():
            memory_peak[0] = max(memory_peak[0], sum(rss_of(pid) for pid in pids))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()
    arrivals = KafkaArrivals()
    relay_before, machine_before = cpu_seconds_of(pids), cpu_times()
    since = datetime.now(UTC)
    counts = paced_load(ids, token, rate, duration, threads=16)
    until = datetime.now(UTC)
    relay_cpu, machine_after = cpu_seconds_of(pids) - relay_before, cpu_times()
    stop.set()
    sampler.join()
    time.sleep(settle)
    kafka = arrivals.result(since, until)
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
        "kafka_events": kafka["events"],
        "kafka_p50_ms": kafka["p50_ms"],
        "kafka_p99_ms": kafka["p99_ms"],
        "kafka_max_ms": kafka["max_ms"],
        "to_producer_p50_ms": kafka["to_producer"]["p50_ms"],
        "to_producer_p99_ms": kafka["to_producer"]["p99_ms"],
        "relay_cpu_s": round(relay_cpu, 2),
        "relay_cpu_ms_per_1000_events": round(relay_cpu / events * 1e6, 1),
        "relay_cores": round(relay_cpu / duration, 3),
        "machine_cpu_ms_per_transfer": round(busy * duration / max(counts["ok"], 1) * 1000, 2),
        "relay_memory_mib": round(memory_peak[0] / 2**20),
    }


QUIET_TIMEOUT = [60.0]  # --quiet-timeout: the machine is shared; a busy one is measured anyway


def web() -> dict[str, Any]:
    """wrk's target: this process's stack's web server (the shared one, or a stack of its own),
    after waiting (at most --quiet-timeout) for a quiet machine."""
    wait_for_quiet(say, timeout=QUIET_TIMEOUT[0])
    return {"base_url": f"http://127.0.0.1:{settings.PORT}", "server_pgid": pgid("web"), "wait_quiet": False}


def worktree(ref: str) -> Path:
    """Commit `ref`'s code in `.stack/relay-before/src` (made, or moved to `ref`)."""
    return checkout(ref, BEFORE / "src")


def set_wake_trigger(present: bool, attempts: int = 12) -> None:
    """The outbox's wake-up trigger (migration kafka_bridge 0004) on or off: the previous code ran
    without it. Its DDL waits for every other lock on the outbox; a connector just started may hold
    one through its snapshot for longer than the lock timeout (seen once), so it tries again."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute((WAKE_SQL / "outbox_wake_reverse.sql").read_text())
                if present:
                    cursor.execute((WAKE_SQL / "outbox_wake.sql").read_text())
            break
        except OperationalError as error:  # the lock timeout (LockNotAvailable)
            if attempt == attempts:
                raise
            say(f"the outbox's wake-up trigger: {error}; again in 5 s")
            time.sleep(5)
    connection.close()


class Code:
    """One side's relay and history consumer: this checkout's (the stack's own processes) or the
    previous commit's (processes of this script's, from the worktree, in the stack's place)."""

    def __init__(self, relay: str, side: str, source: Path | None, args: argparse.Namespace) -> None:
        self.relay, self.side, self.source, self.args = relay, side, source, args
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def _own(self, service: str) -> list[str]:
        if service == "worker":
            return [str(VENV_BIN / "celery"), "-A", "walletproject", "worker", "--loglevel", "INFO",
                    "--concurrency", os.environ.get("CELERY_WORKER_CONCURRENCY", "2"),
                    "--hostname", "relay-before@%h"]  # fmt: skip
        return [str(VENV_BIN / "python"), "manage.py", "consume_events"]

    def start(self, service: str) -> None:
        if self.source is None:
            stack(self.relay, "start", service)
            return
        BEFORE.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(self.source),
               "DJANGO_SETTINGS_MODULE": "walletproject.settings", "RELAY": self.relay}  # fmt: skip
        with (BEFORE / f"{service}.log").open("ab") as log:
            self.processes[service] = subprocess.Popen(
                self._own(service), cwd=self.source, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def stop(self, service: str) -> None:
        if self.source is None:
            stack(self.relay, "stop", service)
            return
        process = self.processes.pop(service, None)
        if process is None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def services(self) -> tuple[str, ...]:
        return ("worker", "consumer") if self.relay == "celery" else ("consumer",)

    def begin(self) -> None:
        say(f"{self.relay}: the {self.side} side's relay and consumer")
        if self.source is not None:
            for service in self.services():
                stack(self.relay, "stop", service)
        set_wake_trigger(self.source is None)
        if self.relay == "debezium":
            settings.DEBEZIUM_POLL_INTERVAL_MS = (
                self.args.before_poll_ms if self.source is not None else self.args.poll_ms
            )
            debezium.register()
        for service in self.services():
            self.start(service)
        time.sleep(5)  # the consumer joins its group, the worker its queue

    def end(self) -> None:
        for service in self.services():
            self.stop(service)
        if self.source is not None:
            set_wake_trigger(True)
            for service in self.services():
                stack(self.relay, "start", service)
        if self.relay == "debezium":
            settings.DEBEZIUM_POLL_INTERVAL_MS = self.args.poll_ms
            debezium.register()

    def start_worker(self) -> None:
        self.start("worker")

    def stop_worker(self) -> None:
        self.stop("worker")

    def worker_group(self) -> int | None:
        process = self.processes.get("worker")
        return process.pid if process is not None else pgid("worker")


def idle_cpu(relay: str, code: Code, seconds: int) -> dict[str, Any]:
    """The relay's processes' CPU over `seconds` with no traffic (after the outbox is empty)."""
    deadline = time.monotonic() + 60
    while OutboxEvent.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    connection.close()
    time.sleep(3)  # a lingering publish task ends
    pids = relay_processes(relay, code)
    before = cpu_seconds_of(pids)
    time.sleep(seconds)
    used = cpu_seconds_of(pids) - before
    return {
        "idle_seconds": seconds,
        "idle_relay_cpu_s": round(used, 3),
        "idle_relay_cores": round(used / seconds, 4),
    }


def measure_side(relay: str, code: Code, args: argparse.Namespace) -> dict[str, Any]:
    token = http_bench.owner_token()
    ids_file = http_bench.prepare_wallets(1000)
    ids = ids_file.read_text().split()
    code.begin()
    try:
        http_bench.run_wrk(
            "transfer", 16, args.warmup, ids_file, token, ids[0], **web()
        )  # JIT, caches, pools
        probe = http_bench.run_wrk("transfer", 16, args.duration, ids_file, token, ids[0], **web())
        say(f"{relay} {code.side}: {probe['rps']} transfers/s at 16 clients")
        result: dict[str, Any] = {"wal_level": wal_level(), "max_transfers_per_s": probe["rps"]}
        if relay == "debezium":
            result["poll_interval_ms"] = settings.DEBEZIUM_POLL_INTERVAL_MS
        # The paced runs first: after the backlog's burst, autovacuum and the history's catch-up
        # would weigh on the first of them (seen: a p99 at half load twice the one at 80 %).
        rate = args.rate or probe["rps"]
        for share in (0.5, 0.8):
            wait_for_quiet(say, timeout=QUIET_TIMEOUT[0])
            key = f"load_{int(share * 100)}"
            result[key] = lag_under_load(
                relay, code, ids, token, rate * share, args.lag_duration, args.settle
            )
            say(f"{relay} {code.side} at {share:.0%}: {result[key]}")
        result.update(idle_cpu(relay, code, args.idle_seconds))
        say(f"{relay} {code.side}: idle {result['idle_relay_cores']} cores")
        result["drain"] = drain_rate(relay, code, ids_file, token, ids[0], args.backlog_seconds)
        say(f"{relay} {code.side}: {result['drain']}")
    finally:
        code.end()
    return result


def idle_by_poll_interval(args: argparse.Namespace) -> dict[str, Any]:
    """Debezium's idle CPU at each of --idle-polls (its poll interval is how often its reader and
    its task wake when nothing comes): the connector registered again with each, then sampled."""
    code = Code("debezium", "after", None, args)
    found: dict[str, Any] = {}
    try:
        for poll_ms in (int(value) for value in args.idle_polls.split(",")):
            settings.DEBEZIUM_POLL_INTERVAL_MS = poll_ms
            debezium.register()
            time.sleep(10)
            found[str(poll_ms)] = idle_cpu("debezium", code, args.idle_seconds)
            say(f"debezium idle at poll {poll_ms} ms: {found[str(poll_ms)]}")
    finally:
        settings.DEBEZIUM_POLL_INTERVAL_MS = args.poll_ms
        debezium.register()
    return {"idle_by_poll_ms": found}


def measure(relay: str, args: argparse.Namespace) -> dict[str, Any]:
    """This checkout's relay (and with --before, the previous commit's first) in one run."""
    if args.switch:
        switch_to(relay)
    if relay == "debezium" and args.idle_polls:
        return idle_by_poll_interval(args)
    results: dict[str, Any] = {}
    if args.before:
        results["before"] = measure_side(relay, Code(relay, "before", worktree(args.before), args), args)
        results["before"]["ref"] = args.before
    results["after"] = measure_side(relay, Code(relay, "after", None, args), args)
    return results


def report(results: dict[str, Any]) -> str:
    lines = [
        "| relay | code | events/s (backlog) | transfers/s probe | load | to producer p50 ms | p99 ms"
        " | to Kafka p50 ms | p99 ms | to history p50 ms | p99 ms | relay CPU ms / 1,000 events"
        " | relay cores | idle relay cores"
        " | machine CPU ms / transfer | relay memory MiB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for relay, sides in results.items():
        for side, r in sides.items():
            code = f"before ({r['ref']})" if side == "before" else "after"
            if relay == "debezium":
                code += f", poll {r.get('poll_interval_ms')} ms"
            for key, name in (("load_50", "50 %"), ("load_80", "80 %")):
                load = r[key]
                lines.append(
                    f"| {relay} | {code} | {r['drain']['events_per_s']:,} ({r['drain']['backlog_events']:,}) "
                    f"| {r['max_transfers_per_s']} | {name}: {load['achieved_transfers_per_s']}/s "
                    f"| {load['to_producer_p50_ms']} | {load['to_producer_p99_ms']} "
                    f"| {load['kafka_p50_ms']} | {load['kafka_p99_ms']} "
                    f"| {load['p50_ms']} | {load['p99_ms']} | {load['relay_cpu_ms_per_1000_events']} "
                    f"| {load['relay_cores']} | {r['idle_relay_cores']} "
                    f"| {load['machine_cpu_ms_per_transfer']} "
                    f"| {load['relay_memory_mib']} |"
                )
    return "\n".join(lines) + "\n"


def measure_on_own_stack(relay: str, args: argparse.Namespace) -> dict[str, Any]:
    """This script again, inside the environment of a stack of its own for `relay`."""
    env = own_env(relay)
    start_own_stack(relay, env)
    out = Path(env["STACK_DIR"]) / "relays-inner"
    try:
        command = [sys.executable, __file__, "--relays", relay, "--on", "inside", "--out", str(out)]
        for name in ("warmup", "duration", "backlog_seconds", "lag_duration", "settle", "idle_seconds",
                     "poll_ms", "before_poll_ms", "rate", "quiet_timeout"):  # fmt: skip
            command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
        if args.before:
            command += ["--before", args.before]
        if args.idle_polls:
            command += ["--idle-polls", args.idle_polls]
        subprocess.run(command, check=True, cwd=ROOT, env=env)
    finally:
        stop_own_stack(relay, env)
    inner: dict[str, Any] = json.loads(out.with_suffix(".json").read_text())
    return dict(inner[relay])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--relays", default=",".join(RELAYS))
    parser.add_argument("--before", default="", help="also measure this commit's relay and consumer first")
    parser.add_argument("--on", choices=("own", "shared", "inside"), default="own", help="which stack")
    parser.add_argument("--poll-ms", type=int, default=settings.DEBEZIUM_POLL_INTERVAL_MS)
    parser.add_argument("--before-poll-ms", type=int, default=50, help="Debezium's poll interval before")
    parser.add_argument("--rate", type=float, default=0, help="transfers/s of full load; 0: the probe's")
    parser.add_argument("--warmup", type=int, default=15, help="seconds of discarded transfers per relay")
    parser.add_argument("--duration", type=int, default=10, help="seconds of the wrk probe")
    parser.add_argument("--backlog-seconds", type=int, default=15, help="seconds of wrk making the backlog")
    parser.add_argument("--lag-duration", type=int, default=30, help="seconds of each paced run")
    parser.add_argument("--settle", type=int, default=10, help="seconds for the history to catch up")
    parser.add_argument("--idle-seconds", type=int, default=30, help="seconds of the idle CPU sample")
    parser.add_argument(
        "--idle-polls", default="", help="Debezium only: idle CPU at these poll intervals (ms)"
    )
    parser.add_argument("--quiet-timeout", type=float, default=60.0, help="longest wait for a quiet machine")
    parser.add_argument("--out", default=str(http_bench.RESULTS / "relays"))
    args = parser.parse_args()
    QUIET_TIMEOUT[0] = args.quiet_timeout
    args.switch = args.on == "shared"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # the finally blocks put things back
    results: dict[str, Any] = {}
    try:
        for relay in args.relays.split(","):
            if args.on == "own":
                results[relay] = measure_on_own_stack(relay, args)
            else:
                results[relay] = measure(relay, args)
    finally:
        if "debezium" in args.relays and args.on == "shared":
            switch_to("celery")  # the stack's default again: no connector, no slot keeping WAL
    table = "" if args.idle_polls else report(results)
    http_bench.write_results(args.out, {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"), **results}, table)


if __name__ == "__main__":
    main()
