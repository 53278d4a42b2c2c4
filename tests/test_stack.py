"""scripts/stack drives the real services: the web server answers, and readiness follows outages.

These tests stop and start PostgreSQL, Redis and Kafka, so they run last (see conftest).
"""

from __future__ import annotations

import json
import os
import signal
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
