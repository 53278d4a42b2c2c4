"""The HTTP side of the volume benchmark: a web server (and relay, consumer) of the benchmark's own on a
volume database, request latencies of the history pages, the admin and the probes, and wrk's
uniform transfers (bench/http_bench.py's script) against it.

Each side runs as the stack runs it (`python -m walletproject.serve`, a Celery worker on its own
queue, `consume_events` in its own group), on its own ports, queue, topic and cache prefix, so two
databases can be measured in turn in one run.
"""

# ruff: noqa: S608 -- SQL built from module constants (table and schema names); values are parameters

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from quiet import wait_for_quiet

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
CELERY = ROOT / ".venv" / "bin" / "celery"
ADMIN_USER = "volume-admin"
ADMIN_PASSWORD = "volume-admin-password"  # noqa: S105 -- a benchmark database's own superuser


@dataclass
class Side:
    """One database's app: where it listens and which queue, topic and group it uses."""

    name: str  # e.g. wallet_volume_10m
    url: str  # its DATABASE_URL
    topic: str
    port: int
    history_port: int
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def history_base(self) -> str:
        return f"http://127.0.0.1:{self.history_port}"

    def env(self) -> dict[str, str]:
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
        return {
            **{k: v for k, v in os.environ.items() if k in keep},
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "walletproject.settings",
            "DATABASE_URL": self.url,
            "KAFKA_TOPIC": self.topic,
            "KAFKA_GROUP_ID": f"history-{self.name}",
            "OUTBOX_TASK_QUEUE": self.name,
            "CACHE_KEY_PREFIX": self.name,
            "PORT": str(self.port),
            "HISTORY_PORT": str(self.history_port),
            "PGAPPNAME": f"volume-{self.name}",
        }


def manage(side: Side, *args: str) -> str:
    """A management command on the side's database; its stdout."""
    result = subprocess.run(
        [str(PYTHON), "manage.py", *args], cwd=ROOT, env=side.env(), capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def operator_token(side: Side) -> str:
    return manage(
        side, "issue_token", "volume-operator", "--operator", "--ttl", "86400", "--by", "bench"
    ).strip()


# The throughput step's wallets have one owner, whose token moves money between them as customers'
# requests do (an operator's transfers of customers' money pass the staff policy and its limits).
THROUGHPUT_OWNER = "volume-bench"


def owner_wallets(side: Side, count: int) -> tuple[str, list[str]]:
    """`count` funded wallets of THROUGHPUT_OWNER on the side's database (made through the
    services on first use, kept), and a new token of that owner."""
    code = (
        "from decimal import Decimal; from wallets import services; from wallets.models import Wallet; "
        f"ids = [str(i) for i in Wallet.objects.filter(user_id={THROUGHPUT_OWNER!r})"
        f".order_by('created_at', 'id').values_list('id', flat=True)[:{count}]]\n"
        f"for _ in range(len(ids), {count}):\n"
        f"    w = services.wallet_create(user_id={THROUGHPUT_OWNER!r}); ids.append(str(w.id))\n"
        "    services.wallet_fund(wallet_id=w.id, amount=Decimal('1000000'), initiated_by='bench')\n"
        "print(' '.join(ids))"
    )
    ids = manage(side, "shell", "-c", code).split()
    token = manage(side, "issue_token", THROUGHPUT_OWNER, "--ttl", "86400", "--by", "bench").strip()
    return token, ids


def ensure_superuser(side: Side) -> None:
    code = (
        "from django.contrib.auth import get_user_model; U = get_user_model(); "
        f"u, _ = U.objects.get_or_create(username={ADMIN_USER!r}); u.is_staff = u.is_superuser = True; "
        f"u.set_password({ADMIN_PASSWORD!r}); u.save()"
    )
    manage(side, "shell", "-c", code)


def start(side: Side, *, pipeline: bool) -> None:
    """The web server (and with `pipeline` the relay worker and the history consumer)."""
    side.logs.mkdir(parents=True, exist_ok=True)
    commands: dict[str, list[str]] = {"web": [str(PYTHON), "-m", "walletproject.serve"]}
    if pipeline:
        commands["worker"] = [
            str(CELERY),
            *("-A", "walletproject", "worker", "-Q", side.name, "--concurrency", "2"),
            *("--hostname", f"{side.name}@%h", "--loglevel", "WARNING"),
        ]
        commands["consumer"] = [str(PYTHON), "manage.py", "consume_events"]
    for name, command in commands.items():
        if name == "web" and side.processes:
            continue  # already serving
        with (side.logs / f"{side.name}-{name}.log").open("ab") as out:
            side.processes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=side.env(),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
    deadline = time.monotonic() + 90
    for base in (side.base, side.history_base):
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base}/health", timeout=1).text == "OK":
                    break
            if time.monotonic() > deadline or side.processes[0].poll() is not None:
                stop(side)
                sys.exit(f"the web server of {side.name} did not start; see {side.logs}")
            time.sleep(0.3)


def stop(side: Side) -> None:
    for process in side.processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in side.processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    side.processes.clear()


