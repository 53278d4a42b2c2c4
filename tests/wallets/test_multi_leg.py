"""Multi-leg transactions and batches over HTTP (issue #22), against the real PostgreSQL: a split
moves exactly its amounts as one MULTI_LEG transaction, a refused leg refuses the whole and names
itself, a batch's refused transfer leaves the others, reversal undoes every leg once; the events
carry the transaction and the leg, one per wallet version."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from kafka_bridge.models import OutboxEvent
from wallets.models import LedgerEntry, LedgerTransaction, TransactionLeg, Wallet

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("without_approvals")]


def post(client: Any, path: str, body: Any, **extra: Any) -> Any:
    return client.post(path, body, format="json", **extra)


def leg(source: Wallet, target: Wallet, amount: str, **note: Any) -> dict[str, Any]:
    return {"from_wallet_id": str(source.id), "to_wallet_id": str(target.id), "amount": amount, **note}


def balances(*wallets: Wallet) -> list[tuple[Decimal, int]]:
    return [tuple(Wallet.objects.values_list("balance", "version").get(id=w.id)) for w in wallets]  # type: ignore[misc]


def events_of(transaction_id: str) -> list[dict[str, Any]]:
    rows = OutboxEvent.objects.order_by("id")
    return [row.payload for row in rows if row.payload["transaction_id"] == transaction_id]


def test_a_three_leg_split_moves_exactly_its_amounts_as_one_transaction(alice, make_wallet):
    buyer, seller, platform, tax = (
        make_wallet("alice", "100"),
        make_wallet("sam"),
        make_wallet("platform"),
        make_wallet("tax"),
    )
    body = {
        "description": "order 77",
        "metadata": {"order": "77"},
        "legs": [
            leg(buyer, seller, "90.10"),
            leg(buyer, platform, "4.9000", description="fee", metadata={"kind": "fee"}),
            leg(buyer, tax, "5"),
        ],
    }
    response = post(alice, "/transactions", body)
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert data["kind"] == "MULTI_LEG"
    assert balances(buyer, seller, platform, tax) == [
        (Decimal("0.0000"), 4),  # funded (1), then one version per leg it sent
        (Decimal("90.1000"), 1),
        (Decimal("4.9000"), 1),
        (Decimal("5.0000"), 1),
    ]
    txn = LedgerTransaction.objects.get(id=data["id"])
    assert (txn.kind, txn.description, txn.metadata, txn.initiated_by) == (
        "MULTI_LEG",
        "order 77",
        {"order": "77"},
        "alice",
    )
    entries = list(LedgerEntry.objects.filter(transaction=txn).order_by("leg", "amount"))
    assert [(e.leg, e.wallet_id, e.amount, e.wallet_version) for e in entries] == [
        (0, buyer.id, Decimal("-90.1000"), 2),
        (0, seller.id, Decimal("90.1000"), 1),
        (1, buyer.id, Decimal("-4.9000"), 3),
        (1, platform.id, Decimal("4.9000"), 1),
        (2, buyer.id, Decimal("-5.0000"), 4),
        (2, tax.id, Decimal("5.0000"), 1),
    ]
    assert sum(e.amount for e in entries) == 0
    legs = list(TransactionLeg.objects.filter(transaction=txn).order_by("index"))
    assert [(g.index, g.from_wallet_id, g.to_wallet_id, g.amount, g.description) for g in legs] == [
        (0, buyer.id, seller.id, Decimal("90.1000"), None),
        (1, buyer.id, platform.id, Decimal("4.9000"), "fee"),
        (2, buyer.id, tax.id, Decimal("5.0000"), None),
    ]
    # The response is what GET /transactions/{id} shows.
    shown = alice.get(f"/transactions/{data['id']}").json()["data"]
    assert shown == data
    assert [(e["leg_index"], e["type"], e["amount"], e["description"]) for e in data["entries"]] == [
        (0, "TRANSFER_OUT", "90.1000", "order 77"),
        (0, "TRANSFER_IN", "90.1000", "order 77"),
        (1, "TRANSFER_OUT", "4.9000", "fee"),  # the leg's own note
        (1, "TRANSFER_IN", "4.9000", "fee"),
        (2, "TRANSFER_OUT", "5.0000", "order 77"),
        (2, "TRANSFER_IN", "5.0000", "order 77"),
    ]
    assert [g["amount"] for g in data["legs"]] == ["90.1000", "4.9000", "5.0000"]
    # One event per wallet version, in version order per wallet, with the transaction and the leg.
    published = events_of(data["id"])
    assert [(p["wallet_id"], p["wallet_version"], p["leg_index"], p["event_type"]) for p in published] == [
        (str(buyer.id), 2, 0, "TRANSFER_OUT"),
        (str(seller.id), 1, 0, "TRANSFER_IN"),
        (str(buyer.id), 3, 1, "TRANSFER_OUT"),
        (str(platform.id), 1, 1, "TRANSFER_IN"),
        (str(buyer.id), 4, 2, "TRANSFER_OUT"),
        (str(tax.id), 1, 2, "TRANSFER_IN"),
    ]
    assert [p["counterparty_wallet_id"] for p in published] == [
        str(seller.id),
        str(buyer.id),
        str(platform.id),
        str(buyer.id),
        str(tax.id),
        str(buyer.id),
    ]
    assert [p["balance_after"] for p in published if p["wallet_id"] == str(buyer.id)] == [
        "9.9000",
        "5.0000",
        "0.0000",
    ]
    assert published[2]["metadata"] == {"kind": "fee"} and published[0]["metadata"] == {"order": "77"}
    # The wallet's own listing shows the entries with their leg and note.
    listed = alice.get(f"/wallets/{buyer.id}/transactions").json()["data"]
    assert [(e["leg_index"], e["description"]) for e in listed[:3]] == [
        (2, "order 77"),
        (1, "fee"),
        (0, "order 77"),
    ]


def test_a_leg_that_would_overdraw_refuses_the_whole_split_and_names_itself(alice, make_wallet, snapshot):
    buyer, seller, platform = make_wallet("alice", "100"), make_wallet("sam"), make_wallet("platform")
    before = snapshot()
    body = {"legs": [leg(buyer, seller, "60"), leg(buyer, platform, "30"), leg(buyer, platform, "10.0001")]}
    response = post(alice, "/transactions", body)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "insufficient_funds"
    assert error["details"] == {"leg": 2, "field": "legs[2].amount"}
    assert error["error"].startswith("legs[2]: ")
    assert snapshot() == before


def test_funds_are_counted_across_legs_in_order_and_a_wallet_may_take_part_in_several(alice, make_wallet):
    a, b, c = make_wallet("alice", "10"), make_wallet("alice"), make_wallet("alice")
    # b has nothing until leg 0 pays it; it passes 10 on in leg 1 and takes 3 back in leg 2.
    response = post(alice, "/transactions", {"legs": [leg(a, b, "10"), leg(b, c, "10"), leg(c, a, "3")]})
    assert response.status_code == 201, response.json()
    assert balances(a, b, c) == [(Decimal("3.0000"), 3), (Decimal("0.0000"), 2), (Decimal("7.0000"), 2)]
    # The other order needs money b does not have when its leg comes: refused, leg 0 named.
    refused = post(alice, "/transactions", {"legs": [leg(b, c, "1"), leg(a, b, "1")]})
    assert (refused.status_code, refused.json()["details"]["field"]) == (400, "legs[0].amount")


@pytest.mark.parametrize(
    ("case", "status", "code", "field"),
    [
        ("same_wallet", 400, "same_wallet", "legs[1].to_wallet_id"),
        ("not_theirs", 404, "wallet_not_found", "legs[1].from_wallet_id"),
        ("no_receiver", 404, "wallet_not_found", "legs[1].to_wallet_id"),
        ("currency", 400, "currency_mismatch", "legs[1].to_wallet_id"),
        ("frozen", 409, "wallet_frozen", "legs[1].to_wallet_id"),
    ],
)
def test_every_rule_refuses_the_whole_transaction_naming_the_leg(
    alice, make_wallet, snapshot, case, status, code, field
):
    mine, other = make_wallet("alice", "50"), make_wallet("bob", "50")
    target, elsewhere = make_wallet("cid"), make_wallet("dan")
    second = {
        "same_wallet": leg(mine, mine, "1"),
        "not_theirs": leg(other, target, "1"),
        "no_receiver": {**leg(mine, target, "1"), "to_wallet_id": "00000000-0000-7000-8000-000000000000"},
        "currency": leg(mine, make_wallet("eur", currency="EUR"), "1"),
        "frozen": leg(mine, target, "1"),
    }[case]
    if case == "frozen":
        Wallet.objects.filter(id=target.id).update(status="frozen")
    before = snapshot()
    response = post(alice, "/transactions", {"legs": [leg(mine, elsewhere, "1"), second]})
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert response.json()["details"]["field"] == field
    assert snapshot() == before


def test_bad_legs_are_validation_errors_naming_the_leg_and_the_field(alice, make_wallet, snapshot):
    a, b = make_wallet("alice", "5"), make_wallet("bob")
    before = snapshot()
    missing = post(
        alice, "/transactions", {"legs": [leg(a, b, "1"), {"from_wallet_id": str(a.id), "amount": "1"}]}
    )
    assert missing.status_code == 400
    assert missing.json()["code"] == "validation_error"
    assert list(missing.json()["details"]) == ["legs[1].to_wallet_id"]
    bad_amount = post(alice, "/transactions", {"legs": [leg(a, b, "1"), leg(a, b, "1.00001")]})
    assert (bad_amount.status_code, bad_amount.json()["code"]) == (400, "invalid_amount")
    assert bad_amount.json()["details"] == {"field": "legs[1].amount"}
    for legs in ([], [leg(a, b, "0.0001")] * 101, "x", None):
        response = post(alice, "/transactions", {"legs": legs})
        assert (response.status_code, response.json()["code"]) == (400, "validation_error"), legs
        assert "legs" in response.json()["details"]
    assert snapshot() == before


def test_a_split_is_idempotent_under_its_key(alice, make_wallet):
    a, b, c = make_wallet("alice", "10"), make_wallet("bob"), make_wallet("cid")
    body = {"legs": [leg(a, b, "1"), leg(a, c, "2")]}
    first = post(alice, "/transactions", body, HTTP_IDEMPOTENCY_KEY="split-1")
    again = post(alice, "/transactions", body, HTTP_IDEMPOTENCY_KEY="split-1")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert balances(a) == [(Decimal("7.0000"), 3)]
    other = post(alice, "/transactions", {"legs": [leg(a, b, "1")]}, HTTP_IDEMPOTENCY_KEY="split-1")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")


def test_reversing_a_split_reverses_every_leg_once(operator, alice, make_wallet):
    buyer, seller, platform = make_wallet("alice", "100"), make_wallet("sam"), make_wallet("platform")
    split = post(alice, "/transactions", {"legs": [leg(buyer, seller, "95"), leg(buyer, platform, "5")]})
    original = split.json()["data"]["id"]
    response = post(operator, f"/transactions/{original}/reverse", {"reason": "refund"})
    assert response.status_code == 201, response.json()
    reversal = response.json()["data"]
    assert (reversal["kind"], reversal["reverses"]) == ("REVERSAL", original)
    assert [(e["leg_index"], e["type"], e["wallet_id"], e["amount"]) for e in reversal["entries"]] == [
        (0, "REVERSAL_OUT", str(seller.id), "95.0000"),
        (0, "REVERSAL_IN", str(buyer.id), "95.0000"),
        (1, "REVERSAL_OUT", str(platform.id), "5.0000"),
        (1, "REVERSAL_IN", str(buyer.id), "5.0000"),
    ]
    assert [(g["index"], g["from_wallet_id"], g["to_wallet_id"]) for g in reversal["legs"]] == [
        (0, str(seller.id), str(buyer.id)),
        (1, str(platform.id), str(buyer.id)),
    ]
    assert balances(buyer, seller, platform) == [
        (Decimal("100.0000"), 5),
        (Decimal("0.0000"), 2),
        (Decimal("0.0000"), 2),
    ]
    # Last leg first (its credit first): the buyer's versions 4 and 5 are legs 1 and 0.
    published = events_of(reversal["id"])
    assert [(p["wallet_id"], p["wallet_version"], p["leg_index"]) for p in published] == [
        (str(buyer.id), 4, 1),
        (str(platform.id), 2, 1),
        (str(buyer.id), 5, 0),
        (str(seller.id), 2, 0),
    ]
    assert {p["reverses_transaction_id"] for p in published} == {original}
    assert [p["counterparty_wallet_id"] for p in published] == [
        str(platform.id),
        str(buyer.id),
        str(seller.id),
        str(buyer.id),
    ]
    again = post(operator, f"/transactions/{original}/reverse", {"reason": "refund"})
    assert (again.status_code, again.json()["code"]) == (409, "already_reversed")


def test_a_batch_runs_each_transfer_alone_and_a_refused_one_leaves_the_others(alice, make_wallet, snapshot):
    a, b, c = make_wallet("alice", "10"), make_wallet("bob"), make_wallet("cid")
    foreign = make_wallet("bob", "10")
    body = {
        "transfers": [
            leg(a, b, "4", description="one"),
            leg(a, c, "7"),  # 6 left: refused
            leg(foreign, c, "1"),  # not alice's
            leg(a, c, "6", metadata={"n": "4"}),
        ]
    }
    response = post(alice, "/transactions/batch", body)
    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert (data["completed"], data["failed"]) == (2, 2)
    items = data["items"]
    assert [(i["index"], i["status"]) for i in items] == [
        (0, "completed"),
        (1, "failed"),
        (2, "failed"),
        (3, "completed"),
    ]
    assert items[1]["error"] == {
        "error": "The wallet does not hold enough money for this operation.",
        "code": "insufficient_funds",
        "details": {"leg": 1, "field": "transfers[1].amount"},
    }
    assert items[2]["error"]["code"] == "wallet_not_found"
    assert items[1]["entries"] == [] and items[1]["reference_id"] is None
    assert balances(a, b, c, foreign) == [
        (Decimal("0.0000"), 3),
        (Decimal("4.0000"), 1),
        (Decimal("6.0000"), 1),
        (Decimal("10.0000"), 1),
    ]
    made = [LedgerTransaction.objects.get(id=items[i]["reference_id"]) for i in (0, 3)]
    assert [(t.kind, t.description, t.metadata) for t in made] == [
        ("TRANSFER", "one", {}),
        ("TRANSFER", None, {"n": "4"}),
    ]
    assert [e["description"] for e in items[0]["entries"]] == ["one", "one"]
    assert [(p["event_type"], p["leg_index"]) for p in events_of(str(made[0].id))] == [
        ("TRANSFER_OUT", None),
        ("TRANSFER_IN", None),
    ]
    # All refused: 200 with every item failed, nothing moved.
    before = snapshot()
    none = post(alice, "/transactions/batch", {"transfers": [leg(a, b, "1")]}).json()["data"]
    assert (none["completed"], none["failed"]) == (0, 1)
    assert snapshot() == before


def test_an_atomic_batch_is_one_multi_leg_transaction(alice, make_wallet, snapshot):
    a, b, c = make_wallet("alice", "10"), make_wallet("bob"), make_wallet("cid")
    before = snapshot()
    refused = post(
        alice, "/transactions/batch", {"atomic": True, "transfers": [leg(a, b, "4"), leg(a, c, "7")]}
    )
    assert (refused.status_code, refused.json()["details"]["field"]) == (400, "transfers[1].amount")
    assert snapshot() == before
    made = post(alice, "/transactions/batch", {"atomic": True, "transfers": [leg(a, b, "4"), leg(a, c, "6")]})
    assert made.status_code == 201
    assert made.json()["data"]["kind"] == "MULTI_LEG"
    assert balances(a, b, c) == [(Decimal("0.0000"), 3), (Decimal("4.0000"), 1), (Decimal("6.0000"), 1)]
    too_many = post(alice, "/transactions/batch", {"atomic": True, "transfers": [leg(a, b, "0.0001")] * 101})
    assert (too_many.status_code, too_many.json()["code"]) == (400, "validation_error")


def test_a_batch_of_a_thousand_transfers_moves_them_all(operator, make_wallet):
    wallets = [make_wallet(f"u{n}", "100") for n in range(20)]
    transfers = [leg(wallets[n % 20], wallets[(n * 7 + 1) % 20], "0.0100") for n in range(1000)]
    transfers = [t for t in transfers if t["from_wallet_id"] != t["to_wallet_id"]]
    raw = json.dumps({"transfers": transfers})
    assert len(raw) > 64 * 1024  # over the other endpoints' limit
    response = operator.post("/transactions/batch", raw, content_type="application/json")
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["completed"], data["failed"]) == (len(transfers), 0)
    assert LedgerTransaction.objects.filter(kind="TRANSFER").count() == len(transfers)
    total = sum(Wallet.objects.filter(id__in=[w.id for w in wallets]).values_list("balance", flat=True))
    assert total == Decimal("2000")
    for wallet in Wallet.objects.filter(id__in=[w.id for w in wallets]):
        versions = list(
            LedgerEntry.objects.filter(wallet=wallet)
            .order_by("wallet_version")
            .values_list("wallet_version", flat=True)
        )
        assert versions == list(range(1, wallet.version + 1))
    over = operator.post("/transactions/batch", "x" * (1024 * 1024 + 1), content_type="application/json")
    assert (over.status_code, over.json()["code"]) == (413, "payload_too_large")
    over_small = operator.post("/transactions", "x" * (64 * 1024 + 1), content_type="application/json")
    assert (over_small.status_code, over_small.json()["error"]) == (
        413,
        "The request body is larger than 64 KiB.",
    )


def test_postgres_keeps_legs_append_only_and_an_entry_on_a_leg_of_its_own_transaction(alice, make_wallet):
    a, b = make_wallet("alice", "10"), make_wallet("bob")
    split = post(alice, "/transactions", {"legs": [leg(a, b, "1")]}).json()["data"]
    transfer = post(alice, f"/wallets/{a.id}/transfer", {"to_wallet_id": str(b.id), "amount": "1"}).json()[
        "data"
    ]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        TransactionLeg.objects.filter(transaction_id=split["id"]).update(amount=Decimal(2))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        TransactionLeg.objects.filter(transaction_id=split["id"]).delete()
    # An entry naming leg 5 of a transaction that has none: refused by the (transaction, leg) key.
    with (
        pytest.raises(IntegrityError, match="entry_leg_fk"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            """INSERT INTO wallets_ledgerentry
                      (id, transaction_id, wallet_id, currency, amount, type, leg, created_at)
               VALUES (gen_random_uuid(), %s, %s, 'USD', 1, 'TRANSFER_IN', 5, now())""",
            [transfer[0]["reference_id"], str(b.id)],
        )
    # A leg whose currency is not its wallets': refused by the composite keys.
    with pytest.raises(IntegrityError, match="leg_from_wallet_currency_fk"), transaction.atomic():
        TransactionLeg.objects.create(
            transaction_id=split["id"], index=1, from_wallet=a, to_wallet=b, currency="EUR", amount=Decimal(1)
        )


def test_a_transfers_statements_stay_within_psycopgs_cache_of_converted_statements(make_wallet):
    """psycopg converts a statement's %s placeholders once and caches it only for at most 50
    parameters and 4,096 characters; past either it converts it again on every execute (the leg
    column, added to every entry, took a transfer's write from 49 parameters to 51)."""
    from psycopg import _queries

    from wallets import services

    a, b = make_wallet("alice", "10"), make_wallet("bob")
    statements: list[tuple[str, int]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, len(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        services.transfer_create(from_wallet_id=a.id, to_wallet_id=b.id, amount=Decimal(1), initiated_by="t")
        services.wallet_fund(wallet_id=a.id, amount=Decimal(1), initiated_by="t")
    assert len(statements) >= 4
    for sql, count in statements:
        assert count <= _queries.MAX_CACHED_STATEMENT_PARAMS, (count, sql[:120])
        assert len(sql) <= _queries.MAX_CACHED_STATEMENT_LENGTH, (len(sql), sql[:120])
