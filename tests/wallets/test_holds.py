"""Holds end to end over HTTP (../shared/spec/holds.md): create, get, list, capture (full, partial),
void, expiry by the beat task; held and available on the wallet; the events of every change, one
per wallet version; who may do what; every refusal changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from kafka_bridge.models import OutboxEvent
from tests.conftest import behind_the_ledgers_back
from wallets import tasks
from wallets.models import Hold, LedgerEntry, LedgerTransaction, Wallet

pytestmark = pytest.mark.django_db


def events_of(wallet: Any) -> list[dict[str, Any]]:
    """The wallet's events in the outbox, by version."""
    rows = OutboxEvent.objects.filter(aggregateid=str(wallet.id)).order_by("id")
    return sorted((row.payload for row in rows), key=lambda payload: payload["wallet_version"])


def state(wallet: Any) -> tuple[str, str, int]:
    wallet.refresh_from_db()
    return f"{wallet.balance:.4f}", f"{wallet.held:.4f}", wallet.version


def post(client: Any, path: str, body: Any = None, **extra: Any) -> Any:
    return client.post(path, body if body is not None else {}, format="json", **extra)


@pytest.fixture
def pair(make_wallet):
    """alice's wallet with 100.00 (the payer), bob's empty one (the payee)."""
    return make_wallet("alice", "100.00"), make_wallet("bob")


def create_hold(client: Any, sender: Any, receiver: Any, amount: str = "30.00", **fields: Any) -> Any:
    return post(
        client, f"/wallets/{sender.id}/holds", {"to_wallet_id": str(receiver.id), "amount": amount, **fields}
    )


# --- create, get, list --------------------------------------------------------------------------------


def test_a_hold_reserves_money_and_says_so_on_the_wallet_and_in_its_event(alice, pair):
    payer, payee = pair
    before = timezone.now()
    response = create_hold(alice, payer, payee, "30.00", description="order 7", metadata={"order": "7"})
    assert response.status_code == 201, response.json()
    hold = response.json()["data"]
    assert hold["status"] == "pending"
    assert (hold["amount"], hold["captured_amount"], hold["currency"]) == ("30.0000", "0.0000", "USD")
    assert (hold["from_wallet_id"], hold["to_wallet_id"]) == (str(payer.id), str(payee.id))
    assert hold["transaction_id"] is None
    assert (hold["description"], hold["metadata"]) == ("order 7", {"order": "7"})
    expires = Hold.objects.get(id=hold["id"]).expires_at
    assert before + timedelta(days=7) <= expires <= timezone.now() + timedelta(days=7)

    wallet = alice.get(f"/wallets/{payer.id}").json()["data"]
    assert (wallet["balance"], wallet["held"], wallet["available"], wallet["version"]) == (
        "100.0000",
        "30.0000",
        "70.0000",
        2,
    )
    created = events_of(payer)[-1]
    assert created["event_type"] == "HOLD_CREATED"
    assert created["schema_version"] == 2
    assert (created["amount"], created["balance_after"], created["held_after"]) == (
        "30.0000",
        "100.0000",
        "30.0000",
    )
    assert created["wallet_version"] == 2
    assert created["transaction_id"] is None
    assert created["hold_id"] == hold["id"]
    assert (created["counterparty_wallet_id"], created["counterparty_user_id"]) == (str(payee.id), "bob")
    assert (created["description"], created["metadata"]) == ("order 7", {"order": "7"})
    assert created["reverses_transaction_id"] is None
    assert events_of(payee)[-1]["event_type"] == "WALLET_CREATED", "the payee's wallet does not change"
    assert LedgerTransaction.objects.count() == 1, "a hold moves no money: only the fund is in the ledger"


def test_every_event_is_version_2_with_the_new_keys_always_present(operator, pair):
    payer, payee = pair
    post(operator, f"/wallets/{payer.id}/transfer", {"to_wallet_id": str(payee.id), "amount": "1"})
    for payload in OutboxEvent.objects.values_list("payload", flat=True):
        assert payload["schema_version"] == 2
        for key in ("held_after", "hold_id", "reverses_transaction_id", "description", "metadata"):
            assert key in payload, (key, payload["event_type"])
        assert payload["held_after"] == "0.0000"
        assert payload["metadata"] == {}


