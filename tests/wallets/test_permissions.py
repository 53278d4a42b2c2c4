"""The spec's "Who may do what" (../shared/spec/api.md), as an explicit matrix.

Every endpoint, for: no credentials, bad credentials, an end user on their own and on another user's
wallet, and staff. A refused request changes nothing. The per-currency system account is invisible.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from wallets.models import Wallet

pytestmark = pytest.mark.django_db

JSON = "application/json"
LEAKS = re.compile(r"Traceback|File \"|SELECT |INSERT INTO|psycopg|django\.db|JsonNumber|\.py\b")
ACTIONS = ["create", "read", "list", "fund", "withdraw", "transfer", "transactions"]
OTHER = {"alice": "bob", "bob": "alice"}


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert not LEAKS.search(response.content.decode())
    assert b'": ' not in response.content
    body = response.json()
    assert body["success"] is False
    assert body["code"] == code, body
    assert isinstance(body["error"], str)
    assert body["error"]
    assert set(body) <= {"success", "error", "code", "details"}
    return body


def post_json(client: APIClient, path: str, body: Any) -> Any:
    return client.generic("POST", path, data=json.dumps(body).encode(), content_type=JSON)


@pytest.fixture
def wallets(make_wallet: Any, operator: Any, alice: Any, bob: Any) -> dict[str, Wallet]:
    """alice holds 100.00 USD, bob 50.00 USD (the USD system account exists)."""
    return {"alice": make_wallet("alice", "100.00"), "bob": make_wallet("bob", "50.00")}


def send(client: APIClient, action: str, wallets: dict[str, Wallet], owner: str, slash: str = "") -> Any:
    """Perform `action` on `owner`'s wallet (create: for `owner`; transfer: to the other user's wallet)."""
    wallet, other = wallets[owner].id, wallets[OTHER[owner]].id
    if action == "create":
        return post_json(client, "/wallets" + slash, {"user_id": owner})
    if action == "read":
        return client.get(f"/wallets/{wallet}{slash}")
    if action == "list":
        return client.get(f"/users/{owner}/wallets{slash}")
    if action in ("fund", "withdraw"):
        return post_json(client, f"/wallets/{wallet}/{action}{slash}", {"amount": "1.00"})
    if action == "transfer":
        return post_json(
            client, f"/wallets/{wallet}/transfer{slash}", {"to_wallet_id": str(other), "amount": "1.00"}
        )
    assert action == "transactions"
    return client.get(f"/wallets/{wallet}/transactions{slash}")


def assert_allowed(response: Any, action: str, wallets: dict[str, Wallet], owner: str) -> None:
    """The success status and the effect the spec promises for `action` on `owner`'s wallet."""
    wallet, other = wallets[owner], wallets[OTHER[owner]]
    assert response.status_code == (201 if action == "create" else 200), response.content
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    if action == "create":
        assert (data["user_id"], data["balance"]) == (owner, "0.0000")
    elif action == "read":
        assert (data["id"], data["user_id"]) == (str(wallet.id), owner)
    elif action == "list":
        assert [w["id"] for w in data] == [str(wallet.id)]
    elif action == "transactions":
        assert data
        assert {t["wallet_id"] for t in data} == {str(wallet.id)}
    elif action == "fund":
        assert data["balance"] == f"{wallet.balance + 1:.4f}"
    elif action == "withdraw":
        assert data["balance"] == f"{wallet.balance - 1:.4f}"
    else:
        out_txn, in_txn = data
        assert (out_txn["wallet_id"], out_txn["type"]) == (str(wallet.id), "TRANSFER_OUT")
        assert (in_txn["wallet_id"], in_txn["type"]) == (str(other.id), "TRANSFER_IN")
        for moved, delta in ((wallet, -1), (other, 1)):
            before = moved.balance
            moved.refresh_from_db()
            assert moved.balance == before + delta


# --- no or bad credentials: 401 everywhere ----------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("owner", ["alice", "bob"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_anonymous_is_not_authenticated(anonymous, wallets, snapshot, action, owner, slash):
    before = snapshot()
    response = send(anonymous, action, wallets, owner, slash)
    assert_error(response, 401, "not_authenticated")
    assert response.has_header("WWW-Authenticate")
    assert snapshot() == before


