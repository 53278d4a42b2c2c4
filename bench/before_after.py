"""The previous release and this checkout, benchmarked in turn in one run, and the performance
targets checked against both (issue: halve the CPU a money request costs).

    .venv/bin/python bench/before_after.py [--ref 8464097] [--duration 10] [--rounds 2]
    (needs `make up`; results in bench/results/before_after.md and .json)

Why this shape: the machine is shared and noisy, so numbers are only comparable when measured close
together, each against pgbench in the same run. The previous release runs from a git worktree
(`.stack/before/src`, its own virtualenv, its own database `wallet_before`, Kafka topic, consumer
group and Celery queue, ports 3100/3101), next to the stack's current app; each round runs the
previous release's own `bench/http_bench.py` against it, then this checkout's against the stack, at
16 clients (uniform and hot-wallet transfers, wallet reads), with the whole pipeline of the side
being measured running. The best round of each side is reported (noise only ever slows a run).
Each side's round starts on a quiet machine (`bench/quiet.py`); this checkout's benchmark also waits
before each of its runs and warms up first (a minute in round 1, which also warms the Kafka broker
both sides share, 10 s later); the previous release's own benchmark has no warm-up, so its round 1
is one, and its best round is a warm one.
The previous release's processes are stopped at the end; its worktree and virtualenv are kept.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from quiet import wait_for_quiet  # noqa: E402

BEFORE = ROOT / ".stack" / "before"
SOURCE = BEFORE / "src"
VENV = BEFORE / "venv"
RESULTS = ROOT / "bench" / "results"
DEFAULT_REF = "8464097"  # main before the performance issue's work (gunicorn sync workers)
PORT, HISTORY_PORT = 3100, 3101
SCENARIOS = "transfer,hot,read"

# The targets of the performance issue, checked on this checkout's best round.
TARGET_UNIFORM_VS_PGBENCH = 0.15
TARGET_HOT_VS_UNIFORM = 0.85
TARGET_READ_VS_BEFORE = 2.0
TARGET_WEB_CPU_MS = 1.8
TARGET_P99_MS = 100.0


def say(message: str) -> None:
    print(f"before_after: {message}", flush=True)


def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=True, text=True, **kwargs)


@functools.cache
def database_url(name: str) -> str:
    """A database on the stack's PostgreSQL server (Django set up on first use)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")
    import django

    django.setup()
    from common.postgresql.url import database_url as server_database_url

    return server_database_url(name)


def before_env() -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "DJANGO_"))},
        "DJANGO_SETTINGS_MODULE": "walletproject.settings",
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url("wallet_before"),
        "KAFKA_TOPIC": "wallet-events-before",
        "KAFKA_GROUP_ID": "history-before",
        "OUTBOX_TASK_QUEUE": "before",
        "PORT": str(PORT),
        "HISTORY_PORT": str(HISTORY_PORT),
    }


