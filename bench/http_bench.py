"""HTTP benchmark of the running stack, measured against PostgreSQL's own limit in the same run.

For each client concurrency it runs wrk (compiled, cheap) against the web server for each scenario
(uniform transfers among N wallets, transfers all touching one hot wallet, funds, wallet reads,
holds, and holds each captured by the next request),
then pgbench's built-in TPC-B-like transaction (a bank transfer in SQL) against the same PostgreSQL
at the same concurrency. The headline is our transfers/s divided by pgbench's tps. It also reports
latency percentiles, non-2xx answers, and the CPU the load generator used next to the server's.

Each run starts on a quiet machine (`bench/quiet.py`: the reconcile, the previous run's drain), and
the first is preceded by a discarded warm-up of uniform transfers (`--warmup`, seconds): Kafka's JIT
compiler, PostgreSQL's prepared statements and caches, the web workers' first requests. Right after a
Kafka restart, consecutive 10 s runs measured 449, 539, 564, 568, 590, 608, 623 transfers/s (CPU per
transfer 4.36 -> 3.05 ms, Kafka's JIT compiling throughout): the steady state is what a service
delivers, so the default warm-up is a minute.

    .venv/bin/python bench/http_bench.py --duration 10 --concurrency 1,4,16,64
    (needs `make up`; results in bench/results/http.json and .md)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from wallets import services  # noqa: E402
from wallets.models import Wallet  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from quiet import process_group_cpu, wait_for_quiet  # noqa: E402

RESULTS = ROOT / "bench" / "results"
WORK = ROOT / ".stack" / "bench"
LUA = ROOT / "bench" / "lua" / "wallet.lua"
BASE_URL = f"http://127.0.0.1:{settings.PORT}"
PGBENCH_DB = "pgbench"
EXISTS_SQL = f"SELECT 1 FROM pg_database WHERE datname = '{PGBENCH_DB}'"  # noqa: S608 -- a constant
WALLET_FUNDS = Decimal("1000000")


# The bench wallets' one owner: its token moves money between them as a customer's requests do (an
# operator's transfers of customers' money pass the staff policy, approvals/policy.py).
OWNER = "bench"


def owner_token() -> str:
    """A new token of the wallets' owner for this run, expiring in a day (one per call)."""
    import io

    out = io.StringIO()
    call_command("issue_token", OWNER, "--ttl", "86400", "--by", "bench", stdout=out)
    return out.getvalue().strip()


def prepare_wallets(count: int) -> Path:
    """`count` funded wallets (reused between runs), their ids in a file for wrk's script."""
    WORK.mkdir(parents=True, exist_ok=True)
    ids = [
        str(i)
        for i in Wallet.objects.filter(user_id=OWNER, kind="user", status="active")
        .order_by("created_at", "id")
        .values_list("id", flat=True)[:count]
    ]
    for _ in range(len(ids), count):
        wallet = services.wallet_create(user_id=OWNER)
        services.wallet_fund(wallet_id=wallet.id, amount=WALLET_FUNDS, initiated_by="bench")
        ids.append(str(wallet.id))
    path = WORK / f"wallets-{count}.txt"
    path.write_text("\n".join(ids) + "\n")
    return path


def database_env() -> dict[str, str]:
    db = settings.DATABASES["default"]
    return {
        **os.environ,
        "PGHOST": db["HOST"] or "127.0.0.1",
        "PGPORT": str(db["PORT"] or 5432),
        "PGUSER": db["USER"],
        "PGPASSWORD": db["PASSWORD"],
    }


def pgbench_bin() -> str:
    found = shutil.which("pgbench") or max(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), default=None)
    if not found:
        sys.exit("pgbench not found (Debian package postgresql-client)")
    return str(found)


