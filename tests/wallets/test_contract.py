"""The published contract tells the truth: every rule the server enforces is in the OpenAPI
document, from the rule's one definition, and the server does what the document says.

(schemathesis checks the same from the outside, generating requests: tests/test_fuzz.py.)
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
import yaml
from django.conf import settings

from common.pagination import CURSOR_MAX_LENGTH, CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT
from common.times import RFC3339_MAX_LENGTH
from wallets import services
from wallets.api.idempotency import KEY_PATTERN
from wallets.events import EVENT_TYPES
from wallets.money import AMOUNT_PATTERN, MAX_MONEY, parse_amount
from wallets.permissions import USER_ID_MAX_LENGTH, USER_ID_PATTERN

pytestmark = pytest.mark.django_db

GETS = {
    "/wallets/{wallet_id}": {"200", "401", "404", "406", "503"},
    "/users/{user_id}/wallets": {"200", "400", "401", "403", "404", "406", "503"},
    "/wallets/{wallet_id}/transactions": {"200", "400", "401", "404", "406", "503"},
    "/wallets/{wallet_id}/history": {"200", "400", "401", "404", "406", "503"},
    "/users/{user_id}/activity": {"200", "400", "401", "403", "404", "406", "503"},
    "/approvals": {"200", "400", "401", "403", "406", "503"},
    "/approvals/{approval_id}": {"200", "401", "403", "404", "406", "503"},
}
# 202: a staff movement the policy holds back, a pending approval (approvals/policy.py).
STAFF_MOVEMENT = {"200", "202", "400", "401", "403", "404", "406", "409", "413", "415", "422", "503"}
DECISION = {"200", "400", "401", "403", "404", "406", "409", "413", "415", "422", "503"}
POSTS = {
    "/wallets": {"201", "400", "401", "403", "406", "409", "413", "415", "422", "503"},
    "/wallets/{wallet_id}/fund": STAFF_MOVEMENT,
    "/wallets/{wallet_id}/withdraw": STAFF_MOVEMENT,
    "/wallets/{wallet_id}/transfer": STAFF_MOVEMENT - {"403"},
    "/transactions/{transaction_id}/reverse": {"201"} | STAFF_MOVEMENT - {"200"},
    "/approvals/{approval_id}/approve": DECISION,
    "/approvals/{approval_id}/reject": DECISION,
}
LINKED = {
    "wallet_get",
    "wallet_fund",
    "wallet_withdraw",
    "transfer_create",
    "wallet_history_list",
    "wallet_transactions_list",
}


@pytest.fixture
def document(operator) -> dict[str, Any]:
    response = operator.get("/api/schema/")
    assert response.status_code == 200
    return dict(yaml.safe_load(response.content))


def parameter(operation: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in operation["parameters"] if p["name"] == name)


def test_paths_are_the_seeds_and_each_operation_lists_exactly_its_error_statuses(document):
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    assert {(path, "get") for path in GETS} | {(path, "post") for path in POSTS} <= operations
    assert not [path for path in document["paths"] if path.endswith("/")]
    for table, method in ((GETS, "get"), (POSTS, "post")):
        for path, statuses in table.items():
            responses = document["paths"][path][method]["responses"]
            # 429 everywhere: an end user past API_USER_RATE (common.throttling).
            assert set(responses) == statuses | {"414", "429", "431"}, path
            for status in statuses - {"200", "201", "202"}:
                error = responses[status]["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/Error"}, (path, status)
            if "202" in statuses:  # the pending approval
                pending = responses["202"]["content"]["application/json"]["schema"]
                assert pending == {"$ref": "#/components/schemas/ApprovalEnvelope"}, path
            for status in ("414", "431"):  # the web server's own refusals, as it sends them: no body
                assert "content" not in responses[status], (path, status)
    withdraw = document["paths"]["/wallets/{wallet_id}/withdraw"]["post"]["responses"]["400"]["description"]
    fund = document["paths"]["/wallets/{wallet_id}/fund"]["post"]["responses"]["400"]["description"]
    assert "insufficient_funds" in withdraw and "insufficient_funds" not in fund


def test_paging_parameters_state_the_servers_limits(document):
    for path in (
        "/users/{user_id}/wallets",
        "/wallets/{wallet_id}/transactions",
        "/wallets/{wallet_id}/history",
    ):
        operation = document["paths"][path]["get"]
        limit = parameter(operation, "limit")["schema"]
        assert limit == {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}
        cursor = {"type": "string", "pattern": CURSOR_PATTERN, "maxLength": CURSOR_MAX_LENGTH}
        assert parameter(operation, "cursor")["schema"] == cursor


def test_history_filters_state_the_servers_rules(document):
    for path in ("/wallets/{wallet_id}/history", "/users/{user_id}/activity"):
        operation = document["paths"][path]["get"]
        event_type = parameter(operation, "event_type")
        assert (event_type["style"], event_type["explode"]) == ("form", False)
        assert event_type["schema"] == {
            "type": "array",
            "items": {"type": "string", "enum": list(EVENT_TYPES)},
            "minItems": 1,
            "maxItems": len(EVENT_TYPES),
            "uniqueItems": True,
        }
        for name in ("since", "until"):
            time = {"type": "string", "format": "date-time", "maxLength": RFC3339_MAX_LENGTH}
            assert parameter(operation, name)["schema"] == time


def test_ids_amounts_currencies_and_idempotency_keys_come_from_their_one_rule(document):
    schemas = document["components"]["schemas"]
    user_id = {"type": "string", "pattern": USER_ID_PATTERN, "maxLength": USER_ID_MAX_LENGTH}
    assert schemas["WalletCreateInput"]["properties"]["user_id"] == user_id
    for path in ("/users/{user_id}/wallets", "/users/{user_id}/activity"):
        assert parameter(document["paths"][path]["get"], "user_id")["schema"] == user_id
    assert schemas["CurrencyEnum"]["enum"] == list(settings.WALLET_CURRENCIES)
    for path, item in document["paths"].items():
        for operation in item.values():
            if "{wallet_id}" in path:
                assert parameter(operation, "wallet_id")["schema"] == {"type": "string", "format": "uuid"}
    amount = schemas["AmountInput"]["properties"]["amount"]
    assert "nullable" not in amount  # null is invalid_amount
    text, number = amount["oneOf"]
    assert text == {"type": "string", "pattern": AMOUNT_PATTERN, "example": "100.00"}
    assert number["exclusiveMinimum"] is True and number["minimum"] == 0
    assert number["exclusiveMaximum"] is True and number["maximum"] == 10**15
    assert number["multipleOf"] == 0.0001
    assert schemas["TransferInput"]["properties"]["amount"] == amount
    for path in POSTS:
        key = parameter(document["paths"][path]["post"], "Idempotency-Key")
        assert key["in"] == "header"
        assert key["schema"] == {"type": "string", "pattern": KEY_PATTERN, "maxLength": 255}


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("1", True),
        ("100.00", True),
        ("999999999999999.9999", True),
        ("0.0001", True),
        ("0", False),
        ("0.0000", False),
        ("1.00001", False),
        ("1000000000000000", False),
        ("-1", False),
        ("1e3", False),
        (" 1", False),
    ],
)
def test_the_published_amount_pattern_is_the_servers_rule(text, valid):
    assert bool(re.fullmatch(AMOUNT_PATTERN, text)) is valid
    try:
        parse_amount(text)
    except Exception:
        accepted = False
    else:
        accepted = True
    assert accepted is valid


def test_a_created_wallet_links_to_every_operation_on_it(document):
    created = document["paths"]["/wallets"]["post"]["responses"]["201"]
    links = created["links"]
    by_operation = {link["operationId"]: link["parameters"] for link in links.values()}
    assert set(by_operation) >= LINKED
    for operation_id in LINKED:
        assert by_operation[operation_id] == {"wallet_id": "$response.body#/data/id"}
    assert by_operation["user_wallets_list"] == {"user_id": "$response.body#/data/user_id"}
    funded = document["paths"]["/wallets/{wallet_id}/fund"]["post"]["responses"]["200"]["links"]
    assert {link["operationId"] for link in funded.values()} >= LINKED
    operation_ids = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    assert operation_ids >= LINKED


def test_no_operation_is_described_by_the_base_views_docstring(document):
    from drf_spectacular.plumbing import get_doc

    from common.api import ApiView

    base = get_doc(ApiView)
    assert base
    for item in document["paths"].values():
        for operation in item.values():
            assert operation.get("description", "") != base


# --- the server does what the document says ----------------------------------------------------------

NOT_POSTABLE = [
    "/wallets/{a}",
    "/wallets/{a}/history",
    "/wallets/{a}/transactions",
    "/users/alice/wallets",
    "/users/alice/activity",
]


@pytest.mark.parametrize("template", NOT_POSTABLE)
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/json"])
def test_an_undeclared_method_is_405_with_allow_whatever_the_media_type(
    operator, make_wallet, template, content_type
):
    path = template.format(a=make_wallet("alice").id)
    extra = {} if content_type is None else {"content_type": content_type}
    response = operator.generic("POST", path, b"x", **extra)
    assert response.status_code == 405, response.content
    assert response.json()["code"] == "method_not_allowed"
    assert {m.strip() for m in response["Allow"].split(",")} == {"GET", "HEAD", "OPTIONS"}


def test_a_post_route_still_refuses_a_body_that_is_not_json(operator, make_wallet):
    response = operator.generic("POST", "/wallets", b"user_id=alice", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize("user_id", ["a b", "x" * (USER_ID_MAX_LENGTH + 1), "al:ice", "%C3%A9"])
@pytest.mark.parametrize("suffix", ["wallets", "activity"])
def test_a_path_user_id_outside_the_published_pattern_is_404(operator, user_id, suffix):
    response = operator.get(f"/users/{user_id}/{suffix}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_longest_user_id_is_served(operator):
    assert operator.get(f"/users/{'x' * USER_ID_MAX_LENGTH}/wallets").status_code == 200


@pytest.mark.parametrize("cursor", ["WzEsMl0=", "WzEs Ml0", "WzEsMl0+"])
def test_a_cursor_outside_the_published_alphabet_is_400(operator, make_wallet, cursor):
    wallet = make_wallet("alice")
    response = operator.get(f"/wallets/{wallet.id}/transactions", {"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["details"] == {"cursor": cursor}


def test_a_cursor_decoding_to_absurdly_deep_json_is_400_not_500(operator, make_wallet):
    import base64

    deep = base64.urlsafe_b64encode(b"[" * 100_000).decode().rstrip("=")
    wallet = make_wallet("alice")
    response = operator.get(f"/wallets/{wallet.id}/transactions", {"cursor": deep})
    assert response.status_code == 400


@pytest.mark.parametrize("key", [" key", "key ", "", "k" * 256, "caf\u00e9"])
def test_an_idempotency_key_outside_the_published_pattern_is_400(operator, key):
    response = operator.post("/wallets", {"user_id": "alice"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_a_credit_past_the_maximum_balance_names_it(operator, make_wallet):
    wallet = make_wallet("alice")
    services.wallet_fund(wallet_id=wallet.id, amount=MAX_MONEY, initiated_by="test")
    response = operator.post(f"/wallets/{wallet.id}/fund", {"amount": "1"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_amount"
    assert body["details"] == {"maximum_balance": "999999999999999.9999"}
    assert Decimal(body["details"]["maximum_balance"]) == MAX_MONEY


def test_null_amount_is_invalid_amount_as_the_schema_says(operator, make_wallet):
    wallet = make_wallet("alice")
    response = operator.post(f"/wallets/{wallet.id}/fund", {"amount": None}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_amount"


@pytest.mark.parametrize(
    "query",
    [
        "event_type=WALLET_FUNDED,WALLET_FUNDED",  # uniqueItems
        f"since=2026-03-01T12:00:00.{'0' * RFC3339_MAX_LENGTH}Z",  # maxLength
        f"cursor={'A' * (CURSOR_MAX_LENGTH + 1)}",  # maxLength
    ],
)
def test_the_bounds_the_schema_publishes_are_enforced(operator, make_wallet, query):
    wallet = make_wallet("alice")
    response = operator.get(f"/wallets/{wallet.id}/history?{query}")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