def prepare(ref: str) -> None:
    """The worktree at `ref`, its virtualenv, its database and topic (each step skipped when done)."""
    BEFORE.mkdir(parents=True, exist_ok=True)
    wanted = run(["git", "rev-parse", ref], cwd=ROOT, capture_output=True).stdout.strip()
    if SOURCE.exists():
        have = run(["git", "rev-parse", "HEAD"], cwd=SOURCE, capture_output=True).stdout.strip()
        if have != wanted:
            run(["git", "worktree", "remove", "--force", str(SOURCE)], cwd=ROOT)
    if not SOURCE.exists():
        say(f"worktree of {ref} in {SOURCE}")
        run(["git", "worktree", "add", "--detach", str(SOURCE), wanted], cwd=ROOT, capture_output=True)
    stamp = VENV / ".installed"
    if not stamp.exists() or stamp.read_text() != wanted:
        say("virtualenv of the previous release (first run only)")
        shutil.rmtree(VENV, ignore_errors=True)
        run([sys.executable, "-m", "venv", str(VENV)])
        run([str(VENV / "bin" / "pip"), "install", "-q", "-r", str(SOURCE / "requirements-dev.txt")])
        stamp.write_text(wanted)
    import psycopg

    admin_url = database_url("postgres")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = 'wallet_before'").fetchone():
            connection.execute("CREATE DATABASE wallet_before")
    python = str(VENV / "bin" / "python")
    env = before_env()
    run([python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=SOURCE, env=env)
    run([python, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=SOURCE, env=env)
    run([python, "manage.py", "kafka_setup"], cwd=SOURCE, env=env, capture_output=True)


def start_previous() -> list[subprocess.Popen[bytes]]:
    """The previous release's app as its stack ran it: its web server (4 workers), a Celery worker on
    its own queue, the history consumer. No beat: its sweeper is a fallback, not the hot path."""
    bin_dir = VENV / "bin"
    env = before_env()
    logs = BEFORE / "logs"
    logs.mkdir(exist_ok=True)
    # A release with walletproject/serve.py runs granian on PORT and HISTORY_PORT (4 workers), as
    # its stack did; an older one gunicorn's sync workers.
    web = (
        [str(bin_dir / "python"), "-m", "walletproject.serve"]
        if (SOURCE / "walletproject" / "serve.py").exists()
        else [
            str(bin_dir / "gunicorn"),
            "walletproject.wsgi:application",
            *("--bind", f"127.0.0.1:{PORT}", "--bind", f"127.0.0.1:{HISTORY_PORT}"),
            *("--workers", "4", "--worker-class", "sync", "--timeout", "30"),
            *("--access-logfile", "-", "--error-logfile", "-", "--no-control-socket"),
        ]
    )
    commands = {
        "web": web,
        "worker": [
            str(bin_dir / "celery"),
            *("-A", "walletproject", "worker", "-Q", "before", "--concurrency", "2"),
            *("--hostname", "before@%h", "--loglevel", "WARNING"),
        ],
        "consumer": [str(bin_dir / "python"), "manage.py", "consume_events"],
    }
    processes = []
    for name, command in commands.items():
        with (logs / f"{name}.log").open("ab") as out:
            processes.append(
                subprocess.Popen(
                    command, cwd=SOURCE, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
    run_dir = SOURCE / ".stack" / "run"  # where the release's http_bench looks for the web's group
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "web.pid").write_text(f"{processes[0].pid}\n")
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/health", timeout=1) as response:
                if response.read() == b"OK":
                    return processes
        except OSError:
            pass
        if time.monotonic() > deadline or processes[0].poll() is not None:
            stop(processes)
            sys.exit(f"the previous release's web did not start; see {logs / 'web.log'}")
        time.sleep(0.5)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def bench(side: str, duration: int, round_no: int) -> dict[str, Any]:
    out = BEFORE / f"http-{side}-{round_no}"
    if side == "before":
        command = [str(VENV / "bin" / "python"), "bench/http_bench.py"]
        cwd, env = SOURCE, before_env()
    else:
        command = [str(ROOT / ".venv" / "bin" / "python"), "bench/http_bench.py"]
        cwd, env = ROOT, {**os.environ, "DJANGO_SETTINGS_MODULE": "walletproject.settings"}
    command += ["--duration", str(duration), "--concurrency", "16", "--scenarios", SCENARIOS]
    if side == "after":
        command += ["--warmup", "60" if round_no == 1 else "10"]
    say(f"round {round_no}: {side}")
    wait_for_quiet(say)
    run([*command, "--out", str(out)], cwd=cwd, env=env, capture_output=True)
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    return {row["scenario"]: row for row in rows}


def web_cpu_ms(row: dict[str, Any]) -> float:
    return round(float(row["web_cpu_s"]) / int(row["requests"]) * 1000, 2)


def summary(best: dict[str, dict[str, Any]], ref: str) -> tuple[str, list[dict[str, Any]]]:
    before, after = best["before"], best["after"]
    lines = [
        f"Previous release `{ref}` and this checkout, 16 clients, whole pipeline running, best of the rounds "
        "(each against pgbench in its own run).",
        "",
        "| | pgbench tps | transfers/s | vs pgbench | hot/s | hot vs uniform | GET /wallets/{id}/s "
        "| transfer p99 ms | web CPU ms/transfer | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, side in (("before", before), ("after", after)):
        transfer, hot, read, pg = side["transfer"], side["hot"], side["read"], side["pgbench-tpcb"]
        errors = sum(side[s]["errors"] for s in ("transfer", "hot", "read"))
        lines.append(
            f"| {name} | {pg['rps']:.0f} | {transfer['rps']:.0f} | {transfer['rps'] / pg['rps']:.3f} | "
            f"{hot['rps']:.0f} | {hot['rps'] / transfer['rps']:.2f} | {read['rps']:.0f} | "
            f"{transfer['p99_ms']:.0f} | {web_cpu_ms(transfer)} | {errors} |"
        )
    transfer, hot, read, pg = after["transfer"], after["hot"], after["read"], after["pgbench-tpcb"]
    checks = [
        ("uniform transfers vs pgbench", transfer["rps"] / pg["rps"], TARGET_UNIFORM_VS_PGBENCH, ">="),
        ("hot wallet vs uniform", hot["rps"] / transfer["rps"], TARGET_HOT_VS_UNIFORM, ">="),
        ("GET /wallets/{id} vs before", read["rps"] / before["read"]["rps"], TARGET_READ_VS_BEFORE, ">="),
        ("web CPU ms per transfer", web_cpu_ms(transfer), TARGET_WEB_CPU_MS, "<="),
        ("transfer p99 ms", transfer["p99_ms"], TARGET_P99_MS, "<="),
        ("non-2xx answers", sum(after[s]["errors"] for s in ("transfer", "hot", "read")), 0, "<="),
    ]
    lines += ["", "| target | measured | wanted | met |", "|---|---|---|---|"]
    verdicts = []
    for name, value, wanted, sense in checks:
        met = value >= wanted if sense == ">=" else value <= wanted
        verdicts.append(
            {"target": name, "measured": round(value, 3), "wanted": f"{sense} {wanted}", "met": met}
        )
        lines.append(f"| {name} | {value:.3g} | {sense} {wanted} | {'yes' if met else '**no**'} |")
    return "\n".join(lines) + "\n", verdicts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ref", default=DEFAULT_REF)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    prepare(args.ref)
    previous = start_previous()
    rounds: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    try:
        for round_no in range(1, args.rounds + 1):
            for side in ("before", "after"):
                rounds[side].append(bench(side, args.duration, round_no))
    finally:
        stop(previous)
    best = {side: max(results, key=lambda r: r["transfer"]["rps"]) for side, results in rounds.items()}
    report, verdicts = summary(best, args.ref)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "before_after.md").write_text(report)
    (RESULTS / "before_after.json").write_text(
        json.dumps({"ref": args.ref, "rounds": rounds, "best": best, "targets": verdicts}, indent=2)
    )
    print(report)


if __name__ == "__main__":
    main()
