"""What a response shows of other people's wallets (issue #30): an end user sees their own wallets'
entries in full and a counterparty's entry without its balance (who paid or was paid, and how much,
never what they hold); of a split, only the legs that touch their wallets. Staff see everything."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import make_client
from wallets.models import Wallet

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_approvals")]


def post(client: Any, path: str, body: Any = None) -> Any:
    return client.post(path, body, format="json")


def leg(source: Wallet, target: Wallet, amount: str) -> dict[str, str]:
    return {"from_wallet_id": str(source.id), "to_wallet_id": str(target.id), "amount": amount}


def balances(entries: list[dict[str, Any]]) -> dict[tuple[str, str], str | None]:
    """(wallet id, type) -> balance_after, of a response's entries."""
    return {(e["wallet_id"], e["type"]): e["balance_after"] for e in entries}


def test_a_payee_sees_who_paid_and_how_much_but_never_the_payers_balance(alice, bob, operator, make_wallet):
    payer, payee = make_wallet("alice", "100"), make_wallet("bob", "5")
    moved = post(alice, f"/wallets/{payer.id}/transfer", {"to_wallet_id": str(payee.id), "amount": "30"})
    assert moved.status_code == 200, moved.json()
    txn = moved.json()["data"][0]["reference_id"]

    seen_by_payee = bob.get(f"/transactions/{txn}").json()["data"]["entries"]
    assert [(e["wallet_id"], e["type"], e["amount"]) for e in seen_by_payee] == [
        (str(payer.id), "TRANSFER_OUT", "30.0000"),
        (str(payee.id), "TRANSFER_IN", "30.0000"),
    ]
    assert balances(seen_by_payee) == {
        (str(payer.id), "TRANSFER_OUT"): None,
        (str(payee.id), "TRANSFER_IN"): "35.0000",
    }
    seen_by_payer = alice.get(f"/transactions/{txn}").json()["data"]["entries"]
    assert balances(seen_by_payer) == {
        (str(payer.id), "TRANSFER_OUT"): "70.0000",
        (str(payee.id), "TRANSFER_IN"): None,
    }
    seen_by_staff = operator.get(f"/transactions/{txn}").json()["data"]["entries"]
    assert balances(seen_by_staff) == {
        (str(payer.id), "TRANSFER_OUT"): "70.0000",
        (str(payee.id), "TRANSFER_IN"): "35.0000",
    }


def test_the_senders_transfer_response_keeps_its_shape_without_the_receivers_balance(
    alice, operator, make_wallet
):
    mine, also_mine, theirs = make_wallet("alice", "100"), make_wallet("alice"), make_wallet("bob", "7")
    out_txn, in_txn = post(
        alice, f"/wallets/{mine.id}/transfer", {"to_wallet_id": str(theirs.id), "amount": "30"}
    ).json()["data"]
    assert set(out_txn) == set(in_txn)  # the same keys as before: the seed's [out_txn, in_txn]
    assert (out_txn["type"], out_txn["balance_after"]) == ("TRANSFER_OUT", "70.0000")
    assert (in_txn["type"], in_txn["amount"], in_txn["balance_after"]) == ("TRANSFER_IN", "30.0000", None)
    # Between one's own wallets, both balances; staff see both anyway.
    own = post(alice, f"/wallets/{mine.id}/transfer", {"to_wallet_id": str(also_mine.id), "amount": "1"})
    assert [t["balance_after"] for t in own.json()["data"]] == ["69.0000", "1.0000"]
    staff = post(operator, f"/wallets/{mine.id}/transfer", {"to_wallet_id": str(theirs.id), "amount": "1"})
    assert [t["balance_after"] for t in staff.json()["data"]] == ["68.0000", "38.0000"]


def test_a_split_participant_sees_only_their_legs_and_no_other_balance(alice, operator, make_wallet):
    buyer, seller, platform = make_wallet("alice", "100"), make_wallet("sam", "1"), make_wallet("pat", "2")
    made = post(alice, "/transactions", {"legs": [leg(buyer, seller, "90"), leg(buyer, platform, "10")]})
    assert made.status_code == 201, made.json()
    created = made.json()["data"]
    # The buyer sent every leg: all legs, their own balances, not the payees'.
    assert [g["index"] for g in created["legs"]] == [0, 1]
    assert balances(created["entries"]) == {
        (str(buyer.id), "TRANSFER_OUT"): "0.0000",  # the last leg's; the first's is below
        (str(seller.id), "TRANSFER_IN"): None,
        (str(platform.id), "TRANSFER_IN"): None,
    }
    assert [e["balance_after"] for e in created["entries"] if e["wallet_id"] == str(buyer.id)] == [
        "10.0000",
        "0.0000",
    ]
    assert alice.get(f"/transactions/{created['id']}").json()["data"] == created

    seller_view = make_client("sam").get(f"/transactions/{created['id']}").json()["data"]
    assert [(g["index"], g["to_wallet_id"]) for g in seller_view["legs"]] == [(0, str(seller.id))]
    assert [(e["leg_index"], e["wallet_id"], e["balance_after"]) for e in seller_view["entries"]] == [
        (0, str(buyer.id), None),
        (0, str(seller.id), "91.0000"),
    ]
    platform_view = make_client("pat").get(f"/transactions/{created['id']}").json()["data"]
    assert [g["index"] for g in platform_view["legs"]] == [1]
    assert [(e["wallet_id"], e["balance_after"]) for e in platform_view["entries"]] == [
        (str(buyer.id), None),
        (str(platform.id), "12.0000"),
    ]

    everything = operator.get(f"/transactions/{created['id']}").json()["data"]
    assert [g["index"] for g in everything["legs"]] == [0, 1]
    assert [e["balance_after"] for e in everything["entries"]] == ["10.0000", "91.0000", "0.0000", "12.0000"]


def test_a_batch_shows_the_sender_no_receivers_balance(alice, make_wallet):
    mine, theirs = make_wallet("alice", "10"), make_wallet("bob", "3")
    response = post(alice, "/transactions/batch", {"transfers": [leg(mine, theirs, "4")]})
    assert response.status_code == 200, response.json()
    (item,) = response.json()["data"]["items"]
    assert [(e["type"], e["balance_after"]) for e in item["entries"]] == [
        ("TRANSFER_OUT", "6.0000"),
        ("TRANSFER_IN", None),
    ]
    atomic = post(alice, "/transactions/batch", {"atomic": True, "transfers": [leg(mine, theirs, "1")]})
    assert atomic.status_code == 201, atomic.json()
    assert [e["balance_after"] for e in atomic.json()["data"]["entries"]] == ["5.0000", None]


def test_a_payee_capturing_a_hold_is_not_shown_the_payers_balance(alice, bob, make_wallet):
    payer, payee = make_wallet("alice", "50"), make_wallet("bob", "1")
    hold = post(alice, f"/wallets/{payer.id}/holds", {"to_wallet_id": str(payee.id), "amount": "20"})
    assert hold.status_code == 201, hold.json()
    captured = post(bob, f"/holds/{hold.json()['data']['id']}/capture")
    assert captured.status_code == 200, captured.json()
    assert [(t["type"], t["balance_after"]) for t in captured.json()["data"]["transactions"]] == [
        ("TRANSFER_OUT", None),
        ("TRANSFER_IN", "21.0000"),
    ]
