"""The spec's error table (../shared/spec/api.md), endpoint by endpoint, through the HTTP API.

Every refused request must answer the error envelope `{"success": false, "error", "code"}` with the
spec's status and code, rendered compactly, with no stack trace, SQL or internal name, and it must
change nothing: `snapshot()` is taken before and after and compared.
Also: trailing slashes, exact JSON-number amounts, 4-place money, and cursor pagination.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model

from wallets import services
from wallets.models import Wallet

pytestmark = pytest.mark.django_db

JSON = "application/json"
MONEY = re.compile(r"^[0-9]+\.[0-9]{4}$")
# Never in a response: a stack trace, SQL, a driver or internal Python name.
LEAKS = re.compile(
    r"Traceback|File \"|SELECT |INSERT INTO|UPDATE \"|DELETE FROM|psycopg|django\.db|IntegrityError"
    r"|OperationalError|wallets_wallet|wallets_ledger|JsonNumber|ApplicationError|\.py\b"
)
POSTS = ["create", "fund", "withdraw", "transfer"]
MONEY_POSTS = ["fund", "withdraw", "transfer"]


# --- helpers ----------------------------------------------------------------------------------------


def assert_clean(response: Any) -> None:
    """Compact JSON (as DRF renders it), and nothing internal in the body."""
    body = response.content
    text = body.decode()
    assert not LEAKS.search(text), text
    parsed = json.loads(body)
    assert body == json.dumps(parsed, separators=(",", ":"), ensure_ascii=False).encode(), text
    assert b'": ' not in body


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(JSON), response["Content-Type"]
    assert_clean(response)
    body = response.json()
    assert body["success"] is False
    assert body["code"] == code, body
    assert isinstance(body["error"], str)
    assert body["error"]
    assert set(body) <= {"success", "error", "code", "details"}
    return body


def assert_ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    assert_clean(response)
    body = response.json()
    assert body["success"] is True
    return body["data"]


def assert_wallet_money(wallet: dict[str, Any]) -> None:
    assert MONEY.fullmatch(wallet["balance"]), wallet


def assert_txn_money(txn: dict[str, Any]) -> None:
    assert MONEY.fullmatch(txn["amount"]), txn
    assert MONEY.fullmatch(txn["balance_after"]), txn


def post_raw(client: Any, path: str, body: str | bytes, content_type: str | None = JSON, **extra: Any) -> Any:
    """POST a body exactly as given (no client-side JSON encoding)."""
    data = body.encode() if isinstance(body, str) else body
    return client.generic("POST", path, data=data, content_type=content_type, **extra)


def post_json(client: Any, path: str, body: Any, **extra: Any) -> Any:
    return post_raw(client, path, json.dumps(body), **extra)


def refused(snapshot: Any, send: Any, status: int, code: str) -> dict[str, Any]:
    """Send a request that must be refused with (status, code) and change nothing."""
    before = snapshot()
    response = send()
    body = assert_error(response, status, code)
    assert snapshot() == before
    return body


def encode_cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


@pytest.fixture
def world(make_wallet: Any, operator: Any) -> SimpleNamespace:
    """alice: 100.00 USD; bob: 0 USD; carol: 50.00 EUR (the system USD and EUR accounts exist)."""
    return SimpleNamespace(
        alice=make_wallet("alice", "100.00"),
        bob=make_wallet("bob"),
        carol_eur=make_wallet("carol", "50.00", currency="EUR"),
    )


def target(name: str, world: SimpleNamespace) -> tuple[str, dict[str, Any]]:
    """A POST endpoint's path and a valid body (from alice's wallet)."""
    a, b = world.alice.id, world.bob.id
    return {
        "create": ("/wallets", {"user_id": "dave"}),
        "fund": (f"/wallets/{a}/fund", {"amount": "1.00"}),
        "withdraw": (f"/wallets/{a}/withdraw", {"amount": "1.00"}),
        "transfer": (f"/wallets/{a}/transfer", {"to_wallet_id": str(b), "amount": "1.00"}),
    }[name]


def freeze(wallet_id: uuid.UUID) -> None:
    actor, _ = get_user_model().objects.get_or_create(username="ops", defaults={"is_staff": True})
    assert services.wallet_freeze(wallet_id=wallet_id, reason="test", actor=actor) is True


# --- the targets are valid: every refusal below is caused by the one thing changed ------------------


@pytest.mark.parametrize("name", POSTS)
def test_each_post_target_succeeds_with_its_valid_body(operator, world, name):
    path, body = target(name, world)
    response = post_json(operator, path, body)
    data = assert_ok(response, 201 if name == "create" else 200)
    if name == "transfer":
        assert [t["type"] for t in data] == ["TRANSFER_OUT", "TRANSFER_IN"]
    else:
        assert_wallet_money(data)


# --- 400 validation_error: malformed JSON, wrong types, missing fields -------------------------------

MALFORMED_JSON = [
    b'{"amount": ',
    b"{amount: 1}",
    b"{'amount': '1'}",
    b'{"amount":"1"} trailing',
    b'{"amount":"1",}',
    b'{"amount":"1"}{"amount":"2"}',
    b"\xff\xfe\x00{",
    b'{"amount":"\xe9"}',
    b"nul",
]


@pytest.mark.parametrize("name", POSTS)
@pytest.mark.parametrize("raw", MALFORMED_JSON)
def test_malformed_json_is_validation_error(operator, world, snapshot, name, raw):
    path, _ = target(name, world)
    refused(snapshot, lambda: post_raw(operator, path, raw), 400, "validation_error")


@pytest.mark.parametrize("name", POSTS)
def test_deeply_nested_json_is_validation_error_not_500(operator, world, snapshot, name):
    """Valid JSON nested deeper than the parser's recursion limit, well under 64 KiB."""
    path, _ = target(name, world)
    raw = "[" * 20_000 + "]" * 20_000
    refused(snapshot, lambda: post_raw(operator, path, raw), 400, "validation_error")


