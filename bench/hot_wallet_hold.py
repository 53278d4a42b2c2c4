"""Where a hot wallet's row-lock hold goes, measured inside the transfer service itself.

    .venv/bin/python bench/hot_wallet_hold.py --processes 4 --seconds 5
    (needs the stack's PostgreSQL; uses `bench/http_bench.py`'s 1,001 wallets, the last one hot)

Why: a hot wallet's rate is one over the time its row stays locked, and a sampler of
`pg_stat_activity` (`bench/where_time_goes.py --sample-locks`) sees only states, mixed with every
other client of the database. This runs `services.transfer_create` in N processes (each its own
connection), every transfer touching the hot wallet, and times each step with Django's
`execute_wrapper`: the lock statement (its wait included), the Python between its answer and the
write, the write statement, the Python before COMMIT, and the COMMIT (its WAL flush and the
deferred checks). The hold is everything after the lock's answer. `--group-commit` runs the same
transfers through `wallets.group_commit` instead (the wallet held hot), for their rate alone;
`--rounds` alternates the two, each run right after the other.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from wallets import services  # noqa: E402

STEPS = (
    "lock (its wait and statement)",
    "Python: lock's answer -> write",
    "write statement",
    "Python: write's answer -> COMMIT",
    "COMMIT (WAL flush, deferred checks)",
    "whole transfer",
)


def work(seed: int, seconds: float, ids: list[uuid.UUID], out: Any, grouped: bool = False) -> None:
    connection.close()  # a connection of this process's own
    if grouped:
        out.put(work_grouped(seed, seconds, ids))
        return
    rng = random.Random(seed)
    hot = ids[-1]
    marks: list[float] = []

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        marks.append(time.perf_counter())
        result = execute(sql, params, many, context)
        marks.append(time.perf_counter())
        return result

    rows = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        other = rng.choice(ids[:-1])
        source, target = (hot, other) if rng.random() < 0.5 else (other, hot)
        marks.clear()
        started = time.perf_counter()
        with connection.execute_wrapper(timed), transaction.atomic(durable=True):
            services.transfer_create(
                from_wallet_id=source,
                to_wallet_id=target,
                amount=Decimal("0.01"),
                initiated_by="bench",
                owner_user_id="bench",
            )
            commit_sent = time.perf_counter()
        ended = time.perf_counter()
        lock_sent, lock_done, write_sent, write_done = marks[:4]
        rows.append(
            (
                lock_done - lock_sent,
                write_sent - lock_done,
                write_done - write_sent,
                commit_sent - write_done,
                ended - commit_sent,
                ended - started,
            )
        )
    out.put(rows)


def work_grouped(seed: int, seconds: float, ids: list[uuid.UUID]) -> int:
    """Transfers through the hot wallet's combiner for `seconds`; how many were made."""
    from wallets import group_commit

    rng = random.Random(seed)
    hot = ids[-1]
    made = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        other = rng.choice(ids[:-1])
        source, target = (hot, other) if rng.random() < 0.5 else (other, hot)
        group_commit._keep_hot(hot, time.monotonic())
        group_commit.transfer_create(
            from_wallet_id=source,
            to_wallet_id=target,
            amount=Decimal("0.01"),
            initiated_by="bench",
            owner_user_id="bench",
        )
        made += 1
    return made


def rate(processes: int, seconds: float, ids: list[uuid.UUID], *, grouped: bool) -> tuple[float, list[Any]]:
    """Hot transfers per second in `processes` processes, and the ordinary path's step timings."""
    connection.close()
    out: Any = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=work, args=(seed, seconds, ids, out, grouped))
        for seed in range(processes)
    ]
    for process in workers:
        process.start()
    results = [out.get() for _ in workers]
    for process in workers:
        process.join()
    if grouped:
        return sum(results) / seconds, []
    rows = [row for result in results for row in result]
    return len(rows) / seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--rounds", type=int, default=0, help="alternate the ordinary path and group commit this many times"
    )
    args = parser.parse_args()
    ids = [uuid.UUID(line) for line in (ROOT / ".stack" / "bench" / "wallets-1001.txt").read_text().split()]
    if args.rounds:
        for round_number in range(args.rounds):
            order = (False, True) if round_number % 2 == 0 else (True, False)
            for grouped in order:
                per_second, _ = rate(args.processes, args.seconds, ids, grouped=grouped)
                label = "group commit" if grouped else "ordinary"
                print(f"round {round_number + 1}: {label:12s} {per_second:6.0f} hot transfers/s", flush=True)
        return
    per_second, rows = rate(args.processes, args.seconds, ids, grouped=False)
    print(f"{args.processes} processes, {len(rows)} hot transfers, {per_second:.0f}/s")
    for index, step in enumerate(STEPS):
        column = [row[index] * 1000 for row in rows]
        print(
            f"  {step:38s} median {statistics.median(column):6.2f} ms  mean {statistics.mean(column):6.2f} ms"
        )
    holds = [sum(row[1:5]) * 1000 for row in rows]
    mean_hold = statistics.mean(holds)
    print(
        f"  {'hold (lock answer -> commit done)':38s} median {statistics.median(holds):6.2f} ms  mean "
        f"{mean_hold:6.2f} ms: at most {1000 / mean_hold:.0f} transfers/s on the hot row"
    )


if __name__ == "__main__":
    main()