def test_expires_in_sets_the_expiry_within_its_bounds(alice, pair, snapshot):
    payer, payee = pair
    response = create_hold(alice, payer, payee, "1", expires_in=60)
    assert response.status_code == 201
    hold = Hold.objects.get(id=response.json()["data"]["id"])
    assert timedelta(seconds=59) < hold.expires_at - hold.created_at <= timedelta(seconds=60)
    before = snapshot()
    for bad in (59, 2_592_001, "600", 60.5, True, None, -60):
        refused = create_hold(alice, payer, payee, "1", expires_in=bad)
        assert refused.status_code == 400, bad
        assert refused.json()["code"] == "validation_error"
    assert snapshot() == before


def test_get_and_list_holds_as_the_spec_says(alice, bob, make_wallet, pair):
    payer, payee = pair
    ids = [create_hold(alice, payer, payee, f"{n}.00").json()["data"]["id"] for n in (1, 2, 3)]
    assert post(bob, f"/holds/{ids[0]}/void").status_code == 200

    for client in (alice, bob):  # the owners of either wallet
        shown = client.get(f"/holds/{ids[1]}")
        assert shown.status_code == 200
        assert shown.json()["data"]["amount"] == "2.0000"
    # The payee lists its incoming holds too, newest first.
    listed = bob.get(f"/wallets/{payee.id}/holds").json()
    assert [h["id"] for h in listed["data"]] == ids[::-1]
    pending = alice.get(f"/wallets/{payer.id}/holds", {"status": "pending"}).json()["data"]
    assert [h["id"] for h in pending] == [ids[2], ids[1]]
    voided = alice.get(f"/wallets/{payer.id}/holds", {"status": "voided"}).json()["data"]
    assert [h["id"] for h in voided] == [ids[0]]
    page = alice.get(f"/wallets/{payer.id}/holds", {"limit": 2}).json()
    assert page["has_more"] is True
    rest = alice.get(f"/wallets/{payer.id}/holds", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [h["id"] for h in page["data"] + rest["data"]] == ids[::-1]
    assert rest["has_more"] is False

    bad = alice.get(f"/wallets/{payer.id}/holds", {"status": "gone"})
    assert (bad.status_code, bad.json()["code"]) == (400, "validation_error")
    # Anyone else: not found, whether the hold exists or not.
    carol = make_wallet("carol")
    from tests.conftest import make_client

    stranger = make_client("carol")
    assert stranger.get(f"/holds/{ids[1]}").json()["code"] == "hold_not_found"
    assert stranger.get(f"/holds/{ids[1]}").status_code == 404
    assert stranger.get("/holds/not-a-uuid").status_code == 404
    assert stranger.get(f"/wallets/{payer.id}/holds").status_code == 404
    assert stranger.get(f"/wallets/{carol.id}/holds").json()["data"] == []


# --- capture --------------------------------------------------------------------------------------------


def test_full_capture_moves_the_money_as_one_transaction_linked_to_the_hold(alice, bob, pair):
    payer, payee = pair
    hold_id = create_hold(alice, payer, payee, "30.00").json()["data"]["id"]
    response = post(bob, f"/holds/{hold_id}/capture")
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert data["hold"]["status"] == "captured"
    assert data["hold"]["captured_amount"] == "30.0000"
    out, into = data["transactions"]
    assert (out["type"], out["wallet_id"], out["amount"], out["balance_after"]) == (
        "TRANSFER_OUT",
        str(payer.id),
        "30.0000",
        None,  # the payee who captures never sees the payer's balance (tests/wallets/test_disclosure.py)
    )
    assert (into["type"], into["wallet_id"], into["balance_after"]) == (
        "TRANSFER_IN",
        str(payee.id),
        "30.0000",
    )
    assert out["reference_id"] == into["reference_id"] == data["hold"]["transaction_id"]
    txn = LedgerTransaction.objects.get(id=out["reference_id"])
    assert txn.kind == "CAPTURE"
    assert txn.hold.id == Hold.objects.get(id=hold_id).id

    assert state(payer) == ("70.0000", "0.0000", 3)
    assert state(payee) == ("30.0000", "0.0000", 1)
    sent, received = events_of(payer)[-1], events_of(payee)[-1]
    assert (sent["event_type"], sent["wallet_version"], sent["held_after"]) == ("TRANSFER_OUT", 3, "0.0000")
    assert (received["event_type"], received["wallet_version"]) == ("TRANSFER_IN", 1)
    assert sent["hold_id"] == received["hold_id"] == hold_id
    assert sent["transaction_id"] == received["transaction_id"] == str(txn.id)

    shown = alice.get(f"/transactions/{txn.id}").json()["data"]
    assert (shown["kind"], shown["hold_id"]) == ("CAPTURE", hold_id)


def test_partial_capture_releases_the_rest_as_the_next_version(alice, bob, pair):
    payer, payee = pair
    hold_id = create_hold(alice, payer, payee, "30.00", description="cart", metadata={"cart": "9"}).json()[
        "data"
    ]["id"]
    response = post(bob, f"/holds/{hold_id}/capture", {"amount": "12.5"})
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["hold"]["captured_amount"] == "12.5000"
    # The capture carries the hold's description and metadata when it names none.
    assert response.json()["data"]["transactions"][0]["metadata"] == {"cart": "9"}
    assert state(payer) == ("87.5000", "0.0000", 4)
    captured, released = events_of(payer)[-2:]
    assert (captured["event_type"], captured["wallet_version"], captured["amount"]) == (
        "TRANSFER_OUT",
        3,
        "12.5000",
    )
    assert (captured["balance_after"], captured["held_after"]) == ("87.5000", "17.5000")
    assert (released["event_type"], released["wallet_version"], released["amount"]) == (
        "HOLD_RELEASED",
        4,
        "17.5000",
    )
    assert (released["balance_after"], released["held_after"]) == ("87.5000", "0.0000")
    assert released["transaction_id"] == captured["transaction_id"]
    assert released["hold_id"] == hold_id
    hold = Hold.objects.get(id=hold_id)
    assert (hold.created_version, hold.released_version) == (2, 4)
    versions = sorted(p["wallet_version"] for p in events_of(payer))
    assert versions == list(range(0, 5)), "one event per version, gap-free"


def test_a_capture_may_name_its_own_description_and_metadata(bob, alice, pair):
    payer, payee = pair
    hold_id = create_hold(alice, payer, payee, "5", metadata={"a": "1"}).json()["data"]["id"]
    data = post(bob, f"/holds/{hold_id}/capture", {"description": "shipped", "metadata": {"b": "2"}}).json()[
        "data"
    ]
    assert (data["transactions"][1]["description"], data["transactions"][1]["metadata"]) == (
        "shipped",
        {"b": "2"},
    )
    assert events_of(payee)[-1]["metadata"] == {"b": "2"}
    assert Hold.objects.get(id=hold_id).metadata == {"a": "1"}


def test_capture_refusals_change_nothing(alice, bob, operator, pair, snapshot):
    payer, payee = pair
    hold_id = create_hold(alice, payer, payee, "30.00").json()["data"]["id"]
    before = snapshot()
    cases = [
        (bob, {"amount": "30.0001"}, 400, "invalid_amount"),
        (bob, {"amount": "0"}, 400, "invalid_amount"),
        (bob, {"metadata": {"k": 1}}, 400, "validation_error"),
        (alice, {}, 403, "permission_denied"),  # the payer cannot capture
    ]
    for client, body, status, code in cases:
        refused = post(client, f"/holds/{hold_id}/capture", body)
        assert (refused.status_code, refused.json()["code"]) == (status, code), body
        assert snapshot() == before

    Wallet.objects.filter(id=payee.id).update(status="frozen")
    frozen = post(bob, f"/holds/{hold_id}/capture")
    assert (frozen.status_code, frozen.json()["code"]) == (409, "wallet_frozen")
    Wallet.objects.filter(id=payee.id).update(status="active")

    Hold.objects.filter(id=hold_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = post(operator, f"/holds/{hold_id}/capture")
    assert (expired.status_code, expired.json()["code"]) == (409, "hold_expired")
    after = snapshot()
    assert after == before


def test_a_hold_settles_once(alice, bob, pair, snapshot):
    payer, payee = pair
    captured = create_hold(alice, payer, payee, "10").json()["data"]["id"]
    voided = create_hold(alice, payer, payee, "10").json()["data"]["id"]
    assert post(bob, f"/holds/{captured}/capture", {"amount": "4"}).status_code == 200
    assert post(bob, f"/holds/{voided}/void").status_code == 200
    before = snapshot()
    for hold_id in (captured, voided):
        for action in ("capture", "void"):
            again = post(bob, f"/holds/{hold_id}/{action}")
            assert (again.status_code, again.json()["code"]) == (409, "hold_not_pending"), (hold_id, action)
    assert snapshot() == before


# --- void and expiry -------------------------------------------------------------------------------------


def test_void_releases_everything_and_only_the_payee_or_staff_may(alice, bob, operator, pair, snapshot):
    payer, payee = pair
    first = create_hold(alice, payer, payee, "40").json()["data"]["id"]
    second = create_hold(alice, payer, payee, "20").json()["data"]["id"]
    before = snapshot()
    refused = post(alice, f"/holds/{first}/void")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert snapshot() == before

    response = post(bob, f"/holds/{first}/void")
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "voided"
    assert state(payer) == ("100.0000", "20.0000", 4)
    released = events_of(payer)[-1]
    assert (released["event_type"], released["amount"], released["held_after"]) == (
        "HOLD_RELEASED",
        "40.0000",
        "20.0000",
    )
    assert released["transaction_id"] is None
    # Void is allowed on frozen wallets; staff may void too.
    Wallet.objects.filter(id__in=[payer.id, payee.id]).update(status="frozen")
    assert post(operator, f"/holds/{second}/void").status_code == 200
    assert state(payer) == ("100.0000", "0.0000", 5)
    assert Hold.objects.get(id=second).closed_by == "ops"


def test_the_beat_task_releases_expired_holds_with_their_event(alice, pair):
    payer, payee = pair
    due = create_hold(alice, payer, payee, "25", expires_in=60).json()["data"]["id"]
    later = create_hold(alice, payer, payee, "5", expires_in=60).json()["data"]["id"]
    Hold.objects.filter(id=due).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert tasks.expire_holds() == 1
    assert tasks.expire_holds() == 0, "released once"
    assert Hold.objects.get(id=due).status == "expired"
    assert Hold.objects.get(id=later).status == "pending"
    assert state(payer) == ("100.0000", "5.0000", 4)
    released = events_of(payer)[-1]
    assert (released["event_type"], released["hold_id"], released["amount"]) == (
        "HOLD_RELEASED",
        due,
        "25.0000",
    )
    assert alice.get(f"/holds/{due}").json()["data"]["status"] == "expired"


def test_the_expiry_task_is_in_the_beat_schedule_within_a_minute(settings):
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "wallets.expire_holds")
    assert 0 < entry["schedule"] <= 60


# --- available, refusals at creation ----------------------------------------------------------------------


def test_withdrawals_transfers_and_new_holds_see_only_what_is_available(alice, operator, pair, snapshot):
    payer, payee = pair
    assert create_hold(alice, payer, payee, "80").status_code == 201
    before = snapshot()
    refusals = [
        post(operator, f"/wallets/{payer.id}/withdraw", {"amount": "20.0001"}),
        post(alice, f"/wallets/{payer.id}/transfer", {"to_wallet_id": str(payee.id), "amount": "21"}),
        create_hold(alice, payer, payee, "20.0001"),
    ]
    for refused in refusals:
        assert (refused.status_code, refused.json()["code"]) == (400, "insufficient_funds")
    assert snapshot() == before
    assert post(operator, f"/wallets/{payer.id}/withdraw", {"amount": "20"}).status_code == 200
    assert state(payer) == ("80.0000", "80.0000", 3)


def test_hold_creation_refusals_change_nothing(alice, bob, operator, make_wallet, pair, snapshot):
    payer, payee = pair
    euro = make_wallet("bob", currency="EUR")
    before = snapshot()
    cases = [
        (alice, payer, {"to_wallet_id": str(payer.id), "amount": "1"}, 400, "same_wallet"),
        (alice, payer, {"to_wallet_id": str(euro.id), "amount": "1"}, 400, "currency_mismatch"),
        (
            alice,
            payer,
            {"to_wallet_id": "0" * 8 + "-0000-0000-0000-" + "0" * 12, "amount": "1"},
            404,
            "wallet_not_found",
        ),
        (alice, payer, {"to_wallet_id": str(payee.id), "amount": "-1"}, 400, "invalid_amount"),
        (alice, payer, {"to_wallet_id": str(payee.id)}, 400, "validation_error"),
        (alice, payer, {"amount": "1"}, 400, "validation_error"),
        (bob, payer, {"to_wallet_id": str(payee.id), "amount": "1"}, 404, "wallet_not_found"),  # not bob's
    ]
    for client, sender, body, status, code in cases:
        refused = post(client, f"/wallets/{sender.id}/holds", body)
        assert (refused.status_code, refused.json()["code"]) == (status, code), body
        assert snapshot() == before
    for frozen in (payer, payee):
        Wallet.objects.filter(id=frozen.id).update(status="frozen")
        refused = create_hold(operator, payer, payee, "1")
        assert (refused.status_code, refused.json()["code"]) == (409, "wallet_frozen")
        Wallet.objects.filter(id=frozen.id).update(status="active")
    assert snapshot() == before


def test_an_idempotent_hold_is_created_once(alice, pair):
    payer, payee = pair
    body = {"to_wallet_id": str(payee.id), "amount": "10"}
    first = post(alice, f"/wallets/{payer.id}/holds", body, HTTP_IDEMPOTENCY_KEY="hold-1")
    again = post(alice, f"/wallets/{payer.id}/holds", body, HTTP_IDEMPOTENCY_KEY="hold-1")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert Hold.objects.count() == 1
    assert state(payer)[1] == "10.0000"


def test_void_and_capture_need_no_body_or_content_type(bob, alice, pair):
    payer, payee = pair
    hold_id = create_hold(alice, payer, payee, "10").json()["data"]["id"]
    assert bob.post(f"/holds/{hold_id}/capture").status_code == 200
    other = create_hold(alice, payer, payee, "10").json()["data"]["id"]
    assert bob.post(f"/holds/{other}/void").status_code == 200
    third = create_hold(alice, payer, payee, "1").json()["data"]["id"]
    refused = bob.post(f"/holds/{third}/capture", "amount=1", content_type="text/plain")
    assert refused.status_code == 415


# --- what PostgreSQL enforces ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("update", "constraint"),
    [
        ("held = -1", "wallet_held_non_negative"),
        ("held = balance + 1", "wallet_user_held_within_balance"),
    ],
)
def test_the_database_refuses_held_out_of_bounds(make_wallet, update, constraint):
    wallet = make_wallet("dora", "10")
    # Even with the ledger-only guards off (migration 0011), the check constraints hold.
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        behind_the_ledgers_back(f"UPDATE wallets_wallet SET {update} WHERE id = %s", [wallet.id])  # noqa: S608