@pytest.mark.parametrize("name", POSTS)
@pytest.mark.parametrize("charset", ["rot13", "base64", "hex"])
def test_json_with_a_non_text_charset_is_refused_not_500(operator, world, snapshot, name, charset):
    """`charset=` naming a codec that is not a text encoding: a client error (400 or 415), not a 500."""
    path, body = target(name, world)
    before = snapshot()
    response = post_raw(operator, path, json.dumps(body), content_type=f"{JSON}; charset={charset}")
    assert response.status_code in (400, 415), response.content
    assert_error(
        response,
        response.status_code,
        {400: "validation_error", 415: "unsupported_media_type"}[response.status_code],
    )
    assert snapshot() == before


@pytest.mark.parametrize("name", POSTS)
@pytest.mark.parametrize("raw", ["[]", '[{"amount":"1.00","user_id":"dave"}]', '"x"', "5", "null", "true"])
def test_body_that_is_not_an_object_is_validation_error(operator, world, snapshot, name, raw):
    path, _ = target(name, world)
    refused(snapshot, lambda: post_raw(operator, path, raw), 400, "validation_error")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"currency": "USD"},
        {"user_id": None},
        {"user_id": ""},
        {"user_id": True},
        {"user_id": ["dave"]},
        {"user_id": {"name": "dave"}},
        {"user_id": "da ve"},
        {"user_id": "dave/x"},
        {"user_id": "d" * 101},
        {"user_id": "dave", "currency": "XYZ"},
        {"user_id": "dave", "currency": "usd"},
        {"user_id": "dave", "currency": None},
        {"user_id": "dave", "currency": ["USD"]},
    ],
)
def test_create_with_wrong_or_missing_fields_is_validation_error(operator, snapshot, body):
    refused(snapshot, lambda: post_json(operator, "/wallets", body), 400, "validation_error")


@pytest.mark.parametrize("raw", ['{"user_id":5}', '{"user_id":5.5}', '{"user_id":"dave","currency":840}'])
def test_create_with_a_json_number_for_a_text_field_is_validation_error(operator, snapshot, raw):
    refused(snapshot, lambda: post_raw(operator, "/wallets", raw), 400, "validation_error")


@pytest.mark.parametrize("name", ["fund", "withdraw"])
@pytest.mark.parametrize("body", [{}, {"amout": "1.00"}, {"value": "1.00"}])
def test_fund_and_withdraw_without_amount_is_validation_error(operator, world, snapshot, name, body):
    path, _ = target(name, world)
    refused(snapshot, lambda: post_json(operator, path, body), 400, "validation_error")


@pytest.mark.parametrize(
    "raw_to",
    ['"not-a-uuid"', "5", "null", "true", "false", "[]", "{}", '""', '"12345678-1234-1234-1234-12345678901"'],
)
def test_transfer_with_to_wallet_id_not_a_uuid_is_validation_error(operator, world, snapshot, raw_to):
    path = f"/wallets/{world.alice.id}/transfer"
    raw = f'{{"to_wallet_id":{raw_to},"amount":"1.00"}}'
    refused(snapshot, lambda: post_raw(operator, path, raw), 400, "validation_error")


@pytest.mark.parametrize("body", [{}, {"amount": "1.00"}, {"to_wallet_id": "BOB"}])
def test_transfer_with_missing_fields_is_validation_error(operator, world, snapshot, body):
    body = {k: (str(world.bob.id) if v == "BOB" else v) for k, v in body.items()}
    path = f"/wallets/{world.alice.id}/transfer"
    refused(snapshot, lambda: post_json(operator, path, body), 400, "validation_error")


