"""GET /wallets/{id}/statement (issue #33), JSON: the half-open period, opening and closing marks,
totals, cursor pages covering every entry once, the chain hashes recomputed, consecutive statements
tiling and chaining, and the refusals (docs/statements.md)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from common.times import format_timestamp
from wallets import chain, holds, multi_leg, services
from wallets.models import LedgerEntry, Wallet

US = timedelta(microseconds=1)


def busy_wallet(make_wallet: Callable[..., Wallet]) -> tuple[Wallet, list[LedgerEntry]]:
    """alice's wallet with 9 entries: a fund, transfers both ways (one with a formula-like
    description), a withdrawal and a hold's capture; a hold takes versions without entries."""
    wallet = make_wallet("alice", "1000.00")
    bob = make_wallet("bob", "500.00")
    note = services.Note('=HYPERLINK("x")', {})
    for step in range(3):
        services.transfer_create(
            from_wallet_id=wallet.id,
            to_wallet_id=bob.id,
            amount=Decimal("12.5") + step,
            initiated_by="t",
            note=note if step == 0 else services.NO_NOTE,
        )
        services.transfer_create(
            from_wallet_id=bob.id, to_wallet_id=wallet.id, amount=Decimal("3.25"), initiated_by="t"
        )
    services.wallet_withdraw(wallet_id=wallet.id, amount=Decimal("40"), initiated_by="t")
    hold = holds.hold_create(
        from_wallet_id=wallet.id, to_wallet_id=bob.id, amount=Decimal("9"), initiated_by="t"
    )
    holds.hold_capture(hold=hold, amount=Decimal("6"), initiated_by="t")
    entries = list(LedgerEntry.objects.filter(wallet=wallet).order_by("wallet_version"))
    assert len(entries) == 9
    return wallet, entries


def get(client: APIClient, wallet: Wallet, **query: Any) -> Any:
    params = {
        key: format_timestamp(value) if isinstance(value, datetime) else value for key, value in query.items()
    }
    if "from_" in params:
        params["from"] = params.pop("from_")
    return client.get(f"/wallets/{wallet.id}/statement", params)


