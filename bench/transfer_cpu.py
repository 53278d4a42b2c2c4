"""A transfer's CPU, web process and PostgreSQL backend together, this checkout against a previous
commit, rounds interleaved in one run (issue #33: the hash chain may cost a transfer at most +5 %).

    .venv/bin/python bench/transfer_cpu.py [--ref e0861c6] [--rounds 4] [--duration 15]
    (needs `scripts/stack up --infra`; results in bench/results/transfer_cpu.md and .json)

Why a bench of its own: bench/before_after.py measures the web server's CPU only, and the chain is
computed by a trigger inside PostgreSQL, so what it costs is in the database backend. Here each side
gets a database of its own (`wallet_before`, as before_after.py prepares it from a worktree of the
previous commit, and `wallet_cpu_after`), funded wallets and a web server of its own (2 workers) on
free ports; nothing else connects to either database, so the CPU of the backends connected to it
(read from /proc for the pids pg_stat_activity lists) is the transfers'. wrk sends uniform transfers
at 8 connections; the rounds alternate the order of the sides (ABBA) so drift in the machine's load
falls on both. CPU time per transfer grows when the machine is busy (shared cores and caches), so
the ratio is taken within each round and the target checked on their median. No relay or
consumer runs: their work per event is the same on both sides and is not the request's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from before_after import BEFORE, SOURCE, VENV, before_env, database_url, prepare, say  # noqa: E402
from quiet import cpu_seconds_of, process_group_cpu  # noqa: E402
from worktrees import checkout  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "lua" / "wallet.lua"
AFTER_DB = "wallet_cpu_after"
DEFAULT_REF = "e0861c6"  # main right before the hash chain (issue #33)
WALLETS = 100
CONNECTIONS = 8
TARGET_RATIO = 1.05

SEED = """
import sys
from decimal import Decimal
from io import StringIO
from django.core.management import call_command
from wallets import services
ids = []
for _ in range({wallets}):
    wallet = services.wallet_create(user_id="bench-cpu")
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal("1000000"), initiated_by="bench")
    ids.append(str(wallet.id))