@contextlib.contextmanager
def serving(side: Side, *, pipeline: bool = False) -> Iterator[Side]:
    start(side, pipeline=pipeline)
    try:
        yield side
    finally:
        stop(side)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def timed(session: requests.Session, url: str, count: int, **kwargs: Any) -> dict[str, Any]:
    """`count` sequential GETs of `url` on one keep-alive connection (after 3 discarded), on a
    quiet machine (bench/quiet.py: another process's burst would land in the tail)."""
    waited = wait_for_quiet(lambda message: print(f"volume: {message}", flush=True), timeout=60)
    samples = []
    status = set()
    for number in range(count + 3):
        started = time.perf_counter()
        response = session.get(url, timeout=30, **kwargs)
        elapsed = (time.perf_counter() - started) * 1000
        status.add(response.status_code)
        if number >= 3:
            samples.append(elapsed)
    return {
        "requests": count,
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(percentile(samples, 0.99), 2),
        "max_ms": round(max(samples), 2),
        "status": sorted(status),
        "quiet_wait_s": waited,
    }


def deep_url(session: requests.Session, url: str, pages: int) -> tuple[str, int]:
    """The URL of page `pages + 1` of a listing (following `next_cursor`), and how deep it is."""
    current = url
    for page in range(pages):
        body = session.get(current, timeout=30).json()
        cursor = body.get("next_cursor")
        if not cursor:
            return current, page
        joiner = "&" if "?" in url else "?"
        current = f"{url}{joiner}cursor={urllib.parse.quote(cursor)}"
    return current, pages


def api_latencies(
    side: Side,
    token: str,
    long_wallet: str,
    long_user: str,
    regular_wallet: str,
    requests_each: int,
    pages: int,
) -> list[dict[str, Any]]:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    rows = []
    listings = [
        ("GET /wallets/{id}/transactions", f"{side.base}/wallets/{long_wallet}/transactions"),
        ("GET /wallets/{id}/history", f"{side.history_base}/wallets/{long_wallet}/history"),
        ("GET /users/{id}/activity", f"{side.base}/users/{long_user}/activity"),
    ]
    for name, url in listings:
        rows.append({"endpoint": name, "page": "first", **timed(session, url, requests_each)})
        deep, depth = deep_url(session, url, pages)
        rows.append({"endpoint": name, "page": f"deep ({depth + 1})", **timed(session, deep, requests_each)})
    for name, url in (
        (
            "GET /wallets/{id}/history (an ordinary wallet)",
            f"{side.history_base}/wallets/{regular_wallet}/history",
        ),
    ):
        rows.append({"endpoint": name, "page": "first", **timed(session, url, requests_each)})
    for name, url in (
        ("GET /metrics", f"{side.base}/metrics"),
        ("GET /health/ready", f"{side.base}/health/ready"),
    ):
        rows.append({"endpoint": name, "page": "", **timed(session, url, requests_each)})
    return rows


def admin_session(side: Side) -> requests.Session:
    session = requests.Session()
    login = f"{side.base}/admin/login/"
    session.get(login, timeout=30)
    response = session.post(
        login,
        data={
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "csrfmiddlewaretoken": session.cookies.get("csrftoken", ""),
            "next": "/admin/",
        },
        headers={"Referer": login},
        timeout=30,
    )
    if "sessionid" not in session.cookies:
        raise RuntimeError(f"admin login failed ({response.status_code})")
    return session


def admin_latencies(side: Side, paths: list[tuple[str, str]], requests_each: int) -> list[dict[str, Any]]:
    session = admin_session(side)
    rows = []
    for name, path in [("admin overview (/admin/)", "/admin/"), *paths]:
        rows.append({"endpoint": name, "page": path, **timed(session, f"{side.base}{path}", requests_each)})
    return rows


def wallet_ids_file(side: Side, ids: list[str]) -> Path:
    path = side.logs / f"{side.name}-wallets.txt"
    path.parent.mkdir(parents=True, exist_ok=True)  # a run of the throughput step alone starts here
    path.write_text("\n".join(ids) + "\n")
    return path


def run_wrk(side: Side, ids_file: Path, token: str, duration: int, concurrency: int) -> dict[str, Any]:
    """Uniform transfers among the wallets of `ids_file` (bench/lua/wallet.lua, MODE=transfer)."""
    env = {**os.environ, "MODE": "transfer", "WALLET_IDS": str(ids_file), "TOKEN": token, "HOT_WALLET": ""}
    result = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{concurrency}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(ROOT / "bench" / "lua" / "wallet.lua"),
            side.base,
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{result.stdout}{result.stderr}")
    stats = json.loads(line)
    seconds = stats["duration_us"] / 1e6
    return {
        "requests": stats["requests"],
        "rps": round(stats["requests"] / seconds, 1),
        "errors": stats["non_2xx"] + stats["socket_errors"],
        "p50_ms": stats["p50_us"] / 1000,
        "p99_ms": stats["p99_us"] / 1000,
    }


def outbox_pending(side: Side) -> int:
    import psycopg

    with psycopg.connect(side.url) as connection:
        columns = {
            row[0]
            for row in connection.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'kafka_bridge_outboxevent'"
            )
        }
        where = " WHERE published_at IS NULL" if "published_at" in columns else ""
        row = connection.execute(f"SELECT count(*) FROM kafka_bridge_outboxevent{where}").fetchone()
        return int(row[0]) if row else 0


def wait_drained(side: Side, timeout: float = 120) -> float:
    """Seconds until the side's outbox has nothing pending (the relay kept up or caught up)."""
    started = time.monotonic()
    while outbox_pending(side) and time.monotonic() - started < timeout:
        time.sleep(0.5)
    return round(time.monotonic() - started, 1)
