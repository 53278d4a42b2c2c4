"""GET /wallets/{id}/balance?at= (issue #33): the state after the last change at or before a moment,
against the real services: exactly at, between and before entries, with holds pending, captured and
voided; cross-checked against every event the wallet's changes wrote (the history's `held_after`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from common.times import format_timestamp
from kafka_bridge.models import OutboxEvent
from wallets import holds, services
from wallets.models import Hold, LedgerEntry, Wallet

US = timedelta(microseconds=1)


def at(client: APIClient, wallet: Wallet, moment: datetime | str) -> Any:
    text = moment if isinstance(moment, str) else format_timestamp(moment)
    return client.get(f"/wallets/{wallet.id}/balance", {"at": text})


def state(client: APIClient, wallet: Wallet, moment: datetime) -> dict[str, Any]:
    response = at(client, wallet, moment)
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["wallet_id"] == str(wallet.id) and data["currency"] == wallet.currency
    assert Decimal(data["available"]) == Decimal(data["balance"]) - Decimal(data["held"])
    return {key: data[key] for key in ("balance", "held", "available", "version")}


def times(wallet: Wallet) -> list[datetime]:
    return list(
        LedgerEntry.objects.filter(wallet=wallet)
        .order_by("wallet_version")
        .values_list("created_at", flat=True)
    )


def test_exactly_at_between_and_before_entries(alice: APIClient, make_wallet: Callable[..., Wallet]):
    wallet = make_wallet("alice", "100.00")
    payee = make_wallet("bob")
    services.transfer_create(
        from_wallet_id=wallet.id, to_wallet_id=payee.id, amount=Decimal("30"), initiated_by="alice"
    )
    funded, paid = times(wallet)
    assert funded < paid

    refused = at(alice, wallet, wallet.created_at - US)
    assert refused.status_code == 404
    assert refused.json()["code"] == "wallet_not_yet_open"
    assert format_timestamp(wallet.created_at) in refused.json()["error"]

    assert state(alice, wallet, wallet.created_at) == {
        "balance": "0.0000",
        "held": "0.0000",
        "available": "0.0000",
        "version": 0,
    }
    assert wallet.created_at < funded
    assert state(alice, wallet, funded - US)["version"] == 0
    assert state(alice, wallet, funded) == {
        "balance": "100.0000",
        "held": "0.0000",
        "available": "100.0000",
        "version": 1,
    }
    between = funded + (paid - funded) / 2
    assert state(alice, wallet, between)["balance"] == "100.0000"
    assert state(alice, wallet, paid - US)["balance"] == "100.0000"
    assert state(alice, wallet, paid) == {
        "balance": "70.0000",
        "held": "0.0000",
        "available": "70.0000",
        "version": 2,
    }
    assert state(alice, wallet, paid + timedelta(days=365))["balance"] == "70.0000"


def test_holds_pending_captured_and_voided(alice: APIClient, make_wallet: Callable[..., Wallet]):
    wallet = make_wallet("alice", "100.00")
    shop = make_wallet("shop")
    captured = holds.hold_create(
        from_wallet_id=wallet.id, to_wallet_id=shop.id, amount=Decimal("25"), initiated_by="t"
    )
    voided = holds.hold_create(
        from_wallet_id=wallet.id, to_wallet_id=shop.id, amount=Decimal("10"), initiated_by="t"
    )
    holds.hold_capture(hold=captured, amount=Decimal("20"), initiated_by="t")  # 5 released
    holds.hold_void(hold=Hold.objects.get(id=voided.id), initiated_by="t")
    captured.refresh_from_db()
    voided.refresh_from_db()
    assert (captured.created_version, captured.released_version) == (2, 5)  # capture's entry: 4
    assert (voided.created_version, voided.released_version) == (3, 6)

    assert state(alice, wallet, captured.created_at) == {
        "balance": "100.0000",
        "held": "25.0000",
        "available": "75.0000",
        "version": 2,
    }
    assert state(alice, wallet, voided.created_at) == {
        "balance": "100.0000",
        "held": "35.0000",
        "available": "65.0000",
        "version": 3,
    }
    assert state(alice, wallet, captured.updated_at) == {  # the capture: 20 out, 5 released
        "balance": "80.0000",
        "held": "10.0000",
        "available": "70.0000",
        "version": 5,
    }
    assert state(alice, wallet, voided.updated_at - US)["held"] == "10.0000"
    assert state(alice, wallet, voided.updated_at) == {
        "balance": "80.0000",
        "held": "0.0000",
        "available": "80.0000",
        "version": 6,
    }
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held, wallet.version) == (Decimal("80"), Decimal("0"), 6)


def test_every_event_agrees_with_the_balance_at_its_time(
    operator: APIClient, make_wallet: Callable[..., Wallet]
):
    """The history's view: each event records the balance, held and version after it; asked at
    the event's time, the balance at a moment is the last event's at or before that time."""
    wallet = make_wallet("alice", "500.00")
    other = make_wallet("bob", "50.00")
    for step in range(3):
        hold = holds.hold_create(
            from_wallet_id=wallet.id, to_wallet_id=other.id, amount=Decimal(40 + step), initiated_by="t"
        )
        services.transfer_create(
            from_wallet_id=other.id, to_wallet_id=wallet.id, amount=Decimal("1.5"), initiated_by="t"
        )
        if step == 0:
            holds.hold_capture(hold=hold, amount=None, initiated_by="t")
        elif step == 1:
            holds.hold_void(hold=Hold.objects.get(id=hold.id), initiated_by="t")
        services.wallet_withdraw(wallet_id=wallet.id, amount=Decimal("7"), initiated_by="t")
    events = sorted(
        (OutboxEvent.objects.filter(aggregateid=str(wallet.id)).values_list("payload", flat=True)),
        key=lambda payload: payload["wallet_version"],
    )
    assert [event["wallet_version"] for event in events] == list(range(len(events)))
    assert len(events) == 13  # created, funded, 3 x (hold, in, withdraw), a capture, a void
    for event in events:
        moment = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
        last = [
            e for e in events if datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")) <= moment
        ][-1]
        assert state(operator, wallet, moment) == {
            "balance": last["balance_after"],
            "held": last["held_after"],
            "available": format_money_text(Decimal(last["balance_after"]) - Decimal(last["held_after"])),
            "version": last["wallet_version"],
        }, event


def format_money_text(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.0001')):f}"


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (None, "required"),
        ("", "required"),
        ("yesterday", "not an RFC 3339 time"),
        ("2026-03-01T00:00:00", "no offset"),
        ("2026-03-01 00:00", "no offset"),
        ("2026-13-01T00:00:00Z", "not an RFC 3339 time"),
    ],
)
def test_a_missing_or_invalid_moment_is_400(
    alice: APIClient, make_wallet: Callable[..., Wallet], raw: str | None, words: str
):
    wallet = make_wallet("alice", "1.00")
    response = alice.get(f"/wallets/{wallet.id}/balance", {} if raw is None else {"at": raw})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["success"] is False and body["code"] == "validation_error"
    assert words in body["error"] and "at" in body["details"]


def test_owner_or_staff_only(
    alice: APIClient, bob: APIClient, operator: APIClient, make_wallet: Callable[..., Wallet]
):
    wallet = make_wallet("alice", "1.00")
    moment = format_timestamp(wallet.created_at + timedelta(hours=1))
    assert at(bob, wallet, moment).status_code == 404
    assert at(bob, wallet, moment).json()["code"] == "wallet_not_found"
    assert at(operator, wallet, moment).json()["data"]["balance"] == "1.0000"
    assert alice.get("/wallets/not-a-uuid/balance", {"at": moment}).json()["code"] == "wallet_not_found"


def test_an_offset_is_read_as_the_same_moment(alice: APIClient, make_wallet: Callable[..., Wallet]):
    wallet = make_wallet("alice", "12.00")
    (funded,) = times(wallet)
    in_utc = state(alice, wallet, funded)
    plus_two = (funded + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%f+02:00")
    assert at(alice, wallet, plus_two).json()["data"]["balance"] == in_utc["balance"] == "12.0000"
    assert at(alice, wallet, plus_two).json()["data"]["at"] == format_timestamp(funded)
