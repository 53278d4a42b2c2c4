"""The outbox under a long load holds only its backlog (issue #21): delete-on-publish, measured.

Runs uniform transfers with wrk against the running stack for `--duration` seconds (default ten
minutes) and samples, every `--every` seconds, the outbox's rows, its size on disk (table, indexes
and TOAST: dead rows count until autovacuum reclaims them) and the relay's published counter. After
the load it waits for the relay to drain and reports: the rows and size at their highest, the rows
left at the end (0: only unpublished rows are ever kept), and the events published, which the
earlier mark-and-keep outbox would have kept for seven days.

    .venv/bin/python bench/outbox_bounded.py --duration 600
    (needs `make up`; results in bench/results/outbox_bounded.json and .md)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from django.db import connection
from http_bench import RESULTS, owner_token, prepare_wallets, run_wrk, say, write_results

from kafka_bridge.models import OutboxEvent, RelayStats

OUTBOX = OutboxEvent._meta.db_table
STATS = RelayStats._meta.db_table


def sample() -> dict[str, Any]:
    """The outbox's rows and bytes, and the relay's published counter, now (one statement)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM {OUTBOX}), pg_total_relation_size(%s), "  # noqa: S608
            f"COALESCE((SELECT published_total FROM {STATS} WHERE id = 1), 0)",
            [OUTBOX],
        )
        rows, size, published = cursor.fetchone()
    return {"at": time.monotonic(), "rows": rows, "bytes": size, "published": published}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=600, help="seconds of load (600)")
    parser.add_argument("--concurrency", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--wallets", type=int, default=1000, help="wallets the transfers move between (1000)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples (5)")
    parser.add_argument("--drain-timeout", type=float, default=120.0, help="seconds to wait for the drain")
    parser.add_argument("--out", default=str(RESULTS / "outbox_bounded"))
    args = parser.parse_args()

    ids_file = prepare_wallets(args.wallets)
    token = owner_token()
    hot = ids_file.read_text().split()[0]
    first = sample()
    say(f"outbox before the load: {first['rows']} rows, {first['bytes']} bytes")
    outcome: dict[str, Any] = {}
    load = threading.Thread(
        target=lambda: outcome.update(
            run_wrk("transfer", args.concurrency, args.duration, ids_file, token, hot, wait_quiet=False)
        )
    )
    load.start()
    samples = [first]
    while load.is_alive():
        load.join(args.every)
        samples.append(sample())
        say(f"{samples[-1]['rows']} rows, {samples[-1]['bytes']} bytes, {samples[-1]['published']} published")
    during = samples[1:]
    deadline = time.monotonic() + args.drain_timeout
    last = sample()
    while last["rows"] and time.monotonic() < deadline:
        time.sleep(0.5)
        last = sample()
    drained_s = round(last["at"] - during[-1]["at"], 1)
    published = last["published"] - first["published"]
    data = {
        "duration_s": args.duration,
        "concurrency": args.concurrency,
        "transfers": outcome.get("requests"),
        "transfers_per_s": outcome.get("rps"),
        "non_2xx": outcome.get("errors"),
        "events_published": published,
        "rows_max": max(s["rows"] for s in during),
        "rows_median": statistics.median(s["rows"] for s in during),
        "rows_after_drain": last["rows"],
        "drain_s": drained_s,
        "bytes_before": first["bytes"],
        "bytes_max": max(s["bytes"] for s in during),
        "bytes_after": last["bytes"],
        "samples": samples,
    }
    report = "\n".join(
        [
            f"# Outbox under {args.duration} s of uniform transfers ({args.concurrency} clients)",
            "",
            "| measure | value |",
            "|---|---|",
            f"| transfers (non-2xx) | {data['transfers']} ({data['non_2xx']}) "
            f"at {data['transfers_per_s']}/s |",
            f"| events published (RelayStats) | {published} |",
            f"| outbox rows, sampled every {args.every:g} s: median / max | "
            f"{data['rows_median']} / {data['rows_max']} |",
            f"| outbox rows after the drain ({drained_s} s after the load) | {last['rows']} |",
            f"| outbox on disk: before / max / after (MB) | {first['bytes'] / 1e6:.1f} / "
            f"{data['bytes_max'] / 1e6:.1f} / {last['bytes'] / 1e6:.1f} |",
            f"| rows the mark-and-keep outbox would hold (7 days' retention) | {published} and growing |",
            "",
        ]
    )
    write_results(args.out, data, report)
    if last["rows"]:
        raise SystemExit(f"outbox_bounded: {last['rows']} rows left after {args.drain_timeout:g} s")


if __name__ == "__main__":
    main()
