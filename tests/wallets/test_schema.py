"""The OpenAPI document describes the API truthfully: paths, envelope, error codes, shapes."""

import pytest
import yaml

from wallets.api.serializers import TransactionOutput, WalletOutput

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(operator):
    response = operator.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_every_endpoint_is_described(schema):
    paths = set(schema["paths"])
    for path in (
        "/wallets",
        "/wallets/{wallet_id}",
        "/wallets/{wallet_id}/fund",
        "/wallets/{wallet_id}/withdraw",
        "/wallets/{wallet_id}/transfer",
        "/wallets/{wallet_id}/transactions",
        "/users/{user_id}/wallets",
    ):
        assert any(p.rstrip("/") == path for p in paths), f"{path} missing from {sorted(paths)}"


def test_error_envelope_and_codes_are_documented(schema):
    transfer = next(v for p, v in schema["paths"].items() if p.rstrip("/") == "/wallets/{wallet_id}/transfer")
    responses = transfer["post"]["responses"]
    for status in ("200", "400", "401", "404", "409", "413", "415", "422"):
        assert status in responses
    error = schema["components"]["schemas"]["Error"]
    assert set(error["properties"]) >= {"success", "error", "code"}
    assert "insufficient_funds" in responses["400"]["description"]  # each status names its codes
    assert "idempotency_key_reused" in responses["422"]["description"]
    history = next(v for p, v in schema["paths"].items() if p.rstrip("/") == "/wallets/{wallet_id}/history")
    assert "insufficient_funds" not in history["get"]["responses"]["400"]["description"]


def test_documented_shapes_match_what_the_api_returns(operator, make_wallet):
    a, b = make_wallet("kim", "10"), make_wallet("lee")
    wallet = operator.get(f"/wallets/{a.id}").json()["data"]
    assert set(wallet) == set(WalletOutput().fields)
    legs = operator.post(
        f"/wallets/{a.id}/transfer", {"to_wallet_id": str(b.id), "amount": "1"}, format="json"
    )
    assert set(legs.json()["data"][0]) == set(TransactionOutput().fields)


def test_interactive_docs_are_served(operator):
    assert operator.get("/api/docs/").status_code == 200


def test_schema_generates_without_warnings():
    import io

    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", stdout=io.StringIO())
