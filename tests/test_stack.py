"""scripts/stack drives the real services: the web server answers, and readiness follows outages.

These tests stop and start PostgreSQL, Redis and Kafka, so they run last (see conftest).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings

from .conftest import ROOT, stack

pytestmark = pytest.mark.stack

BASE = f"http://127.0.0.1:{settings.PORT}"
# The readiness report names the database check "database"; the stack calls the service "postgres".
CHECK_NAME = {"postgres": "database", "redis": "redis", "kafka": "kafka"}


def get(path: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(BASE + path, timeout=10) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers["Content-Type"]


def wait_ready(expected_status: int, timeout: float = 60.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        status, body, _ = get("/health/ready")
        if status == expected_status or time.monotonic() > deadline:
            assert status == expected_status, body
            return dict(json.loads(body))
        time.sleep(0.5)


@pytest.fixture(scope="module")
def web_server():
    """gunicorn as `make run` starts it; stopped again if this module started it."""
    was_running = "web       running" in stack("status").stdout
    if not was_running:
        stack("start", "web")
    yield
    if not was_running:
        stack("stop", "web")


def test_stack_up_twice_is_harmless():
    result = stack("up", "--infra")
    for service in ("postgres", "redis", "kafka"):
        assert f"{service}: already running" in result.stdout


def test_status_lists_every_service():
    lines = stack("status").stdout.splitlines()
    names = [line.split()[0] for line in lines]
    assert names == ["postgres", "redis", "kafka", "web", "worker", "beat", "consumer"]
    for line in lines[:3]:
        assert "running (pid" in line


def test_gunicorn_serves_health(web_server):
    assert get("/health") == (200, b"OK", "text/plain")
    assert wait_ready(200)["down"] == []


@pytest.mark.parametrize("service", ["kafka", "redis", "postgres"])
def test_ready_names_a_stopped_service_and_recovers(web_server, service):
    stack("stop", service)
    try:
        body = wait_ready(503, timeout=30)
        assert body["down"] == [CHECK_NAME[service]]
        assert body["status"] == "unavailable"
        # Liveness does not depend on the service.
        assert get("/health")[0] == 200
    finally:
        stack("start", service)
    assert wait_ready(200)["down"] == []
    if service == "kafka":  # a broker restart must not leave the lag unreadable (a stale admin client)
        deadline = time.monotonic() + 20
        while "error" in wait_ready(200)["consumer_lag"]:  # type: ignore[operator]
            assert time.monotonic() < deadline, "consumer lag still unreadable 20 s after Kafka came back"
            time.sleep(0.5)
        for _ in range(12):
            assert "error" not in wait_ready(200)["consumer_lag"]  # type: ignore[operator]


def app_state(service: str) -> str:
    line = next(line for line in stack("status").stdout.splitlines() if line.split()[0] == service)
    return line.split(None, 1)[1]


def wait_state(service: str, fragment: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while fragment not in (state := app_state(service)):
        assert time.monotonic() < deadline, f"{service} is '{state}', not '{fragment}', after {timeout:.0f}s"
        time.sleep(0.5)
    return state


def test_a_killed_app_process_is_restarted_and_a_stopped_one_stays_stopped():
    """The supervisor brings back a worker that died (SIGKILL of its whole process group), logs it
    and counts it; `stack stop` is obeyed: no restart after it."""
    was_running = "running (pid" in app_state("worker")
    stack("start", "worker")
    try:
        log = ROOT / ".stack" / "logs" / "worker.log"
        offset = log.stat().st_size
        before = int(app_state("worker").split("restarts: ")[1])
        pid = int((ROOT / ".stack" / "run" / "worker.pid").read_text())
        os.killpg(pid, signal.SIGKILL)
        state = wait_state("worker", f"restarts: {before + 1}")
        state = wait_state("worker", "running (pid")
        assert f"(pid {pid})" not in state, "a new process, not the killed one"
        assert "exited unexpectedly (killed by SIGKILL)" in log.read_text()[offset:]

        stack("stop", "worker")
        time.sleep(3)  # longer than the first back-off: a restart would have happened
        assert app_state("worker") == "stopped"
    finally:
        if was_running:
            stack("start", "worker")


def post(path: str, token: str, body: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(
        BASE + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def test_a_stopped_worker_shows_as_a_stalled_relay_and_clears_once_started(web_server):
    """`stack stop worker`: it stays stopped, and readiness (still 200) reports the outbox as stalled
    once the oldest pending event is older than OUTBOX_STALL_SECONDS; `start worker` drains it."""
    was_running = "running (pid" in app_state("worker")
    stack("stop", "worker")
    token = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "issue_token", "stall-operator", "--operator"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        wallet = post("/wallets", token, {"user_id": "stall-user"})["data"]
        committed = time.monotonic()
        post(f"/wallets/{wallet['id']}/fund", token, {"amount": "5.00"})  # type: ignore[index]
        stall_seconds = settings.OUTBOX_STALL_SECONDS
        deadline = committed + stall_seconds + 10
        while (outbox := wait_ready(200)["outbox"])["status"] != "stalled":  # type: ignore[index]
            assert time.monotonic() < deadline, f"not reported stalled within {stall_seconds + 10:.0f}s"
            time.sleep(1)
        assert time.monotonic() - committed >= stall_seconds - 1, "not before the threshold"
        assert outbox["pending"] >= 2  # type: ignore[index]
        assert app_state("worker") == "stopped", "a worker stopped on purpose stays stopped"
    finally:
        stack("start", "worker")
    deadline = time.monotonic() + 30
    while (outbox := wait_ready(200)["outbox"])["status"] != "ok" or outbox["pending"]:  # type: ignore[index]
        assert time.monotonic() < deadline, f"the relay did not drain and clear: {outbox}"
        time.sleep(0.5)
    if not was_running:
        stack("stop", "worker")