# --- 400 invalid_amount --------------------------------------------------------------------------

# Raw JSON for the amount value: strings and JSON numbers.
BAD_AMOUNTS = [
    '"0"',
    "0",
    '"0.0000"',
    "0.0",
    '"-1"',
    "-1",
    '"-0.0001"',
    "-100.25",
    '"1.00001"',
    "1.00001",
    '"0.00001"',
    '"1234567890123456"',
    "1234567890123456",
    '"1234567890123456.0001"',
    '"NaN"',
    "NaN",
    '"Infinity"',
    "Infinity",
    "-Infinity",
    '"-Infinity"',
    '"1e3"',
    "1e3",
    "1E3",
    '"1.5e2"',
    "1.5e2",
    '""',
    '" "',
    '" 1.00"',
    '"1.00 "',
    '"+1"',
    '"1,00"',
    '"0x10"',
    '"\\u0661"',
    '"\\uff11"',
    "true",
    "false",
    "null",
    "{}",
    "[]",
    '["1.00"]',
    '{"value":"1.00"}',
]


@pytest.mark.parametrize("name", MONEY_POSTS)
@pytest.mark.parametrize("raw_amount", BAD_AMOUNTS)
def test_bad_amount_is_invalid_amount(operator, world, snapshot, name, raw_amount):
    path, body = target(name, world)
    fields = [f'"amount":{raw_amount}']
    if "to_wallet_id" in body:
        fields.insert(0, f'"to_wallet_id":"{body["to_wallet_id"]}"')
    raw = "{" + ",".join(fields) + "}"
    refused(snapshot, lambda: post_raw(operator, path, raw), 400, "invalid_amount")


def test_fund_beyond_the_largest_balance_is_invalid_amount(operator, make_wallet, snapshot):
    wallet = make_wallet("alice", "999999999999999.9999")
    path = f"/wallets/{wallet.id}/fund"
    refused(snapshot, lambda: post_json(operator, path, {"amount": "0.0001"}), 400, "invalid_amount")


@pytest.mark.usefixtures("without_approvals")  # the amounts are the point, not the threshold (issue #23)
def test_largest_and_smallest_amounts_are_accepted_exactly(operator, make_wallet):
    wallet = make_wallet("alice")
    data = assert_ok(post_raw(operator, f"/wallets/{wallet.id}/fund", '{"amount":999999999999999.9999}'))
    assert data["balance"] == "999999999999999.9999"
    data = assert_ok(post_json(operator, f"/wallets/{wallet.id}/withdraw", {"amount": "0.0001"}))
    assert data["balance"] == "999999999999999.9998"


# --- 400 insufficient_funds, same_wallet, currency_mismatch ----------------------------------------


@pytest.mark.parametrize("amount", ["100.0001", "1000", "1000000"])
def test_withdraw_more_than_the_balance_is_insufficient_funds(operator, world, snapshot, amount):
    path = f"/wallets/{world.alice.id}/withdraw"
    refused(snapshot, lambda: post_json(operator, path, {"amount": amount}), 400, "insufficient_funds")


def test_withdraw_from_an_empty_wallet_is_insufficient_funds(operator, world, snapshot):
    path = f"/wallets/{world.bob.id}/withdraw"
    refused(snapshot, lambda: post_json(operator, path, {"amount": "0.0001"}), 400, "insufficient_funds")


@pytest.mark.parametrize("amount", ["100.0001", "1000"])
def test_transfer_more_than_the_balance_is_insufficient_funds(operator, world, snapshot, amount):
    path = f"/wallets/{world.alice.id}/transfer"
    body = {"to_wallet_id": str(world.bob.id), "amount": amount}
    refused(snapshot, lambda: post_json(operator, path, body), 400, "insufficient_funds")


def test_the_whole_balance_can_be_withdrawn(operator, world):
    data = assert_ok(post_json(operator, f"/wallets/{world.alice.id}/withdraw", {"amount": "100"}))
    assert data["balance"] == "0.0000"


@pytest.mark.parametrize("client_name", ["operator", "alice"])
def test_transfer_to_the_same_wallet_is_same_wallet(request, world, snapshot, client_name):
    client = request.getfixturevalue(client_name)
    path = f"/wallets/{world.alice.id}/transfer"
    body = {"to_wallet_id": str(world.alice.id), "amount": "1.00"}
    refused(snapshot, lambda: post_json(client, path, body), 400, "same_wallet")


def test_transfer_to_the_same_wallet_spelled_differently_is_same_wallet(operator, world, snapshot):
    path = f"/wallets/{world.alice.id}/transfer"
    body = {"to_wallet_id": world.alice.id.hex.upper(), "amount": "1.00"}
    refused(snapshot, lambda: post_json(operator, path, body), 400, "same_wallet")


