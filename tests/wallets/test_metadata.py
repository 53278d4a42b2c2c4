"""`description` and `metadata` (../shared/spec/holds.md): accepted by fund, withdraw, transfer, hold
and capture; stored on the ledger transaction (and hold); returned in transaction and hold objects;
carried in the events; anything outside the rules is 400 validation_error and changes nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from kafka_bridge.models import OutboxEvent
from wallets.models import Hold, LedgerTransaction

pytestmark = pytest.mark.django_db

NOTE = {"description": "Invoice 42", "metadata": {"invoice": "42", "customer": "c-9"}}


def post(client: Any, path: str, body: Any) -> Any:
    # json.dumps escapes what is not UTF-8 (a lone surrogate) as the client would send it: \ud800.
    return client.post(path, json.dumps(body), content_type="application/json")


def last_event(wallet: Any) -> dict[str, Any]:
    return OutboxEvent.objects.filter(aggregateid=str(wallet.id)).order_by("-id").first().payload


@pytest.mark.parametrize("kind", ["fund", "withdraw", "transfer"])
def test_movements_store_return_and_publish_their_note(operator, make_wallet, kind):
    wallet, other = make_wallet("alice", "50"), make_wallet("bob")
    body: dict[str, Any] = {"amount": "5", **NOTE}
    if kind == "transfer":
        body["to_wallet_id"] = str(other.id)
    response = post(operator, f"/wallets/{wallet.id}/{kind}", body)
    assert response.status_code == 200, response.json()
    if kind == "transfer":
        for leg in response.json()["data"]:
            assert (leg["description"], leg["metadata"]) == (NOTE["description"], NOTE["metadata"])
    listed = operator.get(f"/wallets/{wallet.id}/transactions").json()["data"][0]
    assert (listed["description"], listed["metadata"]) == (NOTE["description"], NOTE["metadata"])
    txn = LedgerTransaction.objects.get(id=listed["reference_id"])
    assert (txn.description, txn.metadata) == (NOTE["description"], NOTE["metadata"])
    shown = operator.get(f"/transactions/{txn.id}").json()["data"]
    assert (shown["description"], shown["metadata"]) == (NOTE["description"], NOTE["metadata"])
    event = last_event(wallet)
    assert (event["description"], event["metadata"]) == (NOTE["description"], NOTE["metadata"])


def test_without_a_note_objects_and_events_say_none(operator, make_wallet):
    wallet = make_wallet("carol", "5")
    listed = operator.get(f"/wallets/{wallet.id}/transactions").json()["data"][0]
    assert (listed["description"], listed["metadata"]) == (None, {})
    assert (last_event(wallet)["description"], last_event(wallet)["metadata"]) == (None, {})


def test_holds_store_and_return_their_note(alice, make_wallet):
    payer, payee = make_wallet("alice", "50"), make_wallet("bob")
    body = {"to_wallet_id": str(payee.id), "amount": "5", **NOTE}
    hold = post(alice, f"/wallets/{payer.id}/holds", body).json()["data"]
    assert (hold["description"], hold["metadata"]) == (NOTE["description"], NOTE["metadata"])
    stored = Hold.objects.get(id=hold["id"])
    assert (stored.description, stored.metadata) == (NOTE["description"], NOTE["metadata"])
    assert alice.get(f"/holds/{hold['id']}").json()["data"]["metadata"] == NOTE["metadata"]
    assert last_event(payer)["metadata"] == NOTE["metadata"]


def test_the_limits_themselves_are_accepted(operator, make_wallet):
    wallet = make_wallet("dave")
    metadata = {f"{n:02d}" + "k" * 38: "v" * 500 for n in range(20)}
    body = {"amount": "1", "description": "d" * 255, "metadata": metadata}
    assert post(operator, f"/wallets/{wallet.id}/fund", body).status_code == 200
    assert LedgerTransaction.objects.get(entries__wallet=wallet).metadata == metadata


BAD_NOTES = [
    {"description": "d" * 256},
    {"description": 5},
    {"description": {"a": "b"}},
    {"description": "nul \u0000 here"},
    {"metadata": [["a", "b"]]},
    {"metadata": "a=b"},
    {"metadata": 1},
    {"metadata": {str(n): "v" for n in range(21)}},
    {"metadata": {"k" * 41: "v"}},
    {"metadata": {"": "v"}},
    {"metadata": {"k": "v" * 501}},
    {"metadata": {"k": 1}},
    {"metadata": {"k": None}},
    {"metadata": {"k": True}},
    {"metadata": {"k": {"nested": "x"}}},
    {"metadata": {"k": ["x"]}},
    {"metadata": {"k\u0000": "v"}},
    {"metadata": {"k": "\ud800"}},
]


@pytest.mark.parametrize("note", BAD_NOTES, ids=lambda note: re.sub(r"\W", "_", repr(note))[:40])
def test_bad_notes_are_validation_errors_that_change_nothing(operator, make_wallet, snapshot, note):
    wallet, other = make_wallet("erin", "100"), make_wallet("finn")
    hold = post(operator, f"/wallets/{wallet.id}/holds", {"to_wallet_id": str(other.id), "amount": "10"})
    hold_id = hold.json()["data"]["id"]
    before = snapshot()
    targets = [
        (f"/wallets/{wallet.id}/fund", {"amount": "1"}),
        (f"/wallets/{wallet.id}/withdraw", {"amount": "1"}),
        (f"/wallets/{wallet.id}/transfer", {"amount": "1", "to_wallet_id": str(other.id)}),
        (f"/wallets/{wallet.id}/holds", {"amount": "1", "to_wallet_id": str(other.id)}),
        (f"/holds/{hold_id}/capture", {}),
    ]
    for path, body in targets:
        refused = post(operator, path, {**body, **note})
        assert refused.status_code == 400, (path, refused.json())
        assert refused.json()["code"] == "validation_error", path
        assert set(refused.json()["details"]) <= {"description", "metadata"}
    assert snapshot() == before


def test_a_browser_form_may_send_metadata_as_json_text(make_wallet):
    user = get_user_model().objects.create_user("formops", is_staff=True)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    wallet = make_wallet("gina")
    path = f"/wallets/{wallet.id}/fund"
    page = browser.get(path, HTTP_ACCEPT="text/html").content.decode()
    assert 'name="metadata"' in page and 'name="description"' in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = {"csrfmiddlewaretoken": token, "amount": "3", "description": "", "metadata": '{"ref": "r-1"}'}
    response = browser.post(path, form)
    assert response.status_code == 200, response.content
    txn = LedgerTransaction.objects.get(entries__wallet=wallet)
    assert (txn.description, txn.metadata) == (None, {"ref": "r-1"})
    bad = browser.post(path, {**form, "metadata": "not json"})
    assert (bad.status_code, bad.json()["code"]) == (400, "validation_error")
