"""Reversals and ledger transactions over HTTP (../shared/spec/holds.md): staff reverse a completed
fund, withdrawal, transfer or capture once, with a recorded reason; a reversal cannot be reversed;
never a negative balance or held above balance; GET /transactions/{id} to whoever may see one of
its wallets. Also the admin's reverse action.

These tests are of the reversal itself: by default every staff reversal first waits for a second
operator's approval (issue #23, tests/approvals/), which `without_approvals` turns off here."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import IntegrityError, transaction

from kafka_bridge.models import OutboxEvent
from tests.conftest import as_rendered, make_client
from wallets.models import LedgerTransaction, Wallet

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_approvals")]


def post(client: Any, path: str, body: Any = None, **extra: Any) -> Any:
    return client.post(path, body if body is not None else {}, format="json", **extra)


def last_txn(client: Any, wallet: Any) -> str:
    """The ledger transaction of the wallet's newest entry (its reference_id)."""
    return client.get(f"/wallets/{wallet.id}/transactions").json()["data"][0]["reference_id"]


def last_event(wallet: Any) -> dict[str, Any]:
    return OutboxEvent.objects.filter(aggregateid=str(wallet.id)).order_by("-id").first().payload


def test_reversing_a_transfer_writes_the_opposite_entries_linked_both_ways(operator, alice, make_wallet):
    payer, payee = make_wallet("alice", "100"), make_wallet("bob")
    legs = post(
        alice, f"/wallets/{payer.id}/transfer", {"to_wallet_id": str(payee.id), "amount": "30"}
    ).json()["data"]
    original = legs[0]["reference_id"]

    response = post(operator, f"/transactions/{original}/reverse", {"reason": "duplicate order"})
    assert response.status_code == 201, response.json()
    reversal = response.json()["data"]
    assert (reversal["kind"], reversal["reverses"], reversal["reason"]) == (
        "REVERSAL",
        original,
        "duplicate order",
    )
    assert [(e["wallet_id"], e["type"], e["amount"]) for e in reversal["entries"]] == [
        (str(payee.id), "REVERSAL_OUT", "30.0000"),
        (str(payer.id), "REVERSAL_IN", "30.0000"),
    ]
    payer.refresh_from_db()
    payee.refresh_from_db()
    assert (payer.balance, payer.version, payee.balance, payee.version) == (100, 3, 0, 2)
    stored = LedgerTransaction.objects.get(id=reversal["id"])
    assert (stored.initiated_by, stored.reason) == ("ops", "duplicate order")

    # Linked both ways, visible to the wallets' owners (an entry id works as well as the transaction's).
    shown = alice.get(f"/transactions/{original}").json()["data"]
    assert shown["reversed_by"] == reversal["id"]
    assert alice.get(f"/transactions/{legs[0]['transaction_id']}").json()["data"]["id"] == original
    assert make_client("bob").get(f"/transactions/{reversal['id']}").json()["data"]["reverses"] == original

    out, into = last_event(payee), last_event(payer)
    assert (out["event_type"], out["amount"], out["balance_after"], out["wallet_version"]) == (
        "REVERSAL_OUT",
        "30.0000",
        "0.0000",
        2,
    )
    assert (into["event_type"], into["balance_after"]) == ("REVERSAL_IN", "100.0000")
    for event in (out, into):
        assert event["transaction_id"] == reversal["id"]
        assert event["reverses_transaction_id"] == original
    assert (out["counterparty_wallet_id"], into["counterparty_wallet_id"]) == (str(payer.id), str(payee.id))


@pytest.mark.parametrize(("kind", "after"), [("fund", "0.0000"), ("withdraw", "100.0000")])
def test_fund_and_withdrawal_reversals_have_no_counterparty(operator, make_wallet, kind, after):
    wallet = make_wallet("carol", "100" if kind == "withdraw" else "0")
    assert post(operator, f"/wallets/{wallet.id}/{kind}", {"amount": "100"}).status_code == 200
    original = last_txn(operator, wallet)
    response = post(operator, f"/transactions/{original}/reverse", {"reason": "mistake"})
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["entries"][0]["balance_after"] == after
    event = last_event(wallet)
    assert event["event_type"] == ("REVERSAL_OUT" if kind == "fund" else "REVERSAL_IN")
    assert event["counterparty_wallet_id"] is None
    assert event["reverses_transaction_id"] == original


def test_reversing_a_capture(operator, alice, make_wallet):
    payer, payee = make_wallet("alice", "50"), make_wallet("bob")
    hold = post(alice, f"/wallets/{payer.id}/holds", {"to_wallet_id": str(payee.id), "amount": "20"}).json()[
        "data"
    ]
    capture = post(operator, f"/holds/{hold['id']}/capture").json()["data"]
    txn = capture["hold"]["transaction_id"]
    assert post(operator, f"/transactions/{txn}/reverse", {"reason": "refund"}).status_code == 201
    payer.refresh_from_db()
    payee.refresh_from_db()
    assert (payer.balance, payer.held, payee.balance) == (50, 0, 0)
    assert alice.get(f"/holds/{hold['id']}").json()["data"]["status"] == "captured"


