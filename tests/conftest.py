"""Shared fixtures. The suite runs against the real services that `scripts/stack up --infra` started."""

from __future__ import annotations

import copy
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from common.postgresql.url import database_url
from walletproject import serve
from wallets.tokens import token_issue

ROOT = Path(__file__).resolve().parent.parent
STACK = ROOT / "scripts" / "stack"


def stack(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run scripts/stack and return its output; fail the test with that output if it failed."""
    result = subprocess.run([str(STACK), *args], capture_output=True, text=True, cwd=ROOT, timeout=300)
    if check and result.returncode != 0:
        pytest.fail(
            f"scripts/stack {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result


def brokers() -> str:
    from django.conf import settings

    return str(settings.KAFKA_BROKERS)


class TokenClient(APIClient):
    """An API client that sends a token; `token_key` is that key (None: anonymous)."""

    token_key: str | None = None


def issue_key(username: str, *, staff: bool = False) -> str:
    """A new token key for `username` (created if needed), made the way issue_token makes one."""
    user, _ = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": staff})
    return token_issue(user=user, ttl=None, actor="tests", via="tests")


@contextmanager
def web_server(env: dict[str, str], log: Path, *, workers: int = 2) -> Iterator[str]:
    """The web server of the test's own, started as the stack starts it (`walletproject.serve`:
    granian on two free loopback ports), in its own process group; yields the base URL of PORT
    once `/health` answers on both, and stops it on the way out."""
    try:
        with serve.in_background(env, log, workers=workers) as base_url:
            yield base_url
    except serve.NotHealthy as exc:
        pytest.fail(str(exc))


def test_database_env() -> dict[str, str]:
    """The environment of a process of the test's own on the test database: no connection left open
    when the database is dropped, tokens checked on every request."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DB_CONN_MAX_AGE": "0",
        "API_TOKEN_CACHE_SECONDS": "0",
    }


@pytest.fixture
def live_server_url(transactional_db: Any, tmp_path: Path) -> Iterator[str]:
    """A web server of the test's own on the test database (committed rows: transactional_db)."""
    with web_server(test_database_env(), tmp_path / "web.log") as base_url:
        yield base_url


def as_rendered(form: dict[str, Any]) -> dict[str, Any]:
    """An admin money form's fields as a freshly rendered form posts them: with a new one-time token
    (common.admin.run_once acts once per token)."""
    from common.admin import ONCE_FIELD, new_once_token

    return {**form, ONCE_FIELD: new_once_token()}


def behind_the_ledgers_back(sql: str, params: list[Any]) -> None:
    """Run `sql` with the money-state guards of the wallet and hold tables off (migration 0011), as
    only a table's owner or a superuser could: how a test makes what reconcile must find."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        # The checks this transaction's writes queued run now: a table with queued checks cannot
        # be altered. Then they are deferred again, as they are by default.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute("ALTER TABLE wallets_wallet DISABLE TRIGGER wallet_money_guard")
        cursor.execute("ALTER TABLE wallets_wallet DISABLE TRIGGER wallet_money_explained")
        cursor.execute("ALTER TABLE wallets_hold DISABLE TRIGGER USER")
        try:
            with transaction.atomic():  # a refusal rolls back to here, and the guards go back on
                cursor.execute(sql, params)
        finally:
            cursor.execute("ALTER TABLE wallets_hold ENABLE TRIGGER USER")
            cursor.execute("ALTER TABLE wallets_wallet ENABLE TRIGGER wallet_money_explained")
            cursor.execute("ALTER TABLE wallets_wallet ENABLE TRIGGER wallet_money_guard")


def make_client(username: str | None, *, staff: bool = False) -> TokenClient:
    """An API client with a new token for `username` (created if needed); anonymous for None."""
    client = TokenClient()
    if username is not None:
        client.token_key = issue_key(username, staff=staff)
        client.credentials(HTTP_AUTHORIZATION=f"Token {client.token_key}")
    return client


def make_approver(username: str) -> TokenClient:
    """A staff client that may approve other operators' adjustments (`manage.py grant_approver`)."""
    from django.core.management import call_command

    client = make_client(username, staff=True)
    call_command("grant_approver", username, stdout=open(os.devnull, "w"))  # noqa: SIM115
    return client


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Process caches of rows (system account ids, token -> user) hold rows a previous test's
    database no longer has."""
    from common.caches import forget_all

    forget_all()
    yield
    forget_all()


@pytest.fixture
def without_approvals(settings: Any) -> None:
    """For tests of something other than the approvals that reverse, or fund or withdraw more than
    1,000, as staff: no staff adjustment waits for a second operator. The default (every reversal,
    and funds and withdrawals above 1,000.0000) is the approvals' tests' (tests/approvals/)."""
    from wallets.money import MAX_MONEY

    settings.APPROVAL_ALL_REVERSALS = False
    settings.APPROVAL_THRESHOLDS = {}
    settings.APPROVAL_THRESHOLD_DEFAULT = MAX_MONEY
    lift_rolling_limits(settings)


def lift_rolling_limits(settings: Any) -> None:
    """No operator's or wallet's rolling limit (approvals/policy.py) is ever reached."""
    from wallets.money import MAX_MONEY

    settings.APPROVAL_OPERATOR_LIMITS, settings.APPROVAL_WALLET_LIMITS = {}, {}
    settings.APPROVAL_OPERATOR_LIMIT_DEFAULT = settings.APPROVAL_WALLET_LIMIT_DEFAULT = MAX_MONEY * 1000


@pytest.fixture
def no_rolling_limits(settings: Any) -> None:
    """For tests of the per-request threshold alone: the rolling limits are never reached."""
    lift_rolling_limits(settings)


@pytest.fixture(autouse=True)
def _own_throttle_counters(settings: Any) -> None:
    """Throttle counters live in the real Redis under the cache's key prefix: each test gets a prefix
    of its own, so one test's failed authentications never throttle another's (or another run's)."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that stop and start services run last, so they cannot disturb the others."""
    items.sort(key=lambda item: item.get_closest_marker("stack") is not None)
