"""Shared fixtures. The suite runs against the real services that `scripts/stack up --infra` started."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

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


def database_url() -> str:
    """The URL of the database this test runs on (pytest's test database), for subprocesses
    (Celery workers, consumers) that must see the data the test committed."""
    import urllib.parse

    from django.db import connection

    db = connection.settings_dict
    user = urllib.parse.quote(db["USER"] or "", safe="")
    password = urllib.parse.quote(db["PASSWORD"] or "", safe="")
    return f"postgres://{user}:{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def make_client(username: str | None, *, staff: bool = False) -> APIClient:
    """An API client with a token for `username` (created if needed); anonymous for None."""
    client = APIClient()
    if username is not None:
        user, _ = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": staff})
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Process caches of rows (system account ids, token -> user) hold rows a previous test's
    database no longer has."""
    from common.caches import forget_all

    forget_all()
    yield
    forget_all()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that stop and start services run last, so they cannot disturb the others."""
    items.sort(key=lambda item: item.get_closest_marker("stack") is not None)