def all_pages(client: APIClient, wallet: Wallet, **query: Any) -> list[dict[str, Any]]:
    pages, cursor = [], None
    while True:
        response = get(client, wallet, **query, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["success"] is True and body["next_cursor"] == body["data"]["next_cursor"]
        assert body["has_more"] is (body["next_cursor"] is not None)
        pages.append(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def recompute(opening_hash: str, entries: list[dict[str, Any]], wallet: Wallet) -> str:
    previous = bytes.fromhex(opening_hash)
    for entry in entries:
        canonical = chain.canonical_bytes(
            wallet_id=wallet.id,
            wallet_version=entry["wallet_version"],
            entry_id=entry["id"],
            transaction_id=entry["transaction_id"],
            type=entry["type"],
            amount=Decimal(entry["amount"]),
            currency=entry["currency"],
            balance_after=Decimal(entry["balance_after"]),
            created_at=datetime.fromisoformat(entry["created_at"].replace("Z", "+00:00")),
        )
        previous = chain.next_hash(previous, canonical)
        assert previous.hex() == entry["hash"], entry
    return previous.hex()


def test_the_whole_history_pages_and_chains(alice: APIClient, make_wallet: Callable[..., Wallet]):
    wallet, entries = busy_wallet(make_wallet)
    pages = all_pages(alice, wallet, from_=wallet.created_at, limit=2)
    assert len(pages) == 5
    header = {key: value for key, value in pages[0].items() if key not in ("entries", "next_cursor")}
    for page in pages:  # every page repeats the header
        assert {key: page[key] for key in header} == header
    listed = [entry for page in pages for entry in page["entries"]]
    assert [entry["id"] for entry in listed] == [
        str(entry.id) for entry in entries
    ]  # each once, oldest first
    assert header["count"] == 9 and header["currency"] == "USD" and header["wallet_id"] == str(wallet.id)
    assert header["opening_balance"] == "0.0000" and header["opening_version"] == 0
    assert header["opening_hash"] == chain.genesis_hash(wallet.id).hex()
    wallet.refresh_from_db()
    assert header["closing_balance"] == f"{wallet.balance:.4f}"
    assert header["closing_version"] == entries[-1].wallet_version
    assert header["closing_hash"] == bytes(entries[-1].chain_hash).hex()
    assert recompute(header["opening_hash"], listed, wallet) == header["closing_hash"]
    total_in = sum(Decimal(entry["amount"]) for entry in listed if Decimal(entry["amount"]) > 0)
    total_out = -sum(Decimal(entry["amount"]) for entry in listed if Decimal(entry["amount"]) < 0)
    assert Decimal(header["total_in"]) == total_in and Decimal(header["total_out"]) == total_out
    closing, opening = Decimal(header["closing_balance"]), Decimal(header["opening_balance"])
    assert closing - opening == total_in - total_out
    assert listed[1]["description"] == '=HYPERLINK("x")'  # JSON as it is; the CSV guards it
    assert listed[-1]["type"] == "TRANSFER_OUT" and listed[-1]["amount"] == "-6.0000"


def test_consecutive_statements_tile_and_chain(alice: APIClient, make_wallet: Callable[..., Wallet]):
    wallet, entries = busy_wallet(make_wallet)
    cuts = [
        wallet.created_at,
        entries[2].created_at,
        entries[2].created_at + US,
        entries[6].created_at,
        entries[-1].created_at + US,
    ]
    statements = [
        all_pages(alice, wallet, from_=start, to=end, limit=3) for start, end in itertools.pairwise(cuts)
    ]
    seen: list[str] = []
    for earlier, later in itertools.pairwise(statements):
        assert earlier[0]["closing_hash"] == later[0]["opening_hash"]
        assert earlier[0]["closing_balance"] == later[0]["opening_balance"]
        assert earlier[0]["closing_version"] == later[0]["opening_version"]
        assert earlier[0]["to"] == later[0]["from"]
    for pages in statements:
        header = pages[0]
        listed = [entry for page in pages for entry in page["entries"]]
        assert header["count"] == len(listed)
        assert recompute(header["opening_hash"], listed, wallet) == header["closing_hash"]
        change = Decimal(header["closing_balance"]) - Decimal(header["opening_balance"])
        assert change == Decimal(header["total_in"]) - Decimal(header["total_out"])
        seen += [entry["id"] for entry in listed]
    assert seen == [str(entry.id) for entry in entries]  # the statements tile: each entry once
    # An entry exactly at `from` is in the period; exactly at `to` is not: [from, to).
    assert statements[1][0]["count"] == 1 and statements[1][0]["entries"][0]["id"] == str(entries[2].id)
    assert statements[0][0]["count"] == 2


def test_an_empty_period_closes_where_it_opened(alice: APIClient, make_wallet: Callable[..., Wallet]):
    wallet, entries = busy_wallet(make_wallet)
    later = entries[-1].created_at + timedelta(days=1)
    data = get(alice, wallet, from_=later, to=later + timedelta(days=30)).json()["data"]
    assert data["count"] == 0 and data["entries"] == []
    assert data["opening_hash"] == data["closing_hash"] == bytes(entries[-1].chain_hash).hex()
    assert data["opening_balance"] == data["closing_balance"] == f"{entries[-1].balance_after:.4f}"
    assert data["opening_version"] == data["closing_version"] == entries[-1].wallet_version
    assert data["total_in"] == data["total_out"] == "0.0000"
    before = get(alice, wallet, from_=wallet.created_at - timedelta(days=400), to=wallet.created_at).json()[
        "data"
    ]
    assert before["count"] == 0 and before["opening_hash"] == chain.genesis_hash(wallet.id).hex()


def test_to_defaults_to_now(alice: APIClient, make_wallet: Callable[..., Wallet]):
    wallet, entries = busy_wallet(make_wallet)
    data = get(alice, wallet, from_=entries[4].created_at).json()["data"]
    assert data["count"] == 5
    assert datetime.fromisoformat(data["to"].replace("Z", "+00:00")) > entries[-1].created_at


def test_a_split_entry_shows_its_legs_description(alice: APIClient, make_wallet: Callable[..., Wallet]):
    wallet = make_wallet("alice", "100.00")
    bob, carol = make_wallet("bob"), make_wallet("carol")
    multi_leg.transaction_create(
        legs=[
            multi_leg.Leg(wallet.id, bob.id, Decimal("10"), services.Note("rent share", {})),
            multi_leg.Leg(wallet.id, carol.id, Decimal("5")),
        ],
        initiated_by="alice",
        note=services.Note("dinner", {}),
    )
    listed = get(alice, wallet, from_=wallet.created_at).json()["data"]["entries"]
    assert [entry["description"] for entry in listed[1:]] == ["rent share", "dinner"]


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({}, "from", "required"),
        ({"from": "2026-03-01"}, "from", "not an RFC 3339"),
        ({"from": "2026-03-01T00:00:00"}, "from", "no offset"),
        ({"from": "2026-03-01T00:00:00Z", "to": "2026-03-01T00:00:00+00:00"}, "from", "before `to`"),
        ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "from", "before `to`"),
        ({"from": "2026-03-01T00:00:00Z", "to": "soon"}, "to", "not an RFC 3339"),
        ({"from": "2026-03-01T00:00:00Z", "format": "xml"}, "format", "json, csv or pdf"),
        ({"from": "2026-03-01T00:00:00Z", "limit": "0"}, "limit", "limit"),
        ({"from": "2026-03-01T00:00:00Z", "cursor": "bm9wZQ"}, "cursor", "cursor"),
    ],
)
def test_refusals_are_400_in_the_error_envelope(
    alice: APIClient, make_wallet: Callable[..., Wallet], query: dict[str, str], field: str, words: str
):
    wallet = make_wallet("alice", "1.00")
    response = alice.get(f"/wallets/{wallet.id}/statement", query)
    assert response.status_code == 400, response.content
    body = response.json()
    assert response["Content-Type"].startswith("application/json")
    assert body["success"] is False and body["code"] == "validation_error"
    assert words in body["error"] and field in body["details"]


