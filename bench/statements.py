"""Benchmark of the balance at a moment and the statement (issue #33) on the volume databases.

    .venv/bin/python bench/statements.py --sizes 1m [--migrate] [--requests 1000] [--csv-runs 10]

Each size's database (`wallet_volume_1m`, `wallet_volume_10m`: bench/volume.py seeds them) must exist;
`--migrate` first runs `manage.py migrate` on it (migration 0013 builds `entry_wallet_created_idx`
concurrently, 0014-0015 add and backfill the chain hashes). The measures run in a process of their
own on that database (DATABASE_URL), through Django's full request path in process (URL routing,
middleware, DRF, the view, the renderer; no socket), as an operator whose user is not stored (the
benchmark writes nothing to the database):

- `GET /wallets/{id}/balance?at=`: a random user wallet (of the seeded 10,001) at a random moment of
  its year, `--requests` times; and the same read without HTTP (`wallets.balance_at.balance_at`);
- `GET /wallets/{id}/statement?from=&to=`, first JSON page (50 entries): a random wallet and a random
  30-day period, `--requests` times; and the long-history wallet's whole year (its first page);
- the long-history wallet's whole-year CSV, streamed to the end, `--csv-runs` times (rows/s too).

Each measure is reported as p50, p99 and max in milliseconds, with the query plan of the balance's
entry probe, in bench/results/statements.md (and .json). Target (the issue's): balance-at p99 at most
20 ms at 10 M entries.
"""

# ruff: noqa: S608 -- SQL built from module constants (the seed's schema name); values are parameters

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")

RESULTS = ROOT / "bench" / "results"
SIZES = {"1m": "wallet_volume_1m", "10m": "wallet_volume_10m"}
TARGET_BALANCE_AT_P99_MS = 20.0
SEED_SCHEMA = "volume_seed"  # bench/volume_seed.py: its `wallet` table numbers the seeded wallets


def say(message: str) -> None:
    print(f"statements: {message}", flush=True)


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)
    p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


# --- the child: one database, in process ---------------------------------------------------------


