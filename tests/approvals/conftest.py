"""Fixtures for the approvals' tests: a maker (an operator who requests), a checker (an operator who
may approve, `grant_approver`), a second checker, and what tests/wallets has (wallets funded through
the real service, the ledger snapshot). The settings are the defaults: every staff reversal, and
funds and withdrawals above 1,000.0000, wait for approval."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import make_approver, make_client
from tests.wallets.conftest import alice, make_wallet, snapshot  # noqa: F401 -- fixtures


@pytest.fixture
def maker(db: Any) -> APIClient:
    return make_client("maker", staff=True)


@pytest.fixture
def checker(db: Any) -> APIClient:
    return make_approver("checker")


@pytest.fixture
def checker2(db: Any) -> APIClient:
    return make_approver("checker2")


def post(client: Any, path: str, body: Any = None, **extra: Any) -> Any:
    return client.post(path, body if body is not None else {}, format="json", **extra)
