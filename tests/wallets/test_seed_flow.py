"""The seed README's flow, through the API: create alice and bob, fund, transfer, read."""

import pytest

from kafka_bridge.models import OutboxEvent

pytestmark = pytest.mark.django_db


def test_seed_readme_flow(operator, alice):
    a = operator.post("/wallets", {"user_id": "alice"}, format="json")
    b = operator.post("/wallets", {"user_id": "bob"}, format="json")
    assert a.status_code == b.status_code == 201
    alice_id, bob_id = a.json()["data"]["id"], b.json()["data"]["id"]
    assert a.json()["data"]["balance"] == "0.0000"

    funded = operator.post(f"/wallets/{alice_id}/fund", {"amount": "100.00"}, format="json")
    assert funded.status_code == 200
    assert funded.json()["data"]["balance"] == "100.0000"

    moved = operator.post(
        f"/wallets/{alice_id}/transfer", {"to_wallet_id": bob_id, "amount": "30.00"}, format="json"
    )
    assert moved.status_code == 200
    out_txn, in_txn = moved.json()["data"]
    assert (out_txn["type"], out_txn["amount"], out_txn["balance_after"]) == (
        "TRANSFER_OUT",
        "30.0000",
        "70.0000",
    )
    assert (in_txn["type"], in_txn["amount"], in_txn["balance_after"]) == (
        "TRANSFER_IN",
        "30.0000",
        "30.0000",
    )
    assert out_txn["reference_id"] == in_txn["reference_id"]

    assert operator.get(f"/wallets/{alice_id}").json()["data"]["balance"] == "70.0000"
    assert operator.get(f"/wallets/{bob_id}").json()["data"]["balance"] == "30.0000"

    listed = alice.get("/users/alice/wallets").json()
    assert [w["id"] for w in listed["data"]] == [alice_id]
    assert listed["success"] is True

    events = list(OutboxEvent.objects.order_by("id").values_list("type", "aggregateid"))
    assert events == [
        ("WALLET_CREATED", alice_id),
        ("WALLET_CREATED", bob_id),
        ("WALLET_FUNDED", alice_id),
        ("TRANSFER_OUT", alice_id),
        ("TRANSFER_IN", bob_id),
    ]