def measure(requests: int, csv_runs: int, seed: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.test import APIClient

    from common.times import format_timestamp
    from wallets.balance_at import balance_at
    from wallets.models import Wallet

    rng = random.Random(seed)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {SEED_SCHEMA}.wallet ORDER BY n")
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT id FROM {SEED_SCHEMA}.wallet ORDER BY n DESC LIMIT 1")
        long_id = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM wallets_ledgerentry")
        entries = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM wallets_ledgerentry WHERE wallet_id = %s", [long_id])
        long_entries = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM wallets_ledgerentry WHERE chain_hash IS NULL AND wallet_version IS NOT NULL"
        )
        unchained = cursor.fetchone()[0]
    wallets = {w.id: w for w in Wallet.objects.filter(id__in=ids)}
    long_wallet = wallets[long_id]
    now = datetime.now(UTC)

    operator = get_user_model()(username="bench-statements", is_staff=True)  # never saved
    client = APIClient()
    client.force_authenticate(operator)

    def moment_of(wallet: Wallet) -> datetime:
        span = (now - wallet.created_at).total_seconds()
        return wallet.created_at + timedelta(seconds=rng.uniform(0, span))

    def timed(call: Any) -> float:
        started = time.perf_counter()
        call()
        return time.perf_counter() - started

    def get_ok(path: str, query: dict[str, str]) -> Any:
        response = client.get(path, query)
        assert response.status_code == 200, (path, query, response.status_code, response.content[:300])
        return response

    sample = [wallets[rng.choice(ids)] for _ in range(requests)]
    for wallet in sample[:50]:  # warm the connection, the compiled queries and the caches
        get_ok(f"/wallets/{wallet.id}/balance", {"at": format_timestamp(moment_of(wallet))})

    direct = [timed(lambda w=w: balance_at(wallet=w, at=moment_of(w))) for w in sample]
    over_http = [
        timed(lambda w=w: get_ok(f"/wallets/{w.id}/balance", {"at": format_timestamp(moment_of(w))}))
        for w in sample
    ]

    def first_page(wallet: Wallet, start: datetime, end: datetime) -> Any:
        return get_ok(
            f"/wallets/{wallet.id}/statement", {"from": format_timestamp(start), "to": format_timestamp(end)}
        )

    month = []
    for wallet in sample:
        start = moment_of(wallet)
        month.append(timed(lambda w=wallet, s=start: first_page(w, s, s + timedelta(days=30))))
    year_start, year_end = long_wallet.created_at, now
    long_first = [
        timed(lambda: first_page(long_wallet, year_start, year_end)) for _ in range(max(20, requests // 10))
    ]

    csv_times, csv_rows, csv_bytes = [], 0, 0
    for _ in range(csv_runs):
        started = time.perf_counter()
        response = get_ok(
            f"/wallets/{long_wallet.id}/statement",
            {"from": format_timestamp(year_start), "to": format_timestamp(year_end), "format": "csv"},
        )
        rows = size = 0
        for chunk in response.streaming_content:
            size += len(chunk)
            rows += chunk.count(b"\r\n")
        csv_times.append(time.perf_counter() - started)
        csv_rows, csv_bytes = rows - 3, size  # less the header, OPENING and CLOSING lines

    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT e.balance_after, e.wallet_version "
            "FROM wallets_ledgerentry AS e WHERE e.wallet_id = %s AND e.wallet_version IS NOT NULL "
            "AND e.created_at <= %s ORDER BY e.created_at DESC, e.wallet_version DESC LIMIT 1",
            [long_wallet.id, moment_of(long_wallet)],
        )
        plan = [row[0] for row in cursor.fetchall()]

    return {
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "entries": entries,
        "long_wallet_entries": long_entries,
        "unchained_entries": unchained,
        "balance_at_direct": percentiles(direct),
        "balance_at_http": percentiles(over_http),
        "statement_first_page_30_days": percentiles(month),
        "statement_first_page_long_year": percentiles(long_first),
        "statement_csv_long_year": percentiles(csv_times)
        | {
            "rows": csv_rows,
            "bytes": csv_bytes,
            "rows_per_s": round(csv_rows / statistics.median(csv_times)),
        },
        "balance_probe_plan": plan,
    }


# --- the parent: one child per size, the report ---------------------------------------------------


def database_url(name: str) -> str:
    import django

    django.setup()
    from common.postgresql.url import database_url as url_of

    return url_of(name)


NEEDED = ("0013_entry_wallet_created_idx", "0014_ledger_hash_chain", "0015_ledger_hash_chain_backfill")


def unapplied(url: str) -> list[str]:
    """The wallets migrations this benchmark needs that the database has not applied."""
    import psycopg

    with psycopg.connect(url) as connection:
        rows = connection.execute("SELECT name FROM django_migrations WHERE app = 'wallets'").fetchall()
    applied = {row[0] for row in rows}
    return [name for name in NEEDED if name not in applied]


def run_size(size: str, *, migrate: bool, requests: int, csv_runs: int, seed: int) -> dict[str, Any]:
    url = database_url(SIZES[size])
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "walletproject.settings"}
    if migrate:
        say(f"{SIZES[size]}: manage.py migrate")
        started = time.monotonic()
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True)
        say(f"{SIZES[size]}: migrated in {time.monotonic() - started:.0f}s")
    missing = unapplied(url)
    if missing:
        raise SystemExit(
            f"{SIZES[size]}: migrations not applied yet: {', '.join(missing)} (the time index and the chain "
            "hashes); run again with --migrate"
        )
    say(f"{SIZES[size]}: measuring ({requests} requests each, {csv_runs} CSVs)")
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--requests",
            str(requests),
            "--csv-runs",
            str(csv_runs),
            "--seed",
            str(seed),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    line = next((ln for ln in reversed(result.stdout.splitlines()) if ln.startswith("{")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"{size}: the measuring process failed:\n{result.stdout}{result.stderr[-4000:]}")
    data: dict[str, Any] = json.loads(line)
    return data


def markdown(results: dict[str, Any], command: str) -> str:
    lines = [
        "# Balance at a moment and statements (issue #33)",
        "",
        f"`{command}` on {results['when']}, on the stack's PostgreSQL. In-process requests through the whole",
        "Django/DRF path (no socket), as an operator; milliseconds. Script: bench/statements.py.",
        "",
        "| measure | size | n | p50 | p99 | max |",
        "|---|---|---|---|---|---|",
    ]
    names = {
        "balance_at_direct": "balance at a moment, the read alone (`balance_at`)",
        "balance_at_http": "GET /wallets/{id}/balance?at= (random wallet and moment)",
        "statement_first_page_30_days": "GET statement, first JSON page, random 30-day period",
        "statement_first_page_long_year": "GET statement, first JSON page, long-history wallet's year",
        "statement_csv_long_year": "GET statement CSV, long-history wallet's whole year, streamed to the end",
    }
    for size, data in results["sizes"].items():
        for key, label in names.items():
            row = data[key]
            lines.append(
                f"| {label} | {size} | {row['n']} | {row['p50_ms']} | {row['p99_ms']} | {row['max_ms']} |"
            )
    lines += ["", "## Per size", ""]
    for size, data in results["sizes"].items():
        csv_row = data["statement_csv_long_year"]
        p99 = data["balance_at_http"]["p99_ms"]
        met = "met" if p99 <= TARGET_BALANCE_AT_P99_MS else "NOT met"
        lines += [
            f"### {size}: {data['entries']:,} entries",
            "",
            f"- balance at a moment p99 {p99} ms over HTTP in process: target "
            f"{TARGET_BALANCE_AT_P99_MS:g} ms "
            f"({met}; the issue's target is at 10 M).",
            f"- the long-history wallet: {data['long_wallet_entries']:,} entries; its year as CSV: "
            f"{csv_row['rows']:,} rows, {csv_row['bytes']:,} bytes, {csv_row['rows_per_s']:,} rows/s.",
            f"- entries without a chain hash (not yet backfilled): {data['unchained_entries']:,}.",
            f"- the machine's 1-minute load average at the end: {data.get('load_average_1min')} on "
            f"{data.get('cpus')} CPUs (a shared machine: the max column carries its noise).",
            "",
            "The balance's entry probe on the long-history wallet (EXPLAIN ANALYZE):",
            "",
            "```",
            *data["balance_probe_plan"],
            "```",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1m", help="comma-separated: 1m, 10m")
    parser.add_argument("--migrate", action="store_true", help="manage.py migrate each database first")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--csv-runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=33)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.requests, args.csv_runs, args.seed)))
        return
    sizes = [size.strip() for size in args.sizes.split(",") if size.strip()]
    unknown = [size for size in sizes if size not in SIZES]
    if unknown:
        parser.error(f"unknown sizes {unknown}: choose from {', '.join(SIZES)}")
    results: dict[str, Any] = {"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "sizes": {}}
    json_path = RESULTS / "statements.json"
    if json_path.exists():  # keep the other sizes' last results
        results["sizes"] = json.loads(json_path.read_text()).get("sizes", {})
    for size in sizes:
        results["sizes"][size] = run_size(
            size, migrate=args.migrate, requests=args.requests, csv_runs=args.csv_runs, seed=args.seed
        )
        say(f"{size}: balance-at p99 {results['sizes'][size]['balance_at_http']['p99_ms']} ms")
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    command = ".venv/bin/python bench/statements.py " + " ".join(sys.argv[1:])
    (RESULTS / "statements.md").write_text(markdown(results, command.strip()) + "\n")
    say(f"written {RESULTS / 'statements.md'}")


if __name__ == "__main__":
    main()
