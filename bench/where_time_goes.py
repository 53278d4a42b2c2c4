"""Where a benchmark run's CPU and lock time go, across the whole running stack.

    .venv/bin/python bench/where_time_goes.py --mode hot --duration 15 [--sample-locks]
    (needs `make up`; MODE as in bench/lua/wallet.lua: transfer, hot, fund, read, hold, capture)

Why: the HTTP benchmark reports the web server's CPU only, while a transfer also costs its
PostgreSQL backends, the relay, Kafka and the history consumer, all on the same two cores. This
runs wrk once (16 clients) and prints, per kind of process, the CPU it used per request (from
/proc, every process on the machine, so nothing is missed), and how busy the machine was. With
`--sample-locks` it also samples `pg_stat_activity` every 2 ms and prints the share of samples in
each state of the app's backends (a backend with a transaction id holds row locks; `after` is the
statement it last ran): for the hot wallet, where the lock holder's time goes (README,
Performance). The sampler costs throughput (and its own backend's CPU counts among the backends'):
take CPU figures from a run without it.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import http_bench  # noqa: E402  (sets Django up)
import psycopg  # noqa: E402
from quiet import cores_busy_between, cpu_times, wait_for_quiet  # noqa: E402

from common.postgresql.url import database_url  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
KINDS = (  # (kind, what the command line or process name contains), first match wins
    ("web (granian)", "granian"),
    ("relay (celery worker)", "celery"),
    ("history consumer", "consume_events"),
    ("kafka", "kafka.Kafka"),
    ("redis", "redis-server"),
    ("postgres: background", "postgres: "),
    ("postgres", "postgres"),
)
STATEMENTS = (("lock", 'SELECT "wallets_wallet"'), ("write", "WITH new_balances"), ("commit", "COMMIT"))


def process_cpu() -> dict[int, tuple[str, int]]:
    """pid -> (kind, CPU ticks so far) for every process; postgres backends by their client."""
    found: dict[int, tuple[str, int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        if int(stat.parent.name) == os.getpid():
            continue  # this script (and its sampler thread)
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        kind = next((k for k, needle in KINDS if needle in command), "other")
        if kind == "postgres: background" and "(" in command:  # a client's backend: "user db host(port)"
            kind = "postgres backends (web, relay, consumer)"
        found[int(stat.parent.name)] = (kind, int(fields[11]) + int(fields[12]))
    return found


def sample_locks(stop: threading.Event, counts: collections.Counter[str], total: list[int]) -> None:
    with psycopg.connect(database_url(), autocommit=True) as conn:
        while not stop.is_set():
            rows = conn.execute(
                "SELECT state, wait_event, left(query, 40), backend_xid IS NOT NULL FROM pg_stat_activity"
                " WHERE datname = current_database() AND backend_type = 'client backend'"
                " AND pid <> pg_backend_pid() AND state <> 'idle'"
            ).fetchall()
            for state, wait_event, query, has_xid in rows:
                statement = next((name for name, head in STATEMENTS if head in query), "other")
                where = f"after {statement}" if state == "idle in transaction" else statement
                counts[f"{state:<20} {wait_event or '-':<16} {where:<14} {'xid' if has_xid else ''}"] += 1
            total[0] += 1
            time.sleep(0.002)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", default="transfer")
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--sample-locks", action="store_true")
    args = parser.parse_args()

    token = http_bench.owner_token()
    ids_file = http_bench.prepare_wallets(1000)
    hot = ids_file.read_text().split()[0]
    wait_for_quiet(http_bench.say)

    counts: collections.Counter[str] = collections.Counter()
    samples = [0]
    stop = threading.Event()
    sampler = threading.Thread(target=sample_locks, args=(stop, counts, samples), daemon=True)
    before, machine_before = process_cpu(), cpu_times()
    if args.sample_locks:
        sampler.start()
    run = http_bench.run_wrk(args.mode, 16, args.duration, ids_file, token, hot, wait_quiet=False)
    after, machine_after = process_cpu(), cpu_times()
    stop.set()
    if args.sample_locks:
        sampler.join()
    requests = run["requests"]

    by_kind: collections.Counter[str] = collections.Counter()
    for pid, (kind, ticks) in after.items():
        by_kind[kind] += ticks - before.get(pid, (kind, 0))[1]
    by_kind["wrk (the load generator)"] = round(run["wrk_cpu_s"] * CLOCK_TICKS)
    cores = cores_busy_between(machine_before, machine_after)
    print(f"{args.mode}: {run['rps']:.0f} requests/s, {cores:.2f} cores busy")
    print("CPU per request (ms), by process kind:")
    for kind, ticks in by_kind.most_common():
        if ticks > 0:
            print(f"  {ticks / CLOCK_TICKS / requests * 1000:6.3f}  {kind}")
    print(f"  {sum(by_kind.values()) / CLOCK_TICKS / requests * 1000:6.3f}  all")
    if args.sample_locks:
        print(f"pg_stat_activity, {samples[0]} samples: backends per sample in each state")
        for key, count in counts.most_common(15):
            print(f"  {count / samples[0]:5.3f}  {key}")


if __name__ == "__main__":
    main()