@pytest.mark.parametrize("direction", ["usd_to_eur", "eur_to_usd"])
def test_transfer_between_currencies_is_currency_mismatch(operator, world, snapshot, direction):
    usd, eur = world.alice.id, world.carol_eur.id
    sender, receiver = (usd, eur) if direction == "usd_to_eur" else (eur, usd)
    path = f"/wallets/{sender}/transfer"
    body = {"to_wallet_id": str(receiver), "amount": "1.00"}
    refused(snapshot, lambda: post_json(operator, path, body), 400, "currency_mismatch")


def test_end_user_transfer_between_currencies_is_currency_mismatch(alice, world, snapshot):
    path = f"/wallets/{world.alice.id}/transfer"
    body = {"to_wallet_id": str(world.carol_eur.id), "amount": "1.00"}
    refused(snapshot, lambda: post_json(alice, path, body), 400, "currency_mismatch")


# --- 404 wallet_not_found ---------------------------------------------------------------------------

BAD_PATH_IDS = [
    str(uuid.uuid4()),
    "not-a-uuid",
    "12345",
    "0" * 33,
    "g" * 32,
    str(uuid.UUID(int=0)) + "0",
    "%E2%82%AC",
    "%20",
    "x" * 300,
    "null",
]


@pytest.mark.parametrize("wallet_id", BAD_PATH_IDS)
@pytest.mark.parametrize("suffix", ["", "/transactions"])
def test_get_unknown_or_malformed_wallet_is_wallet_not_found(operator, world, snapshot, wallet_id, suffix):
    refused(snapshot, lambda: operator.get(f"/wallets/{wallet_id}{suffix}"), 404, "wallet_not_found")


@pytest.mark.parametrize("wallet_id", BAD_PATH_IDS)
@pytest.mark.parametrize("name", MONEY_POSTS)
def test_post_to_unknown_or_malformed_wallet_is_wallet_not_found(operator, world, snapshot, wallet_id, name):
    _, body = target(name, world)
    path = f"/wallets/{wallet_id}/{name}"
    refused(snapshot, lambda: post_json(operator, path, body), 404, "wallet_not_found")


@pytest.mark.parametrize("client_name", ["operator", "alice"])
def test_transfer_to_an_unknown_wallet_is_wallet_not_found(request, world, snapshot, client_name):
    client = request.getfixturevalue(client_name)
    path = f"/wallets/{world.alice.id}/transfer"
    body = {"to_wallet_id": str(uuid.uuid4()), "amount": "1.00"}
    refused(snapshot, lambda: post_json(client, path, body), 404, "wallet_not_found")


# --- 409 wallet_frozen ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["fund", "withdraw"])
def test_fund_and_withdraw_on_a_frozen_wallet_is_wallet_frozen(operator, world, snapshot, name):
    freeze(world.alice.id)
    path = f"/wallets/{world.alice.id}/{name}"
    refused(snapshot, lambda: post_json(operator, path, {"amount": "1.00"}), 409, "wallet_frozen")


@pytest.mark.parametrize("frozen", ["sender", "receiver", "both"])
@pytest.mark.parametrize("client_name", ["operator", "alice"])
def test_transfer_from_or_to_a_frozen_wallet_is_wallet_frozen(request, world, snapshot, frozen, client_name):
    client = request.getfixturevalue(client_name)
    if frozen in ("sender", "both"):
        freeze(world.alice.id)
    if frozen in ("receiver", "both"):
        freeze(world.bob.id)
    path = f"/wallets/{world.alice.id}/transfer"
    body = {"to_wallet_id": str(world.bob.id), "amount": "1.00"}
    refused(snapshot, lambda: post_json(client, path, body), 409, "wallet_frozen")


def test_a_frozen_wallet_can_still_be_read(operator, world):
    freeze(world.alice.id)
    data = assert_ok(operator.get(f"/wallets/{world.alice.id}"))
    assert (data["status"], data["balance"]) == ("frozen", "100.0000")


# --- 415 unsupported_media_type ---------------------------------------------------------------------


def _send_with_media_type(client: Any, path: str, body: dict[str, Any], kind: str) -> Any:
    if kind == "form":
        return post_raw(client, path, urlencode(body), content_type="application/x-www-form-urlencoded")
    if kind == "multipart":
        return client.post(path, body, format="multipart")
    if kind == "text/plain":
        return post_raw(client, path, json.dumps(body), content_type="text/plain")
    if kind == "none":
        return post_raw(client, path, json.dumps(body), content_type=None)
    return post_raw(client, path, json.dumps(body), content_type=kind)


