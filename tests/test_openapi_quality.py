"""The OpenAPI document is worth generating a client from: every operation has a summary, a
description and an operationId named for its action (a generated client's method names), an
example for every request body and success response, each valid against its schema, and every
status it can answer (429 with Retry-After and 503 included); the security scheme says `Token <key>`.

The generated Python client (clients/python) is checked against this document in
tests/test_client.py.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import referencing
import referencing.jsonschema
from drf_spectacular.generators import SchemaGenerator

from tests.conftest import ROOT

# The operation ids, as the generated client's methods are named after them (a rename is a
# breaking change for every client: change this list knowingly).
OPERATION_IDS = {
    ("post", "/wallets"): "wallet_create",
    ("get", "/wallets/{wallet_id}"): "wallet_get",
    ("get", "/users/{user_id}/wallets"): "user_wallets_list",
    ("post", "/wallets/{wallet_id}/fund"): "wallet_fund",
    ("post", "/wallets/{wallet_id}/withdraw"): "wallet_withdraw",
    ("post", "/wallets/{wallet_id}/transfer"): "transfer_create",
    ("get", "/wallets/{wallet_id}/transactions"): "wallet_transactions_list",
    ("get", "/wallets/{wallet_id}/holds"): "wallet_holds_list",
    ("post", "/wallets/{wallet_id}/holds"): "hold_create",
    ("get", "/holds/{hold_id}"): "hold_get",
    ("post", "/holds/{hold_id}/capture"): "hold_capture",
    ("post", "/holds/{hold_id}/void"): "hold_void",
    ("get", "/transactions/{transaction_id}"): "transaction_get",
    ("post", "/transactions/{transaction_id}/reverse"): "transaction_reverse",
    ("post", "/transactions"): "multi_leg_transaction_create",
    ("post", "/transactions/batch"): "batch_transfer_create",
    ("get", "/approvals"): "approvals_list",
    ("get", "/approvals/{approval_id}"): "approval_get",
    ("post", "/approvals/{approval_id}/approve"): "approval_approve",
    ("post", "/approvals/{approval_id}/reject"): "approval_reject",
    ("get", "/wallets/{wallet_id}/history"): "wallet_history_list",
    ("get", "/users/{user_id}/activity"): "user_activity_list",
    ("get", "/metrics"): "metrics_get",
    ("get", "/wallets/{wallet_id}/balance"): "wallet_balance_at",
    ("get", "/wallets/{wallet_id}/statement"): "wallet_statement_get",
    ("get", "/webhooks/deliveries/{delivery_id}"): "webhook_delivery_get",
    ("post", "/webhooks/deliveries/{delivery_id}/resend"): "webhook_delivery_resend",
    ("get", "/webhooks/endpoints"): "webhook_endpoint_list",
    ("post", "/webhooks/endpoints"): "webhook_endpoint_create",
    ("get", "/webhooks/endpoints/{endpoint_id}"): "webhook_endpoint_get",
    ("patch", "/webhooks/endpoints/{endpoint_id}"): "webhook_endpoint_edit",
    ("delete", "/webhooks/endpoints/{endpoint_id}"): "webhook_endpoint_delete",
    ("get", "/webhooks/endpoints/{endpoint_id}/deliveries"): "webhook_deliveries_list",
    ("post", "/webhooks/endpoints/{endpoint_id}/disable"): "webhook_endpoint_disable",
    ("post", "/webhooks/endpoints/{endpoint_id}/enable"): "webhook_endpoint_enable",
    ("post", "/webhooks/endpoints/{endpoint_id}/rotate-secret"): "webhook_endpoint_rotate_secret",
}
# Reads named for what they answer rather than _get/_list: the balance *at* a moment, and a
# statement (one document, a header with its entries, that pages).
NAMED_READS = {"wallet_balance_at", "wallet_statement_get"}
# The operations that change something without a request body: the action is the whole request.
BODILESS = {
    ("post", "/holds/{hold_id}/void"),
    ("post", "/webhooks/deliveries/{delivery_id}/resend"),
    ("post", "/webhooks/endpoints/{endpoint_id}/disable"),
    ("post", "/webhooks/endpoints/{endpoint_id}/enable"),
    ("post", "/webhooks/endpoints/{endpoint_id}/rotate-secret"),
    ("delete", "/webhooks/endpoints/{endpoint_id}"),
}
# drf-spectacular's generated suffixes: a method name such as `wallets_fund_create` or
# `users_wallets_retrieve` says how the id was made, not what the operation does.
NOISE = ("_retrieve", "_partial_update", "_update", "_destroy")
ACTIONS = {"fund", "withdraw", "capture", "void", "reverse", "approve", "reject"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return dict(SchemaGenerator().get_schema(request=None, public=True))  # type: ignore[no-untyped-call]


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    ]


def default_operation_id(method: str, path: str) -> str:
    """The id drf-spectacular makes up when a view names none (its path's words, the method's verb)."""
    words = [word for word in path.strip("/").split("/") if not word.startswith("{")]
    verb = {"get": "retrieve", "post": "create", "patch": "partial_update", "delete": "destroy"}[method]
    return "_".join([*words, verb])


def test_every_operation_has_a_summary_a_description_and_its_named_id(document):
    found = {(method, path): operation["operationId"] for method, path, operation in operations(document)}
    assert found == OPERATION_IDS
    for method, path, operation in operations(document):
        name = f"{method.upper()} {path}"
        assert operation.get("summary", "").strip(), f"{name} has no summary"
        assert len(operation.get("description", "").strip()) >= 40, f"{name} has no real description"
        operation_id = operation["operationId"]
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", operation_id), operation_id
        assert not operation_id.endswith(NOISE), f"{name}: {operation_id} ends with a generated suffix"
        assert operation_id != default_operation_id(method, path), f"{name}: drf-spectacular's own id"
        last = path.rsplit("/", 1)[-1]
        if last in ACTIONS:
            assert operation_id.endswith("_" + last), f"{name}: {operation_id} does not name its action"
        if method == "get" and operation_id not in NAMED_READS:
            success = operation["responses"]["200"]["content"]
            paged = "next_cursor" in str(success)
            assert operation_id.endswith("_list" if paged else "_get"), operation_id
    assert len(set(found.values())) == len(found), "operation ids are unique"


def test_every_operation_declares_429_with_retry_after_and_503(document):
    for method, path, operation in operations(document):
        name = f"{method.upper()} {path}"
        responses = operation["responses"]
        assert operation.get("security"), f"{name} is not authenticated (then it could not be throttled)"
        throttled = responses.get("429")
        assert throttled is not None, f"{name} does not declare 429"
        assert "throttled" in throttled["description"]
        assert throttled["headers"]["Retry-After"]["required"] is True, name
        assert throttled["content"]["application/json"]["examples"], name
        unavailable = responses.get("503")
        assert unavailable is not None, f"{name} does not declare 503"
        assert "service_unavailable" in unavailable["description"], name
        assert "Retry-After" in unavailable["headers"], name
        if "409" in responses:
            assert "Retry-After" in responses["409"]["headers"], name


def test_every_request_body_and_success_response_has_an_example(document):
    for method, path, operation in operations(document):
        name = f"{method.upper()} {path}"
        body = operation.get("requestBody")
        if method in ("post", "patch", "put") and (method, path) not in BODILESS:
            assert body is not None, f"{name} takes no body"
        if body is not None:
            assert body["content"]["application/json"].get("examples"), f"{name}: no request example"
        for status, response in operation["responses"].items():
            content = response.get("content", {}).get("application/json")
            if status.startswith("2") and content is not None:
                assert content.get("examples"), f"{name} {status}: no response example"


def openapi_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` as JSON Schema's `type: [..., "null"]` (what jsonschema reads)."""
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: openapi_to_json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        if "type" in result:
            result["type"] = [result["type"], "null"]
        else:  # a $ref or allOf made nullable
            result = {"anyOf": [result, {"type": "null"}]}
    if result.get("exclusiveMinimum") is True:  # OpenAPI 3.0's boolean form
        result["exclusiveMinimum"] = result.pop("minimum")
    if result.get("exclusiveMaximum") is True:
        result["exclusiveMaximum"] = result.pop("maximum")
    return result


