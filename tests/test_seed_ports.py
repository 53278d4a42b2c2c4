"""The seed README's flow against the stack's web server on both of its ports.

The seed ran a wallet service on 3000 and a history service on 3001, and its README reads history
with `curl http://localhost:3001/wallets/{id}/history`. Here one server does both, and
`scripts/stack start web` binds it to PORT and HISTORY_PORT, so every seed URL works unchanged
(with a token: this API authenticates). The worker (outbox relay) and the consumer (history) run
too, as `make run` has them; this module starts whichever is stopped and stops it again.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from .conftest import ROOT, stack

pytestmark = pytest.mark.stack

APPS = ("worker", "consumer", "web")
PORTS = (settings.PORT, settings.HISTORY_PORT)


def running(service: str) -> bool:
    line = next(line for line in stack("status").stdout.splitlines() if line.split()[0] == service)
    return "running (pid" in line


@pytest.fixture(scope="module")
def seed_stack() -> Iterator[dict[str, str]]:
    """The app processes of `make run`, and tokens: an operator's and alice's."""
    started = [service for service in APPS if not running(service)]
    for service in started:
        stack("start", service)
    tokens = {
        name: subprocess.run(
            [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "issue_token", name, *flags],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for name, flags in (("seed-operator", ["--operator"]), ("alice", []))
    }
    try:
        yield tokens
    finally:
        for service in reversed(started):
            stack("stop", service)


def call(port: int, method: str, path: str, token: str | None, body: Any = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(
        f"http://localhost:{port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_both_ports_answer_health(seed_stack):
    for port in PORTS:
        assert call(port, "GET", "/health", None) == (200, b"OK")


@pytest.mark.parametrize("write_port", PORTS)
def test_the_seed_readme_flow_on_both_ports(seed_stack, write_port):
    operator, alice = seed_stack["seed-operator"], seed_stack["alice"]
    # Create a wallet; fund it (the seed's two curl commands, on the wallet service's port).
    status, body = call(write_port, "POST", "/wallets", operator, {"user_id": "alice"})
    assert status == 201, body
    wallet = json.loads(body)["data"]
    status, body = call(write_port, "POST", f"/wallets/{wallet['id']}/fund", operator, {"amount": "100.00"})
    assert status == 200, body
    assert json.loads(body)["data"]["balance"] == "100.0000"

    # "Check history (wait 1-2 seconds for event processing)": on 3001, as the seed's README does.
    history = f"/wallets/{wallet['id']}/history"
    deadline = time.monotonic() + 30
    while True:
        status, body = call(settings.HISTORY_PORT, "GET", history, alice)
        assert status == 200, body
        events = json.loads(body)["data"]
        if len(events) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert [e["event_type"] for e in events] == ["WALLET_FUNDED", "WALLET_CREATED"], events
    assert events[0]["amount"] == "100.0000" and events[0]["balance_after"] == "100.0000"

    # Both ports are one server: the same answers, byte for byte.
    for path in (history, f"/wallets/{wallet['id']}", "/users/alice/activity?limit=2"):
        answers = {port: call(port, "GET", path, alice) for port in PORTS}
        assert answers[settings.PORT] == answers[settings.HISTORY_PORT], path
        assert answers[settings.PORT][0] == 200
