"""A 60 s hold is released as `expired` by the stack's running beat (../shared/spec/holds.md).

Nothing here runs the expiry task itself: the stack's beat schedules it every
HOLD_EXPIRY_INTERVAL_SECONDS, its worker runs it, its consumer records the HOLD_RELEASED event, and
this test only talks HTTP to its web server. The stack's database is the real one (not pytest's),
so the test makes its own wallets and token there, as bench/chaos.py does, and uses no DB fixture.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings

from common.times import parse_rfc3339

from .conftest import ROOT, stack

pytestmark = pytest.mark.stack

APPS = ("web", "worker", "beat", "consumer")
EXPIRES_IN = 60


@pytest.fixture(scope="module")
def app_services() -> Iterator[None]:
    """Every app process of the stack running; stopped afterwards only if this module started it."""
    started = [name for name in APPS if "starting" in stack("start", name).stdout]
    yield
    for name in reversed(started):
        stack("stop", name)


@pytest.fixture(scope="module")
def operator_token(app_services: None) -> str:
    result = subprocess.run(
        [
            *(str(ROOT / ".venv" / "bin" / "python"), "manage.py", "issue_token", "expiry-operator"),
            *("--operator", "--ttl", "3600", "--by", "test_hold_expiry"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def call(token: str, method: str, path: str, body: dict[str, Any] | None = None, *, port: int = 0) -> Any:
    """The status and JSON body of a request to the stack's web server (on PORT unless `port`)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port or settings.PORT}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def ok(token: str, method: str, path: str, body: dict[str, Any] | None = None, **kwargs: int) -> Any:
    status, answer = call(token, method, path, body, **kwargs)
    assert 200 <= status < 300, (method, path, status, answer)
    return answer["data"]


def test_a_60_second_hold_is_expired_by_the_running_beat_with_its_event(operator_token: str) -> None:
    token = operator_token
    run = uuid.uuid4().hex[:8]
    payer = ok(token, "POST", "/wallets", {"user_id": f"expiry-{run}-payer"})["id"]
    payee = ok(token, "POST", "/wallets", {"user_id": f"expiry-{run}-payee"})["id"]
    ok(token, "POST", f"/wallets/{payer}/fund", {"amount": "100.00"})
    hold = ok(
        token,
        "POST",
        f"/wallets/{payer}/holds",
        {"to_wallet_id": payee, "amount": "40.00", "expires_in": EXPIRES_IN},
    )
    created = time.monotonic()
    assert hold["status"] == "pending"
    wallet = ok(token, "GET", f"/wallets/{payer}")
    assert (Decimal(wallet["held"]), Decimal(wallet["available"])) == (Decimal(40), Decimal(60))

    # Due after 60 s; the beat's next run and the worker release it; 30 s of slack for a busy machine.
    deadline = created + EXPIRES_IN + settings.HOLD_EXPIRY_INTERVAL_SECONDS + 30
    while (hold := ok(token, "GET", f"/holds/{hold['id']}"))["status"] == "pending":
        assert time.monotonic() < deadline, f"still pending {time.monotonic() - created:.0f}s after: {hold}"
        time.sleep(2)
    assert hold["status"] == "expired", hold
    assert (Decimal(hold["captured_amount"]), hold["transaction_id"]) == (Decimal(0), None)
    expires_at, released_at = parse_rfc3339(hold["expires_at"]), parse_rfc3339(hold["updated_at"])
    assert expires_at is not None and released_at is not None
    # Never before its expiry, and within the minute the spec promises.
    assert expires_at <= released_at < expires_at + timedelta(minutes=1), hold

    wallet = ok(token, "GET", f"/wallets/{payer}")
    assert (Decimal(wallet["balance"]), Decimal(wallet["held"]), Decimal(wallet["available"])) == (
        Decimal(100),
        Decimal(0),
        Decimal(100),
    )
    assert Decimal(ok(token, "GET", f"/wallets/{payee}")["balance"]) == 0
    status, answer = call(token, "POST", f"/holds/{hold['id']}/capture", {})
    assert (status, answer["code"]) == (409, "hold_not_pending")

    # The history is eventually consistent: the consumer records the release shortly after.
    released_query = f"/wallets/{payer}/history?event_type=HOLD_RELEASED&hold_id={hold['id']}"
    deadline = time.monotonic() + 30
    while not (released := ok(token, "GET", released_query, port=settings.HISTORY_PORT)):
        assert time.monotonic() < deadline, "no HOLD_RELEASED in the history 30 s after the expiry"
        time.sleep(1)
    [event] = released
    assert (event["event_type"], event["hold_id"], event["counterparty_wallet_id"]) == (
        "HOLD_RELEASED",
        hold["id"],
        payee,
    )
    assert event["transaction_id"] is None  # released, not captured
    assert (Decimal(event["amount"]), Decimal(event["held_after"]), Decimal(event["balance_after"])) == (
        Decimal(40),
        Decimal(0),
        Decimal(100),
    )
    # The hold's whole story, newest first: created, then released at the next version; no capture.
    story = ok(token, "GET", f"/wallets/{payer}/history?hold_id={hold['id']}", port=settings.HISTORY_PORT)
    assert [(e["event_type"], e["wallet_version"]) for e in story] == [
        ("HOLD_RELEASED", event["wallet_version"]),
        ("HOLD_CREATED", event["wallet_version"] - 1),
    ]
    assert event["wallet_version"] == wallet["version"]