def _bad_credentials(kind: str, alice_key: str) -> str:
    if kind == "deactivated":
        get_user_model().objects.filter(username="alice").update(is_active=False)
        return f"Token {alice_key}"
    if kind == "deleted-token":
        AuthToken.objects.filter(user__username="alice").delete()
        return f"Token {alice_key}"
    if kind == "expired-token":
        AuthToken.objects.filter(user__username="alice").update(expiry=timezone.now() - timedelta(seconds=1))
        return f"Token {alice_key}"
    return {
        "unknown-token": "Token " + "0" * 64,
        "old-length-unknown": "Token " + "0" * 40,
        "garbage-token": "Token not-a-real-key",
        "non-ascii-token": "Token " + "é" * 64,
        "empty-token": "Token ",
        "two-words": f"Token {alice_key} extra",
        "bearer-scheme": f"Bearer {alice_key}",
        "basic-scheme": "Basic YWxpY2U6cGFzc3dvcmQ=",
        # Same prefix (knox finds the row), another digest.
        "mangled-key": f"Token {alice_key[:-1]}{'1' if alice_key[-1] == '0' else '0'}",
        "digest-as-key": "Token " + AuthToken.objects.get(user__username="alice").digest,
    }[kind]


BAD_CREDENTIALS = [
    "unknown-token",
    "old-length-unknown",
    "garbage-token",
    "non-ascii-token",
    "empty-token",
    "two-words",
    "bearer-scheme",
    "basic-scheme",
    "mangled-key",
    "deactivated",
    "deleted-token",
    "expired-token",
    "digest-as-key",
]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("kind", BAD_CREDENTIALS)
def test_invalid_credentials_are_not_authenticated(alice, wallets, snapshot, action, kind):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=_bad_credentials(kind, alice.token_key))
    before = snapshot()
    assert_error(send(client, action, wallets, "alice"), 401, "not_authenticated")
    assert snapshot() == before


# --- end users: their own wallets vs another user's --------------------------------------------------

# (action, target, expected status, expected code; None = allowed)
END_USER_MATRIX = [
    ("create", "own", 201, None),
    ("create", "other", 403, "permission_denied"),
    ("read", "own", 200, None),
    ("read", "other", 404, "wallet_not_found"),
    ("list", "own", 200, None),
    ("list", "other", 403, "permission_denied"),
    ("transactions", "own", 200, None),
    ("transactions", "other", 404, "wallet_not_found"),
    ("transfer", "own", 200, None),
    ("transfer", "other", 404, "wallet_not_found"),
    ("fund", "own", 403, "permission_denied"),
    ("fund", "other", 403, "permission_denied"),
    ("withdraw", "own", 403, "permission_denied"),
    ("withdraw", "other", 403, "permission_denied"),
]


