"""The OpenAPI document tells the truth about holds, ledger transactions and reversals: each
operation's exact error statuses, the shapes the API returns, links from a hold and a transaction
to the operations on them, and the rules of description, metadata and expires_in."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from wallets import metadata
from wallets.api.serializers import CaptureOutput, HoldOutput, LedgerTransactionOutput, WalletOutput

pytestmark = pytest.mark.django_db

POST_COMMON = {"401", "406", "413", "415", "422", "429", "503", "414", "431"}
OPERATIONS = {
    # 202: a staff movement the policy holds back (approvals/policy.py).
    ("/wallets/{wallet_id}/holds", "post"): {"201", "202", "400", "404", "409"} | POST_COMMON,
    ("/wallets/{wallet_id}/holds", "get"): {"200", "400", "401", "404", "406", "429", "503", "414", "431"},
    ("/holds/{hold_id}", "get"): {"200", "401", "404", "406", "429", "503", "414", "431"},
    ("/holds/{hold_id}/capture", "post"): {"200", "202", "400", "403", "404", "409"} | POST_COMMON,
    ("/holds/{hold_id}/void", "post"): {"200", "400", "403", "404", "409"} | POST_COMMON,
    ("/transactions/{transaction_id}", "get"): {"200", "401", "404", "406", "429", "503", "414", "431"},
    ("/transactions/{transaction_id}/reverse", "post"): {"201", "202", "400", "403", "404", "409"}
    | POST_COMMON,
}


@pytest.fixture
def document(operator) -> dict[str, Any]:
    return dict(yaml.safe_load(operator.get("/api/schema/").content))


def test_each_new_operation_lists_exactly_its_error_statuses(document):
    for (path, method), statuses in OPERATIONS.items():
        assert set(document["paths"][path][method]["responses"]) == statuses, (path, method)
    capture = document["paths"]["/holds/{hold_id}/capture"]["post"]["responses"]
    for code in ("hold_not_pending", "hold_expired", "wallet_frozen"):
        assert code in capture["409"]["description"]
    assert "permission_denied" in capture["403"]["description"]
    reverse = document["paths"]["/transactions/{transaction_id}/reverse"]["post"]["responses"]
    assert "already_reversed" in reverse["409"]["description"]


def test_rules_come_from_their_one_definition(document):
    schemas = document["components"]["schemas"]
    hold_input = schemas["HoldInput"]["properties"]
    assert hold_input["expires_in"] == {
        "type": "integer",
        "minimum": 60,
        "maximum": 2_592_000,
        "default": 604_800,
        "description": hold_input["expires_in"]["description"],
    }
    assert hold_input["description"]["maxLength"] == metadata.DESCRIPTION_MAX_LENGTH
    assert hold_input["metadata"]["maxProperties"] == metadata.MAX_KEYS
    assert hold_input["metadata"]["additionalProperties"]["maxLength"] == metadata.VALUE_MAX_LENGTH
    for name in ("AmountInput", "TransferInput", "CaptureInput"):
        assert {"description", "metadata"} <= set(schemas[name]["properties"]), name
    assert schemas["HoldStatusEnum"]["enum"] == ["pending", "captured", "voided", "expired"]


def test_holds_and_transactions_link_to_the_operations_on_them(document):
    created = document["paths"]["/wallets/{wallet_id}/holds"]["post"]["responses"]["201"]["links"]
    assert {link["operationId"] for link in created.values()} == {
        "hold_get",
        "hold_capture",
        "hold_void",
    }
    transfer = document["paths"]["/wallets/{wallet_id}/transfer"]["post"]["responses"]["200"]["links"]
    assert {"transaction_get", "transaction_reverse"} <= {link["operationId"] for link in transfer.values()}


def test_documented_shapes_match_what_the_api_returns(operator, make_wallet):
    payer, payee = make_wallet("kim", "10"), make_wallet("lee")
    assert set(operator.get(f"/wallets/{payer.id}").json()["data"]) == set(WalletOutput().fields)
    body = {"to_wallet_id": str(payee.id), "amount": "4"}
    hold = operator.post(f"/wallets/{payer.id}/holds", body, format="json").json()["data"]
    assert set(hold) == set(HoldOutput().fields)
    capture = operator.post(f"/holds/{hold['id']}/capture", {"amount": "1"}, format="json").json()["data"]
    assert set(capture) == set(CaptureOutput().fields)
    txn = operator.get(f"/transactions/{capture['hold']['transaction_id']}").json()["data"]
    assert set(txn) == set(LedgerTransactionOutput().fields)