def test_the_database_refuses_a_hold_across_currencies_or_captured_twice(alice, bob, make_wallet, pair):
    payer, payee = pair
    euro = make_wallet("bob", currency="EUR")
    hold_id = create_hold(alice, payer, payee, "1").json()["data"]["id"]
    with pytest.raises(IntegrityError, match="terms never change"), transaction.atomic():
        Hold.objects.filter(id=hold_id).update(to_wallet=euro)
    # Behind the guard's back (migration 0011), the composite key still refuses it.
    with pytest.raises(IntegrityError, match="hold_to_wallet_currency_fk"), transaction.atomic():
        behind_the_ledgers_back("UPDATE wallets_hold SET to_wallet_id = %s WHERE id = %s", [euro.id, hold_id])
    capture = post(bob, f"/holds/{hold_id}/capture").json()["data"]
    other = create_hold(alice, payer, payee, "1").json()["data"]["id"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Hold.objects.filter(id=other).update(
            status="captured", captured_amount=Decimal(1), transaction_id=capture["hold"]["transaction_id"]
        )
    assert LedgerEntry.objects.filter(transaction_id=capture["hold"]["transaction_id"]).count() == 2


def test_the_browsable_api_offers_hold_and_capture_forms(make_wallet, pair):
    from django.contrib.auth import get_user_model
    from django.test import Client

    payer, payee = pair
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(get_user_model().objects.create_user("formops", is_staff=True))
    page = browser.get(f"/wallets/{payer.id}/holds", HTTP_ACCEPT="text/html").content.decode()
    form = page.split('id="post-object-form"', 1)[1].split("</form>", 1)[0]
    for field in ("to_wallet_id", "amount", "expires_in", "description", "metadata"):
        assert f'name="{field}"' in form, field
    token = form.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    posted = browser.post(
        f"/wallets/{payer.id}/holds",
        {"csrfmiddlewaretoken": token, "to_wallet_id": str(payee.id), "amount": "2.5", "expires_in": "120"},
    )
    assert posted.status_code == 201, posted.content
    hold = Hold.objects.get(id=posted.json()["data"]["id"])
    assert (hold.amount, hold.description, hold.metadata) == (Decimal("2.5"), None, {})
    capture_page = browser.get(f"/holds/{hold.id}/capture", HTTP_ACCEPT="text/html")
    assert 'name="amount"' in capture_page.content.decode()
    assert browser.get(f"/holds/{hold.id}/void", HTTP_ACCEPT="text/html").status_code == 405
    assert browser.get(f"/transactions/{hold.id}/reverse", HTTP_ACCEPT="text/html").status_code == 405