out = StringIO()
call_command("issue_token", "bench-cpu", "--ttl", "86400", "--by", "bench", stdout=out)
print("TOKEN", out.getvalue().strip())
print("IDS", " ".join(ids))
"""


class Side:
    """One side of the comparison: its code, its database, its web server."""

    def __init__(self, name: str, cwd: Path, python: Path, env: dict[str, str], database: str) -> None:
        self.name, self.cwd, self.python, self.env, self.database = name, cwd, python, env, database
        self.web: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.token = ""
        self.ids_file = BEFORE / f"cpu-{name}-ids.txt"

    def manage(self, *args: str, code: str | None = None) -> str:
        command = [str(self.python), "manage.py", *args]
        if code is not None:
            command += ["-c", code]
        return subprocess.run(
            command, cwd=self.cwd, env=self.env, check=True, capture_output=True, text=True
        ).stdout

    def seed(self) -> None:
        output = self.manage("shell", code=SEED.format(wallets=WALLETS))
        fields = dict(line.split(" ", 1) for line in output.splitlines() if line.startswith(("TOKEN", "IDS")))
        self.token = fields["TOKEN"]
        self.ids_file.write_text("\n".join(fields["IDS"].split()) + "\n")

    def start(self) -> None:
        from walletproject.serve import free_port

        self.port = free_port()
        env = {**self.env, "PORT": str(self.port), "HISTORY_PORT": str(free_port()), "WEB_CONCURRENCY": "2"}
        log = (BEFORE / f"cpu-{self.name}-web.log").open("ab")
        self.web = subprocess.Popen(
            [str(self.python), "-m", "walletproject.serve"],
            cwd=self.cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        import urllib.request

        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1) as response:
                    if response.read() == b"OK":
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.web.poll() is not None:
                sys.exit(f"{self.name}: web server did not start; see {log.name}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.web is not None:
            os.killpg(self.web.pid, 15)
            self.web.wait(timeout=30)


def backend_pids(database: str) -> set[int]:
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as connection:
        query = "SELECT pid FROM pg_stat_activity WHERE datname = %s"
        rows = connection.execute(query, [database]).fetchall()
    return {row[0] for row in rows}


def measure(side: Side, duration: int) -> dict[str, Any]:
    assert side.web is not None
    pids_before = backend_pids(side.database)
    db_before = {pid: cpu_seconds_of([pid]) for pid in pids_before}
    web_before = process_group_cpu(side.web.pid)
    env = {**os.environ, "MODE": "transfer", "WALLET_IDS": str(side.ids_file), "TOKEN": side.token}
    result = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration}s", "--timeout", "10s", "-s", str(LUA),
         f"http://127.0.0.1:{side.port}"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    web_cpu = process_group_cpu(side.web.pid) - web_before
    pids_after = backend_pids(side.database)
    db_cpu = sum(cpu_seconds_of([pid]) - db_before.get(pid, 0.0) for pid in pids_after)
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("{"))
    stats = json.loads(line)
    requests = stats["requests"]
    return {
        "side": side.name,
        "transfers": requests,
        "errors": stats["non_2xx"] + stats["socket_errors"],
        "rps": round(requests / (stats["duration_us"] / 1e6), 1),
        "web_cpu_ms": round(web_cpu / requests * 1000, 3),
        "db_cpu_ms": round(db_cpu / requests * 1000, 3),
        "total_cpu_ms": round((web_cpu + db_cpu) / requests * 1000, 3),
        "backends_gone": len(pids_before - pids_after),
    }


def after_source(ref: str | None) -> Path:
    """Where the after side's code is: this checkout, or a worktree of `ref`."""
    return ROOT if ref is None else checkout(ref, BEFORE / "after-src")


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--ref", default=DEFAULT_REF)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument(
        "--after-ref",
        help="measure this commit (from a worktree, with this checkout's virtualenv) instead of the "
        "working tree, which may hold uncommitted work",
    )
    args = parser.parse_args()
    prepare(args.ref)
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {AFTER_DB} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {AFTER_DB}")
    after_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "walletproject.settings",
        "DATABASE_URL": database_url(AFTER_DB),
        "OUTBOX_TASK_QUEUE": "cpu-after",
    }
    sides = [
        Side("before", SOURCE, VENV / "bin" / "python", {**before_env(), "OUTBOX_TASK_QUEUE": "cpu-before"},
             "wallet_before"),
        Side("after", after_source(args.after_ref), ROOT / ".venv" / "bin" / "python", after_env, AFTER_DB),
    ]  # fmt: skip
    sides[1].manage("migrate", "--noinput", "-v", "0")
    sides[1].manage("collectstatic", "--noinput", "-v", "0")
    rows: list[dict[str, Any]] = []
    try:
        for side in sides:
            side.seed()
            side.start()
            say(f"{side.name}: warm-up")
            measure(side, 10)
        for round_no in range(1, args.rounds + 1):
            order = sides if round_no % 2 else sides[::-1]
            for side in order:
                row = {"round": round_no, **measure(side, args.duration)}
                say(json.dumps(row))
                rows.append(row)
    finally:
        for side in sides:
            side.stop()
    keys = ("rps", "web_cpu_ms", "db_cpu_ms", "total_cpu_ms")
    medians = {
        name: {key: statistics.median(r[key] for r in rows if r["side"] == name) for key in keys}
        for name in ("before", "after")
    }
    best = {
        name: min((r for r in rows if r["side"] == name), key=lambda r: r["total_cpu_ms"])
        for name in ("before", "after")
    }
    # Each round measures both sides minutes apart at most: the ratio within a round is the least
    # exposed to the machine's load drifting, so the target is checked on their median.
    round_ratios = [
        round(
            next(r for r in rows if r["round"] == n and r["side"] == "after")["total_cpu_ms"]
            / next(r for r in rows if r["round"] == n and r["side"] == "before")["total_cpu_ms"],
            3,
        )
        for n in range(1, args.rounds + 1)
    ]
    ratio = round(statistics.median(round_ratios), 3)
    lines = [
        f"A transfer's CPU, `{args.ref}` (before the hash chain) against "
        f"`{args.after_ref or 'this checkout'}`, {args.rounds} rounds "
        f"interleaved (ABBA), {args.duration} s of uniform transfers at {CONNECTIONS} connections each: "
        "the web server (2 workers) and its PostgreSQL backends, per transfer.",
        "",
        "| side | rounds' median transfers/s | median web CPU ms | median PostgreSQL CPU ms "
        "| median total CPU ms | best round's total CPU ms |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("before", "after"):
        m = medians[name]
        lines.append(
            f"| {name} | {m['rps']:.0f} | {m['web_cpu_ms']:.3f} | {m['db_cpu_ms']:.3f} | "
            f"{m['total_cpu_ms']:.3f} | {best[name]['total_cpu_ms']:.3f} |"
        )
    best_ratio = best["after"]["total_cpu_ms"] / best["before"]["total_cpu_ms"]
    met = ratio <= TARGET_RATIO
    lines += [
        "",
        "After / before, total CPU per transfer, round by round: "
        f"{', '.join(f'{r:.3f}' for r in round_ratios)}"
        f" (median **{ratio:.3f}**); best round against best round: {best_ratio:.3f}.",
        f"Target: at most {TARGET_RATIO} (the median of the rounds): **{'met' if met else 'not met'}**. "
        f"Non-2xx answers: {sum(r['errors'] for r in rows)}. Load average at the end: "
        f"{os.getloadavg()[0]:.1f} (CPU time per transfer grows on a busy machine: compare within a run).",
        "",
        "Command: `.venv/bin/python bench/transfer_cpu.py"
        f" --ref {args.ref} --rounds {args.rounds} --duration {args.duration}"
        f"{f' --after-ref {args.after_ref}' if args.after_ref else ''}`",
    ]
    report = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "transfer_cpu.md").write_text(report)
    (RESULTS / "transfer_cpu.json").write_text(
        json.dumps(
            {"ref": args.ref, "rows": rows, "medians": medians, "round_ratios": round_ratios}, indent=2
        )
    )
    print(report)


if __name__ == "__main__":
    main()