def test_owner_or_staff_only(
    alice: APIClient, bob: APIClient, operator: APIClient, make_wallet: Callable[..., Wallet]
):
    wallet = make_wallet("alice", "1.00")
    query = {"from": format_timestamp(wallet.created_at)}
    for fmt in (None, "csv", "pdf"):
        refused = bob.get(f"/wallets/{wallet.id}/statement", {**query, **({"format": fmt} if fmt else {})})
        assert refused.status_code == 404 and refused.json()["code"] == "wallet_not_found"
    assert operator.get(f"/wallets/{wallet.id}/statement", query).json()["data"]["count"] == 1


def test_an_early_from_is_written_as_rfc_3339(alice: APIClient, make_wallet: Callable[..., Wallet]):
    """Year 124 is `0124`, in the answer and in the cursor (which reads it back)."""
    wallet, _ = busy_wallet(make_wallet)
    first = alice.get(
        f"/wallets/{wallet.id}/statement", {"from": "0124-01-26T22:06:10.3Z", "limit": 4}
    ).json()
    assert first["data"]["from"] == "0124-01-26T22:06:10.300000Z"
    second = alice.get(
        f"/wallets/{wallet.id}/statement",
        {"from": "0124-01-26T22:06:10.3Z", "limit": 4, "cursor": first["next_cursor"]},
    )
    assert second.status_code == 200 and len(second.json()["data"]["entries"]) == 4
    early = alice.get(f"/wallets/{wallet.id}/balance", {"at": "0124-01-26T22:06:10Z"}).json()
    assert early["code"] == "wallet_not_yet_open" and "0124-01-26T22:06:10.000000Z" in early["error"]