def prepare_pgbench(scale: int) -> None:
    env = database_env()
    exists = subprocess.run(
        ["psql", "-d", "postgres", "-tAc", EXISTS_SQL],
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(["psql", "-d", "postgres", "-c", f"CREATE DATABASE {PGBENCH_DB}"], check=True, env=env)
    branches = subprocess.run(
        ["psql", "-d", PGBENCH_DB, "-tAc", "SELECT count(*) FROM pgbench_branches"],
        capture_output=True,
        text=True,
        env=env,
    ).stdout.strip()
    if branches != str(scale):
        print(f"pgbench: initialising scale {scale}", flush=True)
        subprocess.run([pgbench_bin(), "-i", "-q", "-s", str(scale), PGBENCH_DB], check=True, env=env)


def web_pgid() -> int:
    return int((ROOT / ".stack" / "run" / "web.pid").read_text().split()[0])


def run_wrk(
    mode: str,
    concurrency: int,
    duration: int,
    ids_file: Path,
    token: str,
    hot: str,
    *,
    wait_quiet: bool = True,
    base_url: str = BASE_URL,
    server_pgid: int | None = None,
) -> dict[str, Any]:
    """One wrk run; first waits for a quiet machine unless the caller already did. `base_url` and
    `server_pgid` name a web server other than the stack's (its CPU is counted instead)."""
    pgid = web_pgid() if server_pgid is None else server_pgid
    env = {**os.environ, "MODE": mode, "WALLET_IDS": str(ids_file), "TOKEN": token, "HOT_WALLET": hot}
    threads = min(2, concurrency)
    quiet_wait = wait_for_quiet(say) if wait_quiet else 0.0
    server_before = process_group_cpu(pgid)
    usage_before = os.times()
    started = time.monotonic()
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            base_url,
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    elapsed = time.monotonic() - started
    usage_after = os.times()
    server_cpu = process_group_cpu(pgid) - server_before
    wrk_cpu = (usage_after.children_user - usage_before.children_user) + (
        usage_after.children_system - usage_before.children_system
    )
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{result.stdout}{result.stderr}")
    stats = json.loads(line)
    seconds = stats["duration_us"] / 1e6
    return {
        "scenario": mode,
        "concurrency": concurrency,
        "requests": stats["requests"],
        "rps": round(stats["requests"] / seconds, 1),
        "errors": stats["non_2xx"] + stats["socket_errors"],
        "p50_ms": stats["p50_us"] / 1000,
        "p95_ms": stats["p95_us"] / 1000,
        "p99_ms": stats["p99_us"] / 1000,
        "wrk_cpu_s": round(wrk_cpu, 2),
        "web_cpu_s": round(server_cpu, 2),
        "wrk_cpu_share": round(wrk_cpu / server_cpu, 3) if server_cpu else None,
        "web_cpu_ms_per_request": round(server_cpu / stats["requests"] * 1000, 2)
        if stats["requests"]
        else None,
        "captures": stats.get("captures", 0),
        "wall_s": round(elapsed, 1),
        "quiet_wait_s": quiet_wait,
    }


def run_pgbench(concurrency: int, duration: int) -> dict[str, Any]:
    threads = min(2, concurrency)
    quiet_wait = wait_for_quiet(say)
    result = subprocess.run(
        [
            pgbench_bin(),
            "-n",
            "-b",
            "tpcb-like",
            "-c",
            str(concurrency),
            "-j",
            str(threads),
            "-T",
            str(duration),
            PGBENCH_DB,
        ],
        capture_output=True,
        text=True,
        env=database_env(),
        check=True,
    )
    tps = float(re.search(r"tps = ([0-9.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    latency = re.search(r"latency average = ([0-9.]+) ms", result.stdout)
    return {
        "scenario": "pgbench-tpcb",
        "concurrency": concurrency,
        "rps": round(tps, 1),
        "avg_ms": float(latency.group(1)) if latency else None,
        "quiet_wait_s": quiet_wait,
    }


def say(message: str) -> None:
    print(f"http_bench: {message}", flush=True)


def write_results(out: str | Path, data: Any, report: str) -> None:
    """`<out>.json` (the data) and `<out>.md` (the table), and the table on stdout."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(data, indent=2))
    path.with_suffix(".md").write_text(report)
    print(report)


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| scenario | clients | req/s | vs pgbench | p50 ms | p95 ms | p99 ms | errors | web CPU ms/req "
        "| wrk CPU / web CPU |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = row.get("vs_pgbench")
        shown_ratio = "" if ratio is None else f"{ratio:.2f}"
        lines.append(
            f"| {row['scenario']} | {row['concurrency']} | {row['rps']:.0f} | "
            f"{shown_ratio} | {row.get('p50_ms', '')} | {row.get('p95_ms', '')} | "
            f"{row.get('p99_ms', '')} | {row.get('errors', '')} | {row.get('web_cpu_ms_per_request', '')} | "
            f"{row.get('wrk_cpu_share', '')} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per run")
    parser.add_argument("--concurrency", default="1,4,16,64")
    parser.add_argument("--scenarios", default="transfer,hot,fund,read,hold,capture")
    parser.add_argument("--wallets", type=int, default=1000)
    parser.add_argument("--pgbench-scale", type=int, default=16)
    parser.add_argument("--out", default=str(RESULTS / "http"))
    parser.add_argument("--warmup", type=int, default=60, help="seconds of discarded transfers first")
    args = parser.parse_args()

    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install wrk")
    token = owner_token()
    ids_file = prepare_wallets(args.wallets)
    hot = ids_file.read_text().split()[0]
    prepare_pgbench(args.pgbench_scale)
    if args.warmup > 0:
        warmup = run_wrk("transfer", 16, args.warmup, ids_file, token, hot)
        say(f"warm-up: {warmup['requests']} transfers in {args.warmup}s, not reported")
    rows: list[dict[str, Any]] = []
    for concurrency in [int(c) for c in args.concurrency.split(",")]:
        baseline = run_pgbench(concurrency, args.duration)
        rows.append(baseline)
        print(json.dumps(baseline), flush=True)
        for scenario in args.scenarios.split(","):
            row = run_wrk(scenario, concurrency, args.duration, ids_file, token, hot)
            row["vs_pgbench"] = round(row["rps"] / baseline["rps"], 3)
            rows.append(row)
            print(json.dumps(row), flush=True)
    meta = {"measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cores": os.cpu_count()}
    write_results(args.out, {"meta": meta, "args": vars(args), "rows": rows}, markdown(rows))


if __name__ == "__main__":
    main()
