"""Request and response examples of the webhooks' operations (tests/test_openapi_quality.py checks
each against its schema): alice's endpoint for her wallets' transfers, one delivery of a
TRANSFER_OUT that succeeded on the second attempt."""

from __future__ import annotations

from typing import Any

from common.schema import page_example, request_example, response_example

ENDPOINT_ID = "0195f3d0-1a2b-7c3d-8e4f-5a6b7c8d9e01"
DELIVERY_ID = "6f1d3c52-9a41-5e0b-8c7d-2e3f4a5b6c02"
EVENT_ID = "0195f3d1-2b3c-7d4e-9f50-6b7c8d9eaf03"
WALLET_ID = "0195f3c2-7a10-7b4e-9c3d-2f1a5e6b7c01"
AT = "2026-03-02T09:30:00.000000Z"
URL = "https://hooks.example.com/wallet"
TOMORROW = "2026-03-03T09:30:00.000000Z"


def endpoint(**changes: Any) -> dict[str, Any]:
    return {
        "endpoint_id": ENDPOINT_ID,
        "user_id": "alice",
        "url": URL,
        "event_types": ["TRANSFER_IN", "TRANSFER_OUT"],
        "description": "Shop back office",
        "status": "active",
        "disabled_reason": None,
        "disabled_at": None,
        "previous_secret_expires_at": None,
        "created_by": "alice",
        "created_at": AT,
        "updated_at": AT,
        **changes,
    }


SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 (an example, not a secret)
EVENT = {
    "event_id": EVENT_ID,
    "event_type": "TRANSFER_OUT",
    "schema_version": 1,
    "occurred_at": AT,
    "wallet_id": WALLET_ID,
    "user_id": "alice",
    "currency": "USD",
    "amount": "30.0000",
    "balance_after": "70.0000",
    "wallet_version": 7,
    "transaction_id": "0195f3c4-1d43-7e71-af60-5c4d8b9eaf04",
    "counterparty_wallet_id": "0195f3c2-8b21-7c5f-8d4e-3a2b6f7c8d02",
    "counterparty_user_id": "bob",
}


def delivery(**changes: Any) -> dict[str, Any]:
    return {
        "delivery_id": DELIVERY_ID,
        "endpoint_id": ENDPOINT_ID,
        "event_id": EVENT_ID,
        "event_type": "TRANSFER_OUT",
        "wallet_id": WALLET_ID,
        "wallet_version": 7,
        "status": "delivered",
        "attempts": 2,
        "next_attempt_at": None,
        "first_attempt_at": AT,
        "delivered_at": "2026-03-02T09:30:04.120000Z",
        "last_error": None,
        "created_at": AT,
        **changes,
    }


ATTEMPTS = [
    {"at": AT, "status_code": 503, "error": None, "latency_ms": 41, "response_excerpt": "busy"},
    {
        "at": "2026-03-02T09:30:04.120000Z",
        "status_code": 200,
        "error": None,
        "latency_ms": 12,
        "response_excerpt": "ok",
    },
]

CREATE = [
    request_example(
        "Alice's transfers",
        {"url": URL, "event_types": ["TRANSFER_IN", "TRANSFER_OUT"], "description": "Shop back office"},
    ),
    request_example("Staff: every user's events", {"url": URL, "user_id": None}),
    response_example("Created: the secret, shown once", {**endpoint(), "secret": SECRET}, 201),
]
LIST = [page_example("Alice's endpoints", [endpoint()])]
GET = [response_example("An endpoint", endpoint())]
UPDATE = [
    request_example("Every event type", {"event_types": []}),
    response_example("Updated", endpoint(event_types=[])),
]
DISABLE = [
    response_example(
        "Disabled",
        endpoint(status="disabled", disabled_reason="disabled by alice", disabled_at=AT),
    )
]
ENABLE = [response_example("Active again", endpoint())]
ROTATE = [
    response_example(
        "A new secret; the old one valid 24 hours more",
        {**endpoint(previous_secret_expires_at=TOMORROW), "secret": SECRET},
    )
]
DELETE = [response_example("Deleted", {"endpoint_id": ENDPOINT_ID, "deleted": True})]
DELIVERIES = [page_example("Deliveries, newest first", [delivery()])]
DELIVERY = [
    response_example(
        "Delivered on the second attempt", {**delivery(), "payload": EVENT, "attempt_list": ATTEMPTS}
    )
]
RESEND = [
    response_example(
        "Queued again",
        delivery(status="pending", attempts=2, next_attempt_at=AT, delivered_at=None),
    )
]