@pytest.mark.parametrize(("action", "target", "status", "code"), END_USER_MATRIX)
@pytest.mark.parametrize("user", ["alice", "bob"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_end_user_matrix(request, wallets, snapshot, action, target, status, code, user, slash):
    client = request.getfixturevalue(user)
    owner = user if target == "own" else OTHER[user]
    before = snapshot()
    response = send(client, action, wallets, owner, slash)
    if code is None:
        assert_allowed(response, action, wallets, owner)
    else:
        assert_error(response, status, code)
        assert snapshot() == before


@pytest.mark.parametrize("action", ["read", "transactions"])
def test_another_users_wallet_is_indistinguishable_from_an_unknown_one(alice, wallets, action):
    suffix = "" if action == "read" else "/transactions"
    hidden = alice.get(f"/wallets/{wallets['bob'].id}{suffix}")
    unknown = alice.get(f"/wallets/{uuid.uuid4()}{suffix}")
    assert_error(hidden, 404, "wallet_not_found")
    assert (hidden.status_code, hidden.content) == (unknown.status_code, unknown.content)


def test_transfer_from_another_users_wallet_is_indistinguishable_from_an_unknown_one(
    alice, wallets, snapshot
):
    before = snapshot()
    body = {"to_wallet_id": str(wallets["alice"].id), "amount": "1.00"}
    stolen = post_json(alice, f"/wallets/{wallets['bob'].id}/transfer", body)
    unknown = post_json(alice, f"/wallets/{uuid.uuid4()}/transfer", body)
    assert_error(stolen, 404, "wallet_not_found")
    assert (stolen.status_code, stolen.content) == (unknown.status_code, unknown.content)
    assert snapshot() == before


def test_transfer_from_another_users_wallet_with_more_than_its_balance_is_still_404(alice, wallets, snapshot):
    """The refusal must not reveal the balance (insufficient_funds) of a wallet alice may not see."""
    before = snapshot()
    body = {"to_wallet_id": str(wallets["alice"].id), "amount": "1000000"}
    assert_error(post_json(alice, f"/wallets/{wallets['bob'].id}/transfer", body), 404, "wallet_not_found")
    assert snapshot() == before


def test_end_user_listing_shows_only_their_wallets(alice, make_wallet, wallets):
    second = make_wallet("alice", currency="EUR")
    make_wallet("bob")
    data = alice.get("/users/alice/wallets").json()["data"]
    assert {w["id"] for w in data} == {str(wallets["alice"].id), str(second.id)}
    assert {w["user_id"] for w in data} == {"alice"}


@pytest.mark.parametrize("user_id", ["ALICE", "alice2", "bob", "ops"])
def test_end_user_may_not_list_or_create_for_anyone_else(alice, wallets, snapshot, user_id):
    before = snapshot()
    assert_error(alice.get(f"/users/{user_id}/wallets"), 403, "permission_denied")
    assert_error(post_json(alice, "/wallets", {"user_id": user_id}), 403, "permission_denied")
    assert snapshot() == before


def test_end_user_may_create_a_wallet_in_another_currency_for_themselves(alice):
    response = post_json(alice, "/wallets", {"user_id": "alice", "currency": "EUR"})
    assert response.status_code == 201, response.content
    assert (response.json()["data"]["user_id"], response.json()["data"]["currency"]) == ("alice", "EUR")


@pytest.mark.parametrize("action", ["fund", "withdraw"])
@pytest.mark.parametrize("amount", ["1.00", "0", "-5", "not-money"])
def test_end_user_may_never_fund_or_withdraw_whatever_the_body(alice, wallets, snapshot, action, amount):
    before = snapshot()
    response = post_json(alice, f"/wallets/{wallets['alice'].id}/{action}", {"amount": amount})
    assert_error(response, 403, "permission_denied")
    assert snapshot() == before


# --- staff: everything on anyone's wallet -----------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("owner", ["alice", "bob"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_staff_may_do_everything_on_anyones_wallet(operator, wallets, action, owner, slash):
    assert_allowed(send(operator, action, wallets, owner, slash), action, wallets, owner)


def test_staff_sees_every_wallet_of_a_user(operator, make_wallet, wallets):
    second = make_wallet("bob", currency="EUR")
    data = operator.get("/users/bob/wallets").json()["data"]
    assert {w["id"] for w in data} == {str(wallets["bob"].id), str(second.id)}


# --- the system account is invisible ----------------------------------------------------------------


@pytest.fixture
def system_id(wallets: dict[str, Wallet]) -> uuid.UUID:
    """The USD system account, created by the first fund (in `wallets`)."""
    system = Wallet.objects.get(kind=Wallet.Kind.SYSTEM, currency="USD")
    assert system.id not in {w.id for w in wallets.values()}
    return system.id


@pytest.mark.parametrize("client_name", ["operator", "alice"])
@pytest.mark.parametrize("suffix", ["", "/", "/transactions"])
def test_system_account_cannot_be_read(request, system_id, snapshot, client_name, suffix):
    client = request.getfixturevalue(client_name)
    before = snapshot()
    assert_error(client.get(f"/wallets/{system_id}{suffix}"), 404, "wallet_not_found")
    assert snapshot() == before


@pytest.mark.parametrize("client_name", ["operator", "alice"])
def test_transfer_to_the_system_account_is_wallet_not_found(
    request, wallets, system_id, snapshot, client_name
):
    client = request.getfixturevalue(client_name)
    before = snapshot()
    body = {"to_wallet_id": str(system_id), "amount": "1.00"}
    assert_error(post_json(client, f"/wallets/{wallets['alice'].id}/transfer", body), 404, "wallet_not_found")
    assert snapshot() == before


@pytest.mark.parametrize("action", ["fund", "withdraw", "transfer"])
def test_staff_cannot_move_money_on_the_system_account(operator, wallets, system_id, snapshot, action):
    body: dict[str, Any] = {"amount": "1.00"}
    if action == "transfer":
        body["to_wallet_id"] = str(wallets["alice"].id)
    before = snapshot()
    assert_error(post_json(operator, f"/wallets/{system_id}/{action}", body), 404, "wallet_not_found")
    assert snapshot() == before


def test_system_account_is_in_no_listing(operator, wallets, system_id):
    for user_id in ("system", "alice", "bob"):
        response = operator.get(f"/users/{user_id}/wallets")
        assert response.status_code == 200, response.content
        assert str(system_id) not in response.content.decode()
    # Its user_id ("system:USD") is not a user id: no listing route takes it.
    assert operator.get("/users/system:USD/wallets").status_code == 404
