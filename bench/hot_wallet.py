"""The hot wallet, before and after, in one run: funds into one wallet, transfers that all touch
one wallet, and uniform transfers for comparison, with `WALLET_HOT_PATH` off and on.

    .venv/bin/python bench/hot_wallet.py --duration 10 --concurrency 16,64 --rounds 2
    (needs the stack's PostgreSQL, Redis and Kafka; results in bench/results/hot_wallet.json and .md)

Why a web server of its own: the setting is read at start-up, and the stack's web server is shared
with other benchmarks. It starts one (`walletproject.serve`, 4 workers, as the stack runs it) per
setting, against the stack's database, both running throughout, and measures each scenario at each
concurrency on one and right after on the other, in turns (off then on, then on then off), so both
sides see the same machine. Funds are
an operator's (they pass the approval policy, as every staff movement does); transfers are the
wallets' owner's, as in `bench/http_bench.py`. With `--sample-locks` it also samples
`pg_stat_activity` during the hot runs (`bench/where_time_goes.py`): where the lock holder's time
goes.

With `--before REF` the two servers are commit REF's code (a worktree in `.stack/hot-before/src`)
and this checkout's, both with the first of `--settings`, on the same database (migrated to this
checkout's schema):

    .venv/bin/python bench/hot_wallet.py --before HEAD~1 --concurrency 16,64 --rounds 2
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import http_bench  # noqa: E402  (sets Django up)
import where_time_goes  # noqa: E402
from django.core.management import call_command  # noqa: E402
from quiet import cores_busy_between, cpu_times, wait_for_quiet  # noqa: E402
from worktrees import checkout  # noqa: E402

from walletproject import serve  # noqa: E402

OPERATOR = "bench-ops"
SETTING = "WALLET_HOT_PATH"


def operator_token() -> str:
    out = io.StringIO()
    call_command("issue_token", OPERATOR, "--operator", "--ttl", "86400", "--by", "bench", stdout=out)
    return out.getvalue().strip()


def server_pgid(base_url: str) -> int:
    """The process group of the granian serving `base_url` (serve.in_background starts a session)."""
    port = base_url.rsplit(":", 1)[1]
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
            stat = (cmdline.parent / "stat").read_text()
        except OSError:
            continue
        if any(b"granian" in arg for arg in argv[:2]) and port.encode() in argv:
            return int(stat.rsplit(")", 1)[1].split()[2])
    raise RuntimeError(f"no granian on port {port}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--concurrency", default="16,64")
    parser.add_argument("--scenarios", default="hotfund,hot,transfer")
    parser.add_argument("--settings", default="off,on", help=f"values of {SETTING}, alternated")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before", help="compare commit BEFORE's code with this checkout's, not settings")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=10, help="seconds of discarded transfers per server")
    parser.add_argument("--sample-locks", action="store_true")
    parser.add_argument(
        "--no-quiet", action="store_true", help="do not wait for a quiet machine (one shared with others)"
    )
    parser.add_argument("--out", default=str(http_bench.RESULTS / "hot_wallet"))
    args = parser.parse_args()
    # Stopped (a timeout's SIGTERM), it still stops its web servers: they run in sessions of their own.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    owner, operator = http_bench.owner_token(), operator_token()
    # The hot wallet is the owner's 1,001st: `bench/http_bench.py`'s runs (perhaps another's, at the
    # same time) make their first wallet hot, and would queue on this one's row too.
    ids_file = http_bench.prepare_wallets(1001)
    hot = ids_file.read_text().split()[-1]
    log = http_bench.WORK / "hot_wallet_web.log"
    rows: list[dict[str, Any]] = []
    # Each side: its label, the value of the setting it runs with, and whose code it serves.
    if args.before:
        before = checkout(args.before, http_bench.WORK / "hot-before" / "src")
        setting = args.settings.split(",")[0]
        sides = {"before": (setting, before), "after": (setting, ROOT)}
    else:
        sides = {value: (value, ROOT) for value in args.settings.split(",")}
    values = list(sides)
    with contextlib.ExitStack() as servers:
        urls = {
            label: servers.enter_context(
                serve.in_background({**os.environ, SETTING: value}, log, workers=args.workers, source=source)
            )
            for label, (value, source) in sides.items()
        }
        pgids = {value: server_pgid(url) for value, url in urls.items()}
        for value in values if args.warmup else []:
            http_bench.run_wrk(
                "transfer",
                16,
                args.warmup,
                ids_file,
                owner,
                hot,
                wait_quiet=not args.no_quiet,
                base_url=urls[value],
                server_pgid=pgids[value],
            )
        for round_number in range(1, args.rounds + 1):
            for concurrency in [int(c) for c in args.concurrency.split(",")]:
                for scenario in args.scenarios.split(","):
                    # each setting right after the other, in turns (off, on; then on, off; ...)
                    order = values if round_number % 2 else values[::-1]
                    for value in order:
                        row = measure(
                            args,
                            scenario,
                            concurrency,
                            ids_file,
                            owner,
                            operator,
                            hot,
                            urls[value],
                            pgids[value],
                        )
                        row.update(setting=value, round=round_number)
                        rows.append(row)
                        print(json.dumps(row), flush=True)
    meta = {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cores": os.cpu_count()}
    http_bench.write_results(args.out, {"meta": meta, "args": vars(args), "rows": rows}, markdown(rows, args))


def measure(
    args: argparse.Namespace,
    scenario: str,
    concurrency: int,
    ids_file: Path,
    owner: str,
    operator: str,
    hot: str,
    base_url: str,
    pgid: int,
) -> dict[str, Any]:
    """One wrk run against one server (lock samples during a hot one with --sample-locks)."""
    token = operator if scenario.endswith("fund") else owner
    if not args.no_quiet:
        wait_for_quiet(http_bench.say)
    counts: collections.Counter[str] = collections.Counter()
    samples = [0]
    stop = threading.Event()
    sampler = threading.Thread(target=where_time_goes.sample_locks, args=(stop, counts, samples), daemon=True)
    sampling = args.sample_locks and scenario.startswith("hot")
    if sampling:
        sampler.start()
    machine_before = cpu_times()
    row = http_bench.run_wrk(
        scenario,
        concurrency,
        args.duration,
        ids_file,
        token,
        hot,
        wait_quiet=False,
        base_url=base_url,
        server_pgid=pgid,
    )
    # The whole machine's busy cores during the run: at 2.0, the CPU, not a lock, is the ceiling.
    row["cores_busy"] = round(cores_busy_between(machine_before, cpu_times()), 2)
    stop.set()
    if sampling:
        sampler.join()
        row["lock_samples"] = {key: round(count / samples[0], 3) for key, count in counts.most_common(12)}
    return row


def successful_rate(run: dict[str, Any]) -> float:
    """2xx answers per second."""
    return (run["requests"] - run["errors"]) / run["requests"] * run["rps"] if run["requests"] else 0.0


def markdown(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    """Per scenario and concurrency: each setting's successful requests/s per round and best, the
    ratio of the bests, non-2xx answers and p99."""
    lines = [
        f"`.venv/bin/python bench/hot_wallet.py --duration {args.duration} --concurrency {args.concurrency}"
        f" --rounds {args.rounds}{f' --before {args.before}' if args.before else ''}`,"
        f" {SETTING} {args.settings.split(',')[0] if args.before else args.settings},"
        " each run right after the other's.",
        "",
        "| scenario | clients | setting | successful req/s (rounds) | best | p99 ms (best round) | cores busy"
        " (best round) | non-2xx |",
        "|---|---|---|---|---|---|---|---|",
    ]
    keyed: dict[tuple[str, int, str], list[dict[str, Any]]] = collections.defaultdict(list)
    for row in rows:
        keyed[(row["scenario"], row["concurrency"], row["setting"])].append(row)
    for (scenario, concurrency, value), runs in keyed.items():
        ok = [successful_rate(run) for run in runs]
        best = max(range(len(runs)), key=lambda i: ok[i])
        shown = ", ".join(f"{v:.0f}" for v in ok)
        lines.append(
            f"| {scenario} | {concurrency} | {value} | {shown} | {ok[best]:.0f} | "
            f"{runs[best]['p99_ms']:.1f} | {runs[best].get('cores_busy', '')} | "
            f"{sum(run['errors'] for run in runs)} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
