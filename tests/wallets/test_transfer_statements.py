"""An end user's transfer over HTTP makes exactly two statements, whatever the staff policy, the
ledger guards and the revocation counter added around it: the lock (which checks ownership in the
same statement) and the write. The token is checked from the worker's cache, no query."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import make_client
from wallets import services

pytestmark = pytest.mark.django_db


def test_an_end_users_transfer_is_the_lock_and_the_write():
    alice = make_client("alice")
    mine, theirs = services.wallet_create(user_id="alice"), services.wallet_create(user_id="bob")
    services.wallet_fund(wallet_id=mine.id, amount=Decimal("10"), initiated_by="test")
    path, body = f"/wallets/{mine.id}/transfer", {"to_wallet_id": str(theirs.id), "amount": "1"}
    assert alice.get(f"/wallets/{mine.id}").status_code == 200  # the token is now cached
    with CaptureQueriesContext(connection) as queries:
        assert alice.post(path, body, format="json").status_code == 200
    # (The test's own transaction turns the request's into a savepoint: not a statement it makes.)
    statements = [query["sql"] for query in queries if "SAVEPOINT" not in query["sql"]]
    assert len(statements) == 2, statements
    assert "FOR NO KEY UPDATE" in statements[0]
    assert statements[1].lstrip().startswith("WITH new_balances")