def test_every_example_is_valid_against_its_schema(document):
    root = openapi_to_json_schema(copy.deepcopy(document))
    resource = referencing.Resource.from_contents(
        root, default_specification=referencing.jsonschema.DRAFT202012
    )
    registry = referencing.Registry().with_resource("urn:openapi", resource)

    def check(schema: dict[str, Any], value: Any, where: str) -> None:
        schema = openapi_to_json_schema(schema)
        if "$ref" in schema:
            schema = {"$ref": "urn:openapi" + schema["$ref"]}
        validator = jsonschema.Draft202012Validator(
            schema, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(value)]
        assert not errors, f"{where}: {errors}"

    checked = 0
    for method, path, operation in operations(document):
        name = f"{method.upper()} {path}"
        contents = [("request", operation.get("requestBody", {}).get("content", {}).get("application/json"))]
        contents += [
            (status, r.get("content", {}).get("application/json"))
            for status, r in operation["responses"].items()
        ]
        for where, content in contents:
            if not content:
                continue
            for title, example in content.get("examples", {}).items():
                check(content["schema"], example["value"], f"{name} {where} example {title!r}")
                checked += 1
    assert checked >= 100


def test_the_security_scheme_names_token_key(document):
    schemes = document["components"]["securitySchemes"]
    token = schemes["tokenAuth"]
    assert token["type"] == "apiKey"
    assert (token["in"], token["name"]) == ("header", "Authorization")
    assert "Authorization: Token <key>" in token["description"]
    for _, _, operation in operations(document):
        assert {"tokenAuth": []} in operation["security"]


def test_the_contract_page_names_every_operation_id():
    text = (ROOT / "docs" / "contract" / "api.md").read_text()
    missing = [name for name in OPERATION_IDS.values() if f"`{name}`" not in text]
    assert not missing, f"docs/contract/api.md does not name {missing}"
