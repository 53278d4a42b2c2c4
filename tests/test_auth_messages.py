"""A wrong `Authorization` header is refused 401 with a message naming `Token <key>`, in the error
envelope, with `WWW-Authenticate: Token`, and never repeats the key; a logged-in browser without
the header is unaffected."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.conftest import make_client

EXPECTED = "Send the API token as `Authorization: Token <key>`"


@pytest.fixture
def alice(db: Any) -> Any:
    return make_client("alice")


def _get(header: str | None) -> Any:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client.get("/users/alice/wallets")


def _refused(response: Any, key: str | None = None) -> str:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Token"
    body = response.json()
    assert set(body) == {"success", "error", "code"}
    assert body["success"] is False
    assert body["code"] == "not_authenticated"
    if key:
        assert key not in response.content.decode()
        assert key[:15] not in response.content.decode()
    message: str = body["error"]
    return message


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("Bearer {key}", "(got a Bearer scheme)."),
        ("bearer {key}", "(got a bearer scheme)."),
        ("Basic YWxpY2U6c2VjcmV0", "(got a Basic scheme)."),
        ("{key}", "(got a bare key, without `Token `)."),
        ("Token", "(the key is missing)."),
        ("Token   ", "(the key is missing)."),
        ("Token {key} {key}", "(got more than one word after `Token`; a key has no spaces)."),
        ("Bearer", "(got a Bearer scheme)."),
        ("0123-x {key}", "(got an unknown scheme)."),
    ],
)
def test_a_wrong_header_names_the_expected_form(alice, header, says):
    message = _refused(_get(header.format(key=alice.token_key)), alice.token_key)
    assert message == f"{EXPECTED} {says}"


@pytest.mark.parametrize(
    "key",
    ["0" * 64, "0" * 40, "not-a-key", "mangled", "é" * 64],
)
def test_a_wrong_key_says_so_and_names_the_form(alice, key):
    if key == "mangled":
        key = alice.token_key[:-1] + ("1" if alice.token_key[-1] == "0" else "0")
    message = _refused(_get(f"Token {key}"), alice.token_key)
    assert message.startswith("The API token is not valid: unknown, expired, revoked")
    assert "`Authorization: Token <key>`" in message


def test_a_deactivated_users_token_says_so(alice):
    get_user_model().objects.filter(username="alice").update(is_active=False)
    assert _refused(_get(f"Token {alice.token_key}")) == "The API token's user is deactivated or deleted."


def test_no_credentials_at_all_says_how_to_send_them(db):
    message = _refused(_get(None))
    assert message.startswith("Authentication credentials were not provided.")
    assert "`Authorization: Token <key>`" in message


def test_the_right_header_still_works(alice):
    response = alice.get("/users/alice/wallets")
    assert response.status_code == 200, response.content


def test_a_logged_in_browser_without_the_header_is_unaffected(client, db):
    user = get_user_model().objects.create_user("alice", password="pw-alice-1")
    client.force_login(user)
    response = client.get("/users/alice/wallets", HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["success"] is True
