"""Resident memory (PSS) of the whole local stack under load, and whether the long-lived processes leak.

Runs uniform transfers with wrk against the running stack until at least `--events` events have
been written (two per transfer), sampling the resident set size of every service's processes
(PostgreSQL, Redis, Kafka, gunicorn, Celery worker and beat, the consumer) every few seconds.
Reports the peak total (target: within 3 GiB) and, for the consumer and the web workers, the
growth from just after a warm-up to the end of the run (target: under 10 %).

    .venv/bin/python bench/memory.py --events 100000      (needs `make up`)
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import http_bench  # noqa: E402  (sets up Django and knows how to drive wrk)

RUN = ROOT / ".stack" / "run"
SERVICES = ("redis", "kafka", "web", "worker", "beat", "consumer")


def rss_of(pid: int) -> int:
    """Proportional set size: resident memory with shared pages (PostgreSQL's shared buffers,
    forked workers' copy-on-write pages) divided among the processes that share them, so the sum
    over processes is the memory really in use. Plain RSS would count shared buffers per backend."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def processes() -> list[tuple[int, int, int, str]]:
    """(pid, pgid, uid, comm) of every process."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, rest = stat.read_text().rsplit(")", 1)
            uid = stat.parent.stat().st_uid
        except OSError:
            continue
        fields = rest.split()
        found.append((int(stat.parent.name), int(fields[2]), uid, head.split("(", 1)[1]))
    return found


def sample() -> dict[str, int]:
    """Resident bytes per service: a service is its process group (scripts/stack starts each in
    its own session); PostgreSQL is every process of the postgres user."""
    import pwd

    postgres_uid = pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.geteuid()
    groups = {}
    for service in SERVICES:
        try:
            groups[int((RUN / f"{service}.pid").read_text().split()[0])] = service
        except (OSError, ValueError):
            continue
    usage = dict.fromkeys(("postgres", *SERVICES), 0)
    for pid, pgid, uid, comm in processes():
        if pgid in groups:
            usage[groups[pgid]] += rss_of(pid)
        elif uid == postgres_uid and comm.startswith("postgres"):
            usage["postgres"] += rss_of(pid)
    return usage


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=10, help="seconds of load before the baseline")
    parser.add_argument("--out", default=str(http_bench.RESULTS / "memory"))
    args = parser.parse_args()

    token = http_bench.owner_token()
    ids_file = http_bench.prepare_wallets(1000)
    hot = ids_file.read_text().split()[0]
    http_bench.run_wrk("transfer", args.concurrency, args.warmup, ids_file, token, hot)
    baseline = sample()
    print(f"warm-up done; loading until {args.events} events are written", flush=True)

    samples: list[dict[str, int]] = []
    stop = threading.Event()

    def sampler() -> None:
        while not stop.is_set():
            samples.append(sample())
            stop.wait(3)

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    transfers, errors, seconds = 0, 0, 0.0
    while transfers * 2 < args.events:  # wrk in 30 s chunks until enough events (two per transfer)
        chunk = http_bench.run_wrk("transfer", args.concurrency, 30, ids_file, token, hot)
        transfers += chunk["requests"]
        errors += chunk["errors"]
        seconds += chunk["requests"] / chunk["rps"]
    stop.set()
    thread.join()
    run = {"requests": transfers, "errors": errors, "rps": round(transfers / seconds, 1)}
    end = sample()
    peak_total = max(sum(s.values()) for s in samples)
    growth = {
        service: round((end[service] - baseline[service]) / baseline[service] * 100, 1)
        for service in ("web", "consumer")
        if baseline[service]
    }
    result: dict[str, Any] = {
        "events_written": run["requests"] * 2,
        "transfers_per_s": run["rps"],
        "errors": run["errors"],
        "baseline_mib": {k: round(v / 2**20, 1) for k, v in baseline.items()},
        "end_mib": {k: round(v / 2**20, 1) for k, v in end.items()},
        "peak_total_mib": round(peak_total / 2**20, 1),
        "growth_percent": growth,
        "within_3_gib": peak_total < 3 * 2**30,
        "no_leak": all(g < 10 for g in growth.values()),
    }
    lines = [
        "| process | after warm-up (MiB) | end (MiB) |",
        "|---|---|---|",
        *[f"| {k} | {result['baseline_mib'][k]} | {result['end_mib'][k]} |" for k in baseline],
        f"| **total, peak** | | **{result['peak_total_mib']}** |",
        "",
        f"{result['events_written']} events written at {run['rps']} transfers/s; "
        f"growth: web {growth.get('web')} %, consumer {growth.get('consumer')} %.",
    ]
    report = "\n".join(lines) + "\n"
    http_bench.write_results(args.out, result, report)


if __name__ == "__main__":
    main()
