"""An end user's movement never locks a sending wallet that is not theirs (issue #30): the lock
statement itself leaves it out (`locks.lock_for_sending`), so a request naming another user's
wallet as its sender is answered not found at once, even while that wallet is locked, instead of
waiting for the lock (DB_LOCK_TIMEOUT_MS, 5 s) or holding it for the whole request.

Proof: a second connection holds bob's wallets `FOR UPDATE`; alice's transfer, hold, split and
batches naming them as senders are answered within a second. Receivers are another matter: a
movement must lock the wallet it pays, whoever owns it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.postgresql.url import database_url
from wallets import services
from wallets.models import Wallet

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("without_approvals")]

PROMPT_SECONDS = 1.5  # the lock timeout is 5 s: a request that waited for the lock takes longer


@contextmanager
def locked_elsewhere(*wallets: Wallet) -> Iterator[None]:
    """The wallets' rows locked FOR UPDATE by another session until the block ends."""
    with psycopg.connect(database_url()) as other:
        other.execute(
            "SELECT id FROM wallets_wallet WHERE id = ANY(%s) FOR UPDATE", [[w.id for w in wallets]]
        ).fetchall()
        yield
        other.rollback()


def timed_post(client: Any, path: str, body: dict[str, Any]) -> tuple[Any, float]:
    started = time.monotonic()
    response = client.post(path, body, format="json")
    return response, time.monotonic() - started


def leg(source: Wallet, target: Wallet, amount: str = "1") -> dict[str, str]:
    return {"from_wallet_id": str(source.id), "to_wallet_id": str(target.id), "amount": amount}


@pytest.mark.parametrize("route", ["transfer", "hold", "split", "atomic batch"])
def test_naming_anothers_locked_wallet_as_sender_is_refused_at_once(alice, make_wallet, snapshot, route):
    mine, theirs, payee = make_wallet("alice", "10"), make_wallet("bob", "10"), make_wallet("carol")
    path, body = {
        "transfer": (f"/wallets/{theirs.id}/transfer", {"to_wallet_id": str(mine.id), "amount": "1"}),
        "hold": (f"/wallets/{theirs.id}/holds", {"to_wallet_id": str(mine.id), "amount": "1"}),
        "split": ("/transactions", {"legs": [leg(mine, payee), leg(theirs, mine)]}),
        "atomic batch": ("/transactions/batch", {"atomic": True, "transfers": [leg(theirs, mine)]}),
    }[route]
    before = snapshot()
    with locked_elsewhere(theirs):
        response, took = timed_post(alice, path, body)
    assert (response.status_code, response.json()["code"]) == (404, "wallet_not_found"), response.json()
    assert took < PROMPT_SECONDS, f"{took:.1f}s: the request waited for a lock on bob's wallet"
    assert snapshot() == before


def test_a_batch_naming_other_peoples_locked_wallets_locks_none_of_them(alice, make_wallet):
    mine, payee = make_wallet("alice", "10"), make_wallet("carol")
    others = [make_wallet(f"victim{n}", "10") for n in range(5)]
    transfers = [leg(victim, mine) for victim in others] + [leg(mine, payee, "3")]
    with locked_elsewhere(*others):
        response, took = timed_post(alice, "/transactions/batch", {"transfers": transfers})
    assert response.status_code == 200, response.json()
    assert took < PROMPT_SECONDS, f"{took:.1f}s: the batch waited for the other users' wallets"
    items = response.json()["data"]["items"]
    assert [(item["status"], item["error"] and item["error"]["code"]) for item in items] == [
        *[("failed", "wallet_not_found")] * 5,
        ("completed", None),
    ]


def test_a_receiver_is_still_locked_and_staff_lock_any_sender(alice, operator, make_wallet):
    """What the lock leaves out is only an end user's unowned sender: paying a wallet that is locked
    elsewhere waits for it (here: until the lock timeout, 409), and so does staff's transfer from it."""
    mine, theirs = make_wallet("alice", "10"), make_wallet("bob", "10")
    with locked_elsewhere(theirs):
        paid, _ = timed_post(
            alice, f"/wallets/{mine.id}/transfer", {"to_wallet_id": str(theirs.id), "amount": "1"}
        )
        staff, _ = timed_post(
            operator, f"/wallets/{theirs.id}/transfer", {"to_wallet_id": str(mine.id), "amount": "1"}
        )
    assert (paid.status_code, paid.json()["code"]) == (409, "conflict")
    assert (staff.status_code, staff.json()["code"]) == (409, "conflict")


def test_the_ownership_check_adds_no_statement_to_a_transfer(make_wallet):
    """The owner is checked by the lock's own statement: an end user's transfer runs as many
    statements as staff's (../shared/notes/performance.md: a round trip is most of the cost)."""
    payer, payee = make_wallet("alice", "10"), make_wallet("bob")
    counts = []
    for owner in (None, "alice", None, "alice"):  # twice each: the second run of a compiled shape
        with CaptureQueriesContext(connection) as queries:
            services.transfer_create(
                from_wallet_id=payer.id,
                to_wallet_id=payee.id,
                amount=Decimal(1),
                initiated_by="alice",
                owner_user_id=owner,
            )
        counts.append(len(queries))
    assert counts[2] == counts[3], counts
