"""Request and response examples of the wallet endpoints, as the OpenAPI document shows them (Swagger
UI, Redoc, generated clients' docs). One story: alice's USD wallet funded, paying bob, a hold to a
shop. Every example validates against its operation's schema (tests/test_openapi_quality.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample

from common.schema import error_example, page_example, request_example, response_example

ALICE_WALLET = "0195f3c2-7a10-7b4e-9c3d-2f1a5e6b7c01"
BOB_WALLET = "0195f3c2-8b21-7c5f-8d4e-3a2b6f7c8d02"
SHOP_WALLET = "0195f3c2-9c32-7d60-9e5f-4b3c7a8d9e03"
TRANSFER_TXN = "0195f3c4-1d43-7e71-af60-5c4d8b9eaf04"
FUND_TXN = "0195f3c3-0a11-7f82-b071-6d5e9cafb005"
HOLD_ID = "0195f3c5-2e54-7093-8182-7e6fadb0c106"
CAPTURE_TXN = "0195f3c6-3f65-71a4-9293-8f70bec1d207"
REVERSAL_TXN = "0195f3c7-4076-72b5-a3a4-9081cfd2e308"
SPLIT_TXN = "0195f3c8-5187-73c6-b4b5-a192d0e3f409"
AT = "2026-03-02T09:30:00.000000Z"
LATER = "2026-03-02T09:31:00.000000Z"
ORDER = {"order_id": "A-1001"}
INSUFFICIENT = "The wallet does not hold enough money for this operation."


def wallet(balance: str = "100.0000", *, held: str = "0.0000", version: int = 1) -> dict[str, Any]:
    available = f"{float(balance) - float(held):.4f}"
    return {
        "id": ALICE_WALLET,
        "user_id": "alice",
        "currency": "USD",
        "balance": balance,
        "held": held,
        "available": available,
        "version": version,
        "status": "active",
        "created_at": AT,
        "updated_at": LATER,
    }


def entry(
    wallet_id: str, kind: str, amount: str, reference: str, balance_after: str | None
) -> dict[str, Any]:
    return {
        "transaction_id": reference[:-4] + ("0a0a" if kind.endswith("OUT") else "0b0b"),
        "wallet_id": wallet_id,
        "amount": amount,
        "type": kind,
        "status": "COMPLETED",
        "reference_id": reference,
        "balance_after": balance_after,
        "created_at": LATER,
        "description": "Invoice 1001",
        "metadata": ORDER,
        "leg_index": None,
    }


TRANSFER_LEGS = [
    entry(ALICE_WALLET, "TRANSFER_OUT", "30.0000", TRANSFER_TXN, "70.0000"),
    # the receiving wallet is bob's: an end user sees no balance of it
    entry(BOB_WALLET, "TRANSFER_IN", "30.0000", TRANSFER_TXN, None),
]


def hold(
    status: str = "pending", captured: str = "0.0000", transaction_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": HOLD_ID,
        "from_wallet_id": ALICE_WALLET,
        "to_wallet_id": SHOP_WALLET,
        "currency": "USD",
        "amount": "25.0000",
        "captured_amount": captured,
        "status": status,
        "expires_at": "2026-03-03T09:31:00.000000Z",
        "transaction_id": transaction_id,
        "description": "Hotel deposit",
        "metadata": {"booking": "B-77"},
        "created_at": LATER,
        "updated_at": LATER,
    }


def ledger_transaction(**changes: Any) -> dict[str, Any]:
    return {
        "id": TRANSFER_TXN,
        "kind": "TRANSFER",
        "status": "COMPLETED",
        "description": "Invoice 1001",
        "metadata": ORDER,
        "hold_id": None,
        "reverses": None,
        "reversed_by": None,
        "reason": None,
        "created_at": LATER,
        "entries": TRANSFER_LEGS,
        "legs": [],
        **changes,
    }


def leg(index: int, to_wallet_id: str, amount: str) -> dict[str, Any]:
    return {
        "index": index,
        "from_wallet_id": ALICE_WALLET,
        "to_wallet_id": to_wallet_id,
        "currency": "USD",
        "amount": amount,
        "description": None,
        "metadata": {},
    }


def split_entry(wallet_id: str, kind: str, amount: str, index: int, after: str | None) -> dict[str, Any]:
    return {**entry(wallet_id, kind, amount, SPLIT_TXN, after), "leg_index": index}


WALLET_CREATE = [
    request_example("A USD wallet for alice", {"user_id": "alice", "currency": "USD"}),
    response_example("Created", wallet("0.0000", version=0), status=201),
    error_example(
        "For another user (an end user)",
        403,
        "permission_denied",
        "An end user acts only for their own user id: you are 'bob', the request names 'alice'. "
        "Only an operator (staff) may act for another user.",
    ),
]
WALLET_GET = [response_example("A wallet", wallet())]
USER_WALLETS = [page_example("A first page of wallets", [wallet()], next_cursor="WyIyMDI2LTAzLTAyIl0")]
FUND = [
    request_example("Fund 100.00", {"amount": "100.00", "description": "Top-up", "metadata": ORDER}),
    response_example("Funded", wallet("100.0000")),
]
WITHDRAW = [
    request_example("Withdraw 20.00", {"amount": "20.00"}),
    response_example("Withdrawn", wallet("80.0000", version=2)),
    error_example(
        "More than the balance",
        400,
        "insufficient_funds",
        INSUFFICIENT,
    ),
]
TRANSFER = [
    request_example(
        "Pay bob 30.00",
        {"to_wallet_id": BOB_WALLET, "amount": "30.00", "description": "Invoice 1001", "metadata": ORDER},
    ),
    response_example("Both legs: out, then in", TRANSFER_LEGS),
    error_example(
        "More than the balance",
        400,
        "insufficient_funds",
        INSUFFICIENT,
    ),
]
TRANSACTIONS = [page_example("The newest entries", TRANSFER_LEGS[:1], next_cursor="Mg")]
HOLD_CREATE = [
    request_example(
        "Hold 25.00 for the shop for a day",
        {
            "to_wallet_id": SHOP_WALLET,
            "amount": "25.00",
            "expires_in": 86400,
            "description": "Hotel deposit",
            "metadata": {"booking": "B-77"},
        },
    ),
    response_example("Held", hold(), status=201),
]
HOLDS = [page_example("Pending holds", [hold()])]
HOLD_GET = [response_example("A pending hold", hold())]
_CAPTURED = hold("captured", "20.0000", CAPTURE_TXN)
CAPTURE = [
    request_example("Capture 20.00 of it (the rest is released)", {"amount": "20.00"}),
    request_example("Capture all of it", {}),
    response_example(
        "Captured",
        {
            "hold": _CAPTURED,
            "transactions": [
                {**entry(ALICE_WALLET, "TRANSFER_OUT", "20.0000", CAPTURE_TXN, "50.0000"), "metadata": {}},
                {**entry(SHOP_WALLET, "TRANSFER_IN", "20.0000", CAPTURE_TXN, None), "metadata": {}},
            ],
        },
    ),
]
VOID = [response_example("Voided, nothing moved", hold("voided"))]
TRANSACTION_GET = [response_example("A transfer", ledger_transaction())]
REVERSE = [
    request_example("Reverse a mistaken transfer", {"reason": "Sent to the wrong wallet (ticket 4411)"}),
    response_example(
        "Reversed",
        ledger_transaction(
            id=REVERSAL_TXN,
            kind="REVERSAL",
            description=None,
            metadata={},
            reverses=TRANSFER_TXN,
            reason="Sent to the wrong wallet (ticket 4411)",
            entries=[
                entry(BOB_WALLET, "REVERSAL_OUT", "30.0000", REVERSAL_TXN, "0.0000"),
                entry(ALICE_WALLET, "REVERSAL_IN", "30.0000", REVERSAL_TXN, "100.0000"),
            ],
        ),
        status=201,
    ),
]
MULTI_LEG = [
    request_example(
        "Split a 100.00 sale: 90.00 to the shop, 10.00 to the platform",
        {
            "legs": [
                {"from_wallet_id": ALICE_WALLET, "to_wallet_id": SHOP_WALLET, "amount": "90.00"},
                {"from_wallet_id": ALICE_WALLET, "to_wallet_id": BOB_WALLET, "amount": "10.00"},
            ],
            "description": "Order A-1001",
            "metadata": ORDER,
        },
    ),
    response_example(
        "Moved, all legs in one transaction",
        ledger_transaction(
            id=SPLIT_TXN,
            kind="MULTI_LEG",
            description="Order A-1001",
            entries=[
                split_entry(ALICE_WALLET, "TRANSFER_OUT", "90.0000", 0, "10.0000"),
                split_entry(ALICE_WALLET, "TRANSFER_OUT", "10.0000", 1, "0.0000"),
                split_entry(SHOP_WALLET, "TRANSFER_IN", "90.0000", 0, None),
                split_entry(BOB_WALLET, "TRANSFER_IN", "10.0000", 1, None),
            ],
            legs=[leg(0, SHOP_WALLET, "90.0000"), leg(1, BOB_WALLET, "10.0000")],
        ),
        status=201,
    ),
]
_BATCH_TRANSFERS = [
    {"from_wallet_id": ALICE_WALLET, "to_wallet_id": BOB_WALLET, "amount": "30.00"},
    {"from_wallet_id": ALICE_WALLET, "to_wallet_id": SHOP_WALLET, "amount": "5000.00"},
]
BATCH: list[OpenApiExample] = [
    request_example("Two payouts, each on its own", {"transfers": _BATCH_TRANSFERS, "atomic": False}),
    request_example("Two payouts, all or none", {"transfers": _BATCH_TRANSFERS[:1] * 2, "atomic": True}),
    response_example(
        "Atomic: one MULTI_LEG transaction",
        ledger_transaction(
            id=SPLIT_TXN,
            kind="MULTI_LEG",
            description=None,
            metadata={},
            entries=[
                split_entry(ALICE_WALLET, "TRANSFER_OUT", "30.0000", 0, "70.0000"),
                split_entry(ALICE_WALLET, "TRANSFER_OUT", "30.0000", 1, "40.0000"),
                split_entry(BOB_WALLET, "TRANSFER_IN", "30.0000", 0, None),
                split_entry(BOB_WALLET, "TRANSFER_IN", "30.0000", 1, None),
            ],
            legs=[leg(0, BOB_WALLET, "30.0000"), leg(1, BOB_WALLET, "30.0000")],
        ),
        status=201,
    ),
    response_example(
        "One completed, one refused",
        {
            "completed": 1,
            "failed": 1,
            "items": [
                {
                    "index": 0,
                    "status": "completed",
                    "reference_id": TRANSFER_TXN,
                    "entries": TRANSFER_LEGS,
                    "error": None,
                },
                {
                    "index": 1,
                    "status": "failed",
                    "reference_id": None,
                    "entries": [],
                    "error": {
                        "error": INSUFFICIENT,
                        "code": "insufficient_funds",
                    },
                },
            ],
        },
    ),
]


# The balance at a moment and the statement (issue #33; docs/statements.md).
_HASH_OPENING = "5d1c0a3f6e2b4c7d8e9fa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1"
_HASH_ENTRY = "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9"
BALANCE_AT = [
    response_example(
        "The balance at the end of March 2026",
        {
            "wallet_id": ALICE_WALLET,
            "currency": "USD",
            "at": "2026-03-31T23:59:59.999999Z",
            "balance": "70.0000",
            "held": "25.0000",
            "available": "45.0000",
            "version": 3,
        },
    ),
    error_example(
        "Before the wallet existed",
        404,
        "wallet_not_yet_open",
        "The wallet did not exist yet at 2026-01-01T00:00:00.000000Z: it was created at "
        "2026-03-02T09:30:00.000000Z.",
    ),
    error_example(
        "A time without an offset",
        400,
        "validation_error",
        "`at` has no offset: add `Z` (UTC) or one like `+02:00`; the server does not guess a time zone.",
    ),
]
_STATEMENT_ENTRY = {
    "id": TRANSFER_TXN[:-4] + "0a0a",
    "transaction_id": TRANSFER_TXN,
    "type": "TRANSFER_OUT",
    "amount": "-30.0000",
    "currency": "USD",
    "balance_after": "70.0000",
    "wallet_version": 2,
    "created_at": LATER,
    "description": "Invoice 1001",
    "hash": _HASH_ENTRY,
}
STATEMENT = [
    OpenApiExample(
        "March 2026, one page",
        value={
            "success": True,
            "data": {
                "wallet_id": ALICE_WALLET,
                "currency": "USD",
                "from": "2026-03-02T09:31:00.000000Z",
                "to": "2026-04-01T00:00:00.000000Z",
                "opening_balance": "100.0000",
                "closing_balance": "70.0000",
                "total_in": "0.0000",
                "total_out": "30.0000",
                "count": 1,
                "opening_hash": _HASH_OPENING,
                "closing_hash": _HASH_ENTRY,
                "opening_version": 1,
                "closing_version": 2,
                "entries": [_STATEMENT_ENTRY],
                "next_cursor": None,
            },
            "has_more": False,
            "next_cursor": None,
        },
        response_only=True,
        status_codes=["200"],
        media_type="application/json",
    ),
    OpenApiExample(
        "The same as CSV",
        value=(
            "row,wallet_id,created_at,entry_id,transaction_id,type,amount,currency,balance_after,"
            "wallet_version,description,hash\r\n"
            f"OPENING,{ALICE_WALLET},2026-03-02T09:31:00.000000Z,,,,,USD,100.0000,1,,{_HASH_OPENING}\r\n"
            f"ENTRY,{ALICE_WALLET},{LATER},{_STATEMENT_ENTRY['id']},{TRANSFER_TXN},TRANSFER_OUT,-30.0000,"
            f"USD,70.0000,2,Invoice 1001,{_HASH_ENTRY}\r\n"
            f"CLOSING,{ALICE_WALLET},2026-04-01T00:00:00.000000Z,,,,,USD,70.0000,2,,{_HASH_ENTRY}\r\n"
        ),
        response_only=True,
        status_codes=["200"],
        media_type="text/csv",
    ),
    error_example(
        "`from` not before `to`",
        400,
        "validation_error",
        "`from` must be before `to` (the period is from inclusive, to exclusive).",
    ),
]
