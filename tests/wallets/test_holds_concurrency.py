"""Holds under contention, against the real PostgreSQL with real threads (the pattern of
test_concurrency.py: one APIClient and one database connection per thread, committed data).

30 holds of 10 racing for 100 available: exactly 10 succeed. Holds, captures, voids, transfers and
withdrawals racing on one wallet: never below zero available, never a deadlock or 409, and every
wallet's events are one per version. Capture and void racing on one hold: exactly one wins.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum

from kafka_bridge.models import OutboxEvent
from tests.conftest import make_client
from tests.wallets.test_concurrency import new_wallet, run_in_threads
from wallets.models import Hold, LedgerEntry, Wallet

pytestmark = pytest.mark.django_db(transaction=True)


def assert_consistent(wallet: Wallet) -> None:
    """held is the sum of the pending holds; balance is the sum of the entries; each version has
    exactly one event, with balance and held never out of bounds."""
    wallet.refresh_from_db()
    pending = Hold.objects.filter(from_wallet=wallet, status="pending").aggregate(s=Sum("amount"))["s"]
    assert wallet.held == (pending or 0)
    assert wallet.balance == (LedgerEntry.objects.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"] or 0)
    assert 0 <= wallet.held <= wallet.balance
    payloads = [row.payload for row in OutboxEvent.objects.filter(aggregateid=str(wallet.id))]
    assert sorted(p["wallet_version"] for p in payloads) == list(range(wallet.version + 1))
    for payload in payloads:
        assert Decimal(payload["held_after"]) <= Decimal(payload["balance_after"]), payload


def test_thirty_holds_of_ten_racing_for_a_hundred_exactly_ten_succeed():
    payer, payee = new_wallet("alice", Decimal(100)), new_wallet("bob")
    clients = [make_client("alice") for _ in range(30)]
    statuses: list[tuple[int, str | None]] = []

    def work(index: int, barrier: threading.Barrier) -> None:
        barrier.wait()
        response = clients[index].post(
            f"/wallets/{payer.id}/holds", {"to_wallet_id": str(payee.id), "amount": "10"}, format="json"
        )
        statuses.append((response.status_code, response.json().get("code")))

    run_in_threads(30, work)
    assert Counter(statuses) == {(201, None): 10, (400, "insufficient_funds"): 20}
    payer.refresh_from_db()
    assert (payer.balance, payer.held, payer.available, payer.version) == (
        Decimal(100),
        Decimal(100),
        Decimal(0),
        11,
    )
    assert Hold.objects.filter(status="pending").count() == 10
    assert_consistent(payer)


def test_holds_captures_voids_transfers_and_withdrawals_racing_on_one_wallet():
    payer = new_wallet("alice", Decimal(500))
    payees = [new_wallet(f"payee{n}", Decimal(0)) for n in range(2)]
    operator = [make_client("ops", staff=True) for _ in range(6)]
    rng = random.Random(7)
    outcomes: list[tuple[str, int, str | None]] = []
    lock = threading.Lock()
    created: list[str] = []

    def work(index: int, barrier: threading.Barrier) -> None:
        client = operator[index]
        local = random.Random(rng.random() + index)
        barrier.wait()
        for _ in range(25):
            action = local.choice(["hold", "hold", "capture", "void", "transfer", "withdraw"])
            payee = local.choice(payees)
            amount = f"{local.randint(1, 4000) / 100:.2f}"
            if action == "hold":
                response = client.post(
                    f"/wallets/{payer.id}/holds",
                    {"to_wallet_id": str(payee.id), "amount": amount},
                    format="json",
                )
                if response.status_code == 201:
                    with lock:
                        created.append(response.json()["data"]["id"])
            elif action in ("capture", "void"):
                with lock:
                    hold_id = local.choice(created) if created else None
                if hold_id is None:
                    continue
                body = {"amount": "0.01"} if action == "capture" and local.random() < 0.5 else {}
                response = client.post(f"/holds/{hold_id}/{action}", body, format="json")
            elif action == "transfer":
                response = client.post(
                    f"/wallets/{payer.id}/transfer",
                    {"to_wallet_id": str(payee.id), "amount": amount},
                    format="json",
                )
            else:
                response = client.post(f"/wallets/{payer.id}/withdraw", {"amount": amount}, format="json")
            outcomes.append((action, response.status_code, response.json().get("code")))

    run_in_threads(6, work)
    allowed = {None, "insufficient_funds", "hold_not_pending"}
    unexpected = [
        o
        for o in outcomes
        if o[1] >= 500 or (o[1] == 409 and o[2] != "hold_not_pending") or o[2] not in allowed
    ]
    assert not unexpected, unexpected
    succeeded = Counter(action for action, status, _ in outcomes if status < 300)
    assert set(succeeded) == {"hold", "capture", "void", "transfer", "withdraw"}, succeeded
    for wallet in (payer, *payees):
        assert_consistent(wallet)


def race_capture_and_void(round_number: int) -> None:
    payer, payee = new_wallet(f"p{round_number}", Decimal(50)), new_wallet(f"q{round_number}")
    staff = make_client("ops", staff=True)
    hold_id = staff.post(
        f"/wallets/{payer.id}/holds", {"to_wallet_id": str(payee.id), "amount": "50"}, format="json"
    ).json()["data"]["id"]
    clients = [make_client("ops", staff=True) for _ in range(4)]
    results: list[tuple[str, int, Any]] = []

    def work(index: int, barrier: threading.Barrier) -> None:
        action = "capture" if index % 2 == 0 else "void"
        barrier.wait()
        response = clients[index].post(f"/holds/{hold_id}/{action}", {}, format="json")
        results.append((action, response.status_code, response.json().get("code")))

    run_in_threads(4, work)
    winners = [r for r in results if r[1] == 200]
    assert len(winners) == 1, results
    assert sorted(r[2] for r in results if r[1] != 200) == ["hold_not_pending"] * 3
    hold = Hold.objects.get(id=hold_id)
    assert hold.status == ("captured" if winners[0][0] == "capture" else "voided")
    payee.refresh_from_db()
    assert payee.balance == (50 if hold.status == "captured" else 0)
    assert_consistent(payer)


def test_capture_and_void_racing_on_one_hold_exactly_one_wins():
    for round_number in range(5):
        race_capture_and_void(round_number)