def test_reversal_refusals_change_nothing(operator, alice, make_wallet, snapshot):
    payer, payee = make_wallet("alice", "100"), make_wallet("bob")
    legs = post(
        alice, f"/wallets/{payer.id}/transfer", {"to_wallet_id": str(payee.id), "amount": "30"}
    ).json()["data"]
    original = legs[0]["reference_id"]
    # The payee spent part of it, and holds some of the rest: only 5 available.
    post(operator, f"/wallets/{payee.id}/withdraw", {"amount": "10"})
    bob = make_client("bob")
    post(bob, f"/wallets/{payee.id}/holds", {"to_wallet_id": str(payer.id), "amount": "15"})
    before = snapshot()
    cases = [
        (operator, original, {"reason": "x"}, 400, "insufficient_funds"),
        (alice, original, {"reason": "x"}, 403, "permission_denied"),
        (operator, original, {}, 400, "validation_error"),
        (operator, original, {"reason": ""}, 400, "validation_error"),
        (operator, "00000000-0000-0000-0000-000000000000", {"reason": "x"}, 404, "transaction_not_found"),
        (operator, "nope", {"reason": "x"}, 404, "transaction_not_found"),
    ]
    for client, txn, body, status, code in cases:
        refused = post(client, f"/transactions/{txn}/reverse", body)
        assert (refused.status_code, refused.json()["code"]) == (status, code), (txn, body)
        assert snapshot() == before


def test_a_transaction_is_reversed_once_and_a_reversal_never(operator, make_wallet, snapshot):
    wallet = make_wallet("dave", "10")
    original = last_txn(operator, wallet)
    reversal = post(operator, f"/transactions/{original}/reverse", {"reason": "first"}).json()["data"]["id"]
    before = snapshot()
    again = post(operator, f"/transactions/{original}/reverse", {"reason": "second"})
    assert (again.status_code, again.json()["code"]) == (409, "already_reversed")
    of_reversal = post(operator, f"/transactions/{reversal}/reverse", {"reason": "undo the undo"})
    assert (of_reversal.status_code, of_reversal.json()["code"]) == (409, "not_reversible")
    assert snapshot() == before
    # PostgreSQL enforces "once" whatever code writes.
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerTransaction.objects.create(
            kind="REVERSAL",
            reverses_id=original,
            created_at=LedgerTransaction.objects.get(id=original).created_at,
        )


def test_a_transaction_is_visible_only_to_who_may_see_one_of_its_wallets(operator, make_wallet):
    wallet = make_wallet("erin", "10")
    txn = last_txn(operator, wallet)
    assert make_client("erin").get(f"/transactions/{txn}").status_code == 200
    hidden = make_client("mallory").get(f"/transactions/{txn}")
    assert (hidden.status_code, hidden.json()["code"]) == (404, "transaction_not_found")
    shown = operator.get(f"/transactions/{txn}").json()["data"]
    assert (shown["kind"], shown["reversed_by"], shown["reverses"], shown["reason"]) == (
        "FUND",
        None,
        None,
        None,
    )
    assert [e["type"] for e in shown["entries"]] == ["FUND"], "the system account's leg is not listed"


def test_the_admin_reverse_action_asks_for_a_reason(client, make_wallet):
    user = get_user_model().objects.create_superuser("adminops")
    client.force_login(user)
    wallet = make_wallet("fay", "25")
    txn = LedgerTransaction.objects.get(entries__wallet=wallet)
    changelist = "/admin/wallets/ledgertransaction/"
    ask = client.post(changelist, {"action": "reverse_transactions", "_selected_action": [str(txn.id)]})
    assert ask.status_code == 200
    assert 'name="reason"' in ask.content.decode()
    assert not LedgerTransaction.objects.filter(reverses=txn).exists()
    done = client.post(
        changelist,
        as_rendered(
            {
                "action": "reverse_transactions",
                "_selected_action": [str(txn.id)],
                "apply": "1",
                "reason": "test fund",
            }
        ),
    )
    assert done.status_code == 302
    reversal = LedgerTransaction.objects.get(reverses=txn)
    assert (reversal.reason, reversal.initiated_by) == ("test fund", "adminops")
    assert Wallet.objects.get(id=wallet.id).balance == 0


def test_operators_may_reverse_in_the_admin(client, make_wallet):
    call_command("issue_token", "revops", "--operator", stdout=io.StringIO())
    client.force_login(get_user_model().objects.get(username="revops"))
    make_wallet("gus", "5")
    page = client.get("/admin/wallets/ledgertransaction/").content.decode()
    assert 'value="reverse_transactions"' in page