@pytest.mark.parametrize("name", POSTS)
@pytest.mark.parametrize("kind", ["form", "multipart", "text/plain", "none", "application/xml", "text/json"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_post_without_json_content_type_is_unsupported_media_type(
    operator, world, snapshot, name, kind, slash
):
    path, body = target(name, world)
    send = lambda: _send_with_media_type(operator, path + slash, body, kind)  # noqa: E731
    refused(snapshot, send, 415, "unsupported_media_type")


@pytest.mark.parametrize("name", POSTS)
def test_json_content_type_with_charset_is_accepted(operator, world, name):
    path, body = target(name, world)
    response = post_raw(operator, path, json.dumps(body), content_type="application/json; charset=utf-8")
    assert_ok(response, 201 if name == "create" else 200)


# --- 413 payload_too_large --------------------------------------------------------------------------


def _padded(body: dict[str, Any], size: int) -> bytes:
    """`body` plus a padding field, exactly `size` bytes of valid JSON."""
    empty = json.dumps({**body, "padding": ""}, separators=(",", ":")).encode()
    return json.dumps({**body, "padding": "x" * (size - len(empty))}, separators=(",", ":")).encode()


@pytest.mark.parametrize("name", POSTS)
@pytest.mark.parametrize("size", [64 * 1024 + 1, 70_000, 1024 * 1024])
@pytest.mark.parametrize("slash", ["", "/"])
def test_body_over_64_kib_is_payload_too_large(operator, world, snapshot, name, size, slash):
    path, body = target(name, world)
    raw = _padded(body, size)
    assert len(raw) == size
    refused(snapshot, lambda: post_raw(operator, path + slash, raw), 413, "payload_too_large")


@pytest.mark.parametrize("name", POSTS)
def test_body_of_exactly_64_kib_is_accepted(operator, world, name):
    path, body = target(name, world)
    raw = _padded(body, 64 * 1024)
    assert_ok(post_raw(operator, path, raw), 201 if name == "create" else 200)


# --- Idempotency-Key: 422 idempotency_key_reused, 400 for a malformed key ---------------------------


@pytest.mark.parametrize("name", POSTS)
def test_idempotency_key_reused_with_another_body_is_422(operator, world, snapshot, name):
    path, body = target(name, world)
    first = post_json(operator, path, body, HTTP_IDEMPOTENCY_KEY="key-1")
    assert_ok(first, 201 if name == "create" else 200)
    other = dict(body)
    if name == "create":
        other["user_id"] = "erin"
    else:
        other["amount"] = "2.00"
    send = lambda: post_json(operator, path, other, HTTP_IDEMPOTENCY_KEY="key-1")  # noqa: E731
    refused(snapshot, send, 422, "idempotency_key_reused")


@pytest.mark.parametrize("name", MONEY_POSTS)
def test_idempotency_key_reused_on_another_path_is_422(operator, world, snapshot, name):
    path, body = target(name, world)
    assert_ok(post_json(operator, path, body, HTTP_IDEMPOTENCY_KEY="key-2"))
    other_path = path.replace(str(world.alice.id), str(world.bob.id))
    other_body = {"to_wallet_id": str(world.alice.id), "amount": "1.00"} if name == "transfer" else body
    if name != "fund":  # bob has no money: give him some first, under another key
        assert_ok(post_json(operator, f"/wallets/{world.bob.id}/fund", {"amount": "5.00"}))
    send = lambda: post_json(operator, other_path, other_body, HTTP_IDEMPOTENCY_KEY="key-2")  # noqa: E731
    refused(snapshot, send, 422, "idempotency_key_reused")


def test_idempotency_key_reused_on_another_endpoint_is_422(operator, world, snapshot):
    path = f"/wallets/{world.alice.id}/fund"
    assert_ok(post_json(operator, path, {"amount": "1.00"}, HTTP_IDEMPOTENCY_KEY="key-3"))
    other = f"/wallets/{world.alice.id}/withdraw"
    send = lambda: post_json(operator, other, {"amount": "1.00"}, HTTP_IDEMPOTENCY_KEY="key-3")  # noqa: E731
    refused(snapshot, send, 422, "idempotency_key_reused")


def test_idempotency_key_replay_changes_nothing_and_is_byte_identical(operator, world, snapshot):
    path, body = target("fund", world)
    first = post_json(operator, path, body, HTTP_IDEMPOTENCY_KEY="key-4")
    assert_ok(first)
    before = snapshot()
    again = post_json(operator, path, body, HTTP_IDEMPOTENCY_KEY="key-4")
    assert again.status_code == 200
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert snapshot() == before


BAD_KEYS = ["k" * 256, "cl\u00e9", "\u043a\u043b\u044e\u0447", "", "tab\there", "new\x7fline", "\x00"]


@pytest.mark.parametrize("name", POSTS)
@pytest.mark.parametrize(
    "key", BAD_KEYS, ids=["256-chars", "latin1", "cyrillic", "empty", "tab", "del", "nul"]
)
def test_malformed_idempotency_key_is_validation_error(operator, world, snapshot, name, key):
    path, body = target(name, world)
    send = lambda: post_json(operator, path, body, HTTP_IDEMPOTENCY_KEY=key)  # noqa: E731
    refused(snapshot, send, 400, "validation_error")


@pytest.mark.parametrize("name", POSTS)
def test_idempotency_key_of_255_printable_characters_is_accepted(operator, world, name):
    path, body = target(name, world)
    key = ("~ !Az09" * 40)[:255]
    assert_ok(post_json(operator, path, body, HTTP_IDEMPOTENCY_KEY=key), 201 if name == "create" else 200)


# --- 405 and unknown routes -------------------------------------------------------------------------


def _method_path(world: SimpleNamespace, method: str, template: str) -> tuple[str, str]:
    return method, template.format(a=world.alice.id)


WRONG_METHODS = [
    ("get", "/wallets"),
    ("put", "/wallets"),
    ("delete", "/wallets"),
    ("post", "/wallets/{a}"),
    ("put", "/wallets/{a}"),
    ("patch", "/wallets/{a}"),
    ("delete", "/wallets/{a}"),
    ("get", "/wallets/{a}/fund"),
    ("put", "/wallets/{a}/fund"),
    ("get", "/wallets/{a}/withdraw"),
    ("delete", "/wallets/{a}/withdraw"),
    ("get", "/wallets/{a}/transfer"),
    ("patch", "/wallets/{a}/transfer"),
    ("post", "/wallets/{a}/transactions"),
    ("delete", "/wallets/{a}/transactions"),
    ("post", "/users/alice/wallets"),
    ("delete", "/users/alice/wallets"),
]


@pytest.mark.parametrize(("method", "template"), WRONG_METHODS)
@pytest.mark.parametrize("slash", ["", "/"])
def test_wrong_method_is_405_in_the_envelope(operator, world, snapshot, method, template, slash):
    method, path = _method_path(world, method, template)
    send = lambda: getattr(operator, method)(path + slash, {}, format="json")  # noqa: E731
    body = refused(snapshot, send, 405, "method_not_allowed")
    assert method.upper() in body["error"]


UNKNOWN_ROUTES = [
    ("get", "/nope"),
    ("get", "/wallet"),
    ("get", "/wallets/{a}/nope"),
    ("get", "/wallets/{a}/fund/extra"),
    ("post", "/wallets/{a}/refund"),
    ("get", "/wallets/{a}//transactions"),
    ("get", "/users/alice"),
    ("get", "/users/alice/wallets/extra"),
    ("get", "/users//wallets"),
    ("post", "/transfer"),
    ("delete", "/nope/"),
]


@pytest.mark.parametrize(("method", "template"), UNKNOWN_ROUTES)
@pytest.mark.parametrize("client_name", ["operator", "anonymous"])
def test_unknown_route_is_404_not_found_envelope(request, world, snapshot, method, template, client_name):
    client = request.getfixturevalue(client_name)
    method, path = _method_path(world, method, template)
    send = lambda: getattr(client, method)(path, {}, format="json")  # noqa: E731
    refused(snapshot, send, 404, "not_found")


# --- trailing slashes, exact amounts, 4-place money, compact JSON -----------------------------------


@pytest.mark.parametrize("slash", ["", "/"])
def test_every_endpoint_works_with_and_without_trailing_slash(operator, world, slash):
    a, b = world.alice.id, world.bob.id
    created = assert_ok(post_json(operator, "/wallets" + slash, {"user_id": "alice"}), 201)
    assert (created["user_id"], created["balance"]) == ("alice", "0.0000")
    detail = assert_ok(operator.get(f"/wallets/{a}{slash}"))
    assert detail["id"] == str(a)
    listed = assert_ok(operator.get(f"/users/alice/wallets{slash}"))
    assert {w["id"] for w in listed} == {str(a), created["id"]}
    funded = assert_ok(post_json(operator, f"/wallets/{a}/fund{slash}", {"amount": "10.00"}))
    assert funded["balance"] == "110.0000"
    withdrawn = assert_ok(post_json(operator, f"/wallets/{a}/withdraw{slash}", {"amount": "5.00"}))
    assert withdrawn["balance"] == "105.0000"
    moved = assert_ok(
        post_json(operator, f"/wallets/{a}/transfer{slash}", {"to_wallet_id": str(b), "amount": "5"})
    )
    assert [t["balance_after"] for t in moved] == ["100.0000", "5.0000"]
    txns = assert_ok(operator.get(f"/wallets/{a}/transactions{slash}"))
    assert [t["type"] for t in txns] == ["TRANSFER_OUT", "WITHDRAW", "FUND", "FUND"]


@pytest.mark.parametrize(
    ("raw_amount", "balance"),
    [
        ("100.25", "100.2500"),
        ("100", "100.0000"),
        ("0.0001", "0.0001"),
        ("0.1", "0.1000"),
        ("12345678901234.5678", "12345678901234.5678"),
        ("999999999999999.9999", "999999999999999.9999"),
        ("1.0000", "1.0000"),
    ],
)
@pytest.mark.parametrize("as_string", [False, True], ids=["json-number", "string"])
@pytest.mark.usefixtures("without_approvals")  # the amounts are the point, not the threshold (issue #23)
def test_amounts_are_accepted_exactly(operator, make_wallet, raw_amount, balance, as_string):
    wallet = make_wallet("alice")
    value = f'"{raw_amount}"' if as_string else raw_amount
    data = assert_ok(post_raw(operator, f"/wallets/{wallet.id}/fund", f'{{"amount":{value}}}'))
    assert data["balance"] == balance
    wallet.refresh_from_db()
    assert wallet.balance == Decimal(balance)


def test_json_numbers_add_up_without_float_error(operator, make_wallet):
    wallet = make_wallet("alice")
    for _ in range(3):
        data = assert_ok(post_raw(operator, f"/wallets/{wallet.id}/fund", '{"amount":0.1}'))
    assert data["balance"] == "0.3000"
    data = assert_ok(post_raw(operator, f"/wallets/{wallet.id}/withdraw", '{"amount":0.2}'))
    assert data["balance"] == "0.1000"


def test_money_always_has_four_places_and_json_is_compact(operator, world):
    a, b = world.alice.id, world.bob.id
    responses = [
        post_json(operator, "/wallets", {"user_id": "alice", "currency": "EUR"}),
        operator.get(f"/wallets/{a}"),
        operator.get("/users/alice/wallets"),
        post_raw(operator, f"/wallets/{a}/fund", '{"amount":1.5}'),
        post_json(operator, f"/wallets/{a}/withdraw", {"amount": "0.25"}),
        post_raw(operator, f"/wallets/{a}/transfer", f'{{"to_wallet_id":"{b}","amount":3}}'),
        operator.get(f"/wallets/{a}/transactions"),
        operator.get(f"/wallets/{b}/transactions"),
    ]
    seen_wallets = seen_txns = 0
    for response in responses:
        assert response.status_code in (200, 201), response.content
        assert_clean(response)
        data = response.json()["data"]
        for item in data if isinstance(data, list) else [data]:
            if "balance" in item:
                assert_wallet_money(item)
                seen_wallets += 1
            else:
                assert_txn_money(item)
                seen_txns += 1
    assert seen_wallets >= 5
    assert seen_txns >= 6
    assert operator.get(f"/wallets/{a}").json()["data"]["balance"] == "98.2500"


# --- pagination ------------------------------------------------------------------------------------


def walk(client: Any, path: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Follow next_cursor to the end; returns the items and the number of pages."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    pages = 0
    while True:
        response = client.get(path, params)
        assert response.status_code == 200, response.content
        assert_clean(response)
        body = response.json()
        pages += 1
        assert body["success"] is True
        assert len(body["data"]) <= limit
        items.extend(body["data"])
        if not body["has_more"]:
            assert body["next_cursor"] is None
            return items, pages
        assert len(body["data"]) == limit
        assert isinstance(body["next_cursor"], str)
        assert body["next_cursor"]
        params = {"limit": limit, "cursor": body["next_cursor"]}
        assert pages < 50


def test_transactions_pages_walk_newest_first_without_duplicates(operator, make_wallet):
    wallet = make_wallet("alice")
    for amount in range(1, 8):
        assert_ok(post_json(operator, f"/wallets/{wallet.id}/fund", {"amount": str(amount)}))
    items, pages = walk(operator, f"/wallets/{wallet.id}/transactions", 2)
    assert pages == 4
    ids = [t["transaction_id"] for t in items]
    assert len(ids) == len(set(ids)) == 7
    balances = [Decimal(t["balance_after"]) for t in items]
    assert balances == sorted(balances, reverse=True)
    assert [t["amount"] for t in items] == [f"{n}.0000" for n in range(7, 0, -1)]
    created = [t["created_at"] for t in items]
    assert created == sorted(created, reverse=True)
    whole = assert_ok(operator.get(f"/wallets/{wallet.id}/transactions", {"limit": 500}))
    assert [t["transaction_id"] for t in whole] == ids
    for txn in items:
        assert_txn_money(txn)


def test_transactions_page_of_exact_size_has_no_more(operator, make_wallet):
    wallet = make_wallet("alice", "5")
    body = operator.get(f"/wallets/{wallet.id}/transactions", {"limit": 1}).json()
    assert (len(body["data"]), body["has_more"], body["next_cursor"]) == (1, False, None)


def test_user_wallets_pages_walk_newest_first_without_duplicates(operator, make_wallet):
    mine = [make_wallet("alice", str(n + 1)) for n in range(5)]
    make_wallet("bob")
    items, pages = walk(operator, "/users/alice/wallets", 2)
    assert pages == 3
    ids = [w["id"] for w in items]
    assert len(ids) == len(set(ids)) == 5
    assert ids == [str(w.id) for w in reversed(mine)]
    assert all(w["user_id"] == "alice" for w in items)
    created = [w["created_at"] for w in items]
    assert created == sorted(created, reverse=True)
    for wallet in items:
        assert_wallet_money(wallet)


BAD_LIMITS = ["0", "501", "abc", "-1", "1.5", "", " 2", "2 ", "1e2", "99999999999999999999999"]
BAD_CURSORS = [
    "garbage",
    "!!!",
    "Zm9v",
    encode_cursor("x"),
    encode_cursor(1.5),
    encode_cursor(True),
    encode_cursor({"v": 1}),
    encode_cursor(["2024-01-01T00:00:00+00:00"]),
    encode_cursor(["not a date", str(uuid.uuid4())]),
    encode_cursor(["2024-01-01T00:00:00+00:00", "not-a-uuid"]),
    encode_cursor([1, 2]),
]


@pytest.fixture
def listed(operator: Any, make_wallet: Any) -> SimpleNamespace:
    """alice with three wallets, one of them with three ledger entries."""
    wallets = [make_wallet("alice", "1"), make_wallet("alice"), make_wallet("alice")]
    for _ in range(2):
        assert_ok(post_json(operator, f"/wallets/{wallets[0].id}/fund", {"amount": "1"}))
    return SimpleNamespace(
        paths=[f"/wallets/{wallets[0].id}/transactions", "/users/alice/wallets"], wallets=wallets
    )


@pytest.mark.parametrize("limit", BAD_LIMITS)
@pytest.mark.parametrize("which", [0, 1], ids=["transactions", "user-wallets"])
def test_bad_limit_is_validation_error(operator, listed, snapshot, limit, which):
    path = listed.paths[which]
    refused(snapshot, lambda: operator.get(path, {"limit": limit}), 400, "validation_error")


@pytest.mark.parametrize(
    "limit", ["\u00b2", "\u00b9", "\u2460"], ids=["superscript-2", "superscript-1", "circled-1"]
)
@pytest.mark.parametrize("which", [0, 1], ids=["transactions", "user-wallets"])
def test_digit_like_limit_is_validation_error_not_500(operator, listed, snapshot, limit, which):
    """Characters that str.isdigit() accepts but int() refuses."""
    path = listed.paths[which]
    refused(snapshot, lambda: operator.get(path, {"limit": limit}), 400, "validation_error")


@pytest.mark.parametrize("cursor", BAD_CURSORS)
@pytest.mark.parametrize("which", [0, 1], ids=["transactions", "user-wallets"])
def test_bad_cursor_is_validation_error(operator, listed, snapshot, cursor, which):
    path = listed.paths[which]
    refused(snapshot, lambda: operator.get(path, {"cursor": cursor, "limit": 1}), 400, "validation_error")


@pytest.mark.parametrize(
    "position", ["2024-13-45T00:00:00+00:00", "2024-02-30T00:00:00", "2024-01-01T25:61:00Z"]
)
def test_user_wallets_cursor_with_an_impossible_date_is_validation_error_not_500(
    operator, listed, snapshot, position
):
    cursor = encode_cursor([position, str(uuid.uuid4())])
    send = lambda: operator.get("/users/alice/wallets", {"cursor": cursor})  # noqa: E731
    refused(snapshot, send, 400, "validation_error")


@pytest.mark.parametrize("limit", ["1", "500"])
def test_limit_bounds_are_accepted(operator, listed, limit):
    for path in listed.paths:
        body = operator.get(path, {"limit": limit}).json()
        assert body["success"] is True
        assert len(body["data"]) == min(int(limit), 3)
        assert body["has_more"] is (limit == "1")


def test_the_system_account_is_not_listed(operator, listed):
    system = Wallet.objects.get(kind=Wallet.Kind.SYSTEM, currency="USD")
    assert system.user_id == "system:USD"  # not a user id: no route lists it
    response = operator.get(f"/users/{system.user_id}/wallets")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
