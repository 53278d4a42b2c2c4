"""OpenAPI shapes of the wallet endpoints, their parameters, and exactly the errors each answers
(besides `common.schema.COMMON_ERRORS`: 401, 406, 503)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter

from common import schema

from .idempotency import HEADER, KEY_MAX_LENGTH, KEY_PATTERN
from .serializers import (
    BatchOutput,
    CaptureOutput,
    HoldOutput,
    LedgerTransactionOutput,
    TransactionOutput,
    WalletOutput,
)

WALLET = schema.envelope("WalletEnvelope", WalletOutput())
HOLD = schema.envelope("HoldEnvelope", HoldOutput())
HOLD_PAGE = schema.page_of("HoldPage", HoldOutput)
CAPTURE = schema.envelope("CaptureEnvelope", CaptureOutput())
LEDGER_TRANSACTION = schema.envelope("LedgerTransactionEnvelope", LedgerTransactionOutput())
TRANSFER = schema.envelope("TransferEnvelope", TransactionOutput(many=True))
WALLET_PAGE = schema.page_of("WalletPage", WalletOutput)
TRANSACTION_PAGE = schema.page_of("TransactionPage", TransactionOutput)
BATCH = schema.envelope("BatchEnvelope", BatchOutput())

IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER,
    {"type": "string", "pattern": KEY_PATTERN, "maxLength": KEY_MAX_LENGTH},
    OpenApiParameter.HEADER,
    description=(
        "Optional. Printable ASCII, no space at either end. The first request's status and body are "
        "stored with its effect; the same request again replays them (header Idempotent-Replayed: "
        "true); the key with another request is 422."
    ),
)

# What every POST may answer besides its own refusals.
_POST = {
    413: "payload_too_large: a body over 64 KiB",
    415: "unsupported_media_type: the body is not declared as JSON",
    422: "idempotency_key_reused: the Idempotency-Key was used with another request",
}
_MOVEMENT_CONFLICTS = (
    "wallet_frozen, idempotency_key_in_use, or conflict (a lock wait over the limit; Retry-After)"
)

CREATE_ERRORS = {
    400: "validation_error (the body or the Idempotency-Key)",
    403: "permission_denied: an end user creating a wallet for another user",
    409: "idempotency_key_in_use",
    **_POST,
}
DETAIL_ERRORS = {404: "wallet_not_found (an end user: not their wallet)"}
USER_WALLETS_ERRORS = {
    400: "validation_error (limit or cursor)",
    403: "permission_denied: an end user listing another user's wallets",
    404: "not_found: not a user id",
}
FUND_ERRORS = {
    400: "validation_error (the body or the Idempotency-Key) or invalid_amount (also: past the maximum)",
    403: "permission_denied: staff only",
    404: "wallet_not_found",
    409: _MOVEMENT_CONFLICTS,
    **_POST,
}
WITHDRAW_ERRORS = {
    **FUND_ERRORS,
    400: "validation_error (the body or the Idempotency-Key), invalid_amount or insufficient_funds",
}
TRANSFER_ERRORS = {
    400: (
        "validation_error (the body or the Idempotency-Key), invalid_amount, insufficient_funds, "
        "same_wallet or currency_mismatch"
    ),
    404: "wallet_not_found: the sender (an end user: not their wallet) or to_wallet_id",
    409: _MOVEMENT_CONFLICTS,
    **_POST,
}
TRANSACTIONS_ERRORS = {400: "validation_error (limit or cursor)", **DETAIL_ERRORS}
HOLD_CREATE_ERRORS = {
    **TRANSFER_ERRORS,
    400: (
        "validation_error (the body or the Idempotency-Key), invalid_amount, insufficient_funds (above "
        "what is available), same_wallet or currency_mismatch"
    ),
}
HOLD_DETAIL_ERRORS = {404: "hold_not_found (also: neither wallet is the caller's)"}
HOLDS_ERRORS = {400: "validation_error (status, limit or cursor)", **DETAIL_ERRORS}
_SETTLE = {
    403: "permission_denied: the payer (only the receiver's owner or staff may capture or void)",
    404: "hold_not_found (also: neither wallet is the caller's)",
    **_POST,
}
CAPTURE_ERRORS = {
    400: "validation_error (the body or the Idempotency-Key) or invalid_amount (also: above the hold)",
    409: (
        "hold_not_pending, hold_expired, wallet_frozen, idempotency_key_in_use, or conflict (a lock wait "
        "over the limit; Retry-After)"
    ),
    **_SETTLE,
}
VOID_ERRORS = {
    400: "validation_error (the body or the Idempotency-Key)",
    409: "hold_not_pending, idempotency_key_in_use, or conflict (a lock wait over the limit; Retry-After)",
    **_SETTLE,
}
TRANSACTION_ERRORS = {404: "transaction_not_found (also: none of its wallets is the caller's)"}
REVERSE_ERRORS = {
    400: "validation_error (the body or the Idempotency-Key) or insufficient_funds (a wallet lacks it now)",
    403: "permission_denied: staff only",
    404: "transaction_not_found",
    409: (
        "already_reversed, not_reversible (a reversal), idempotency_key_in_use, or conflict (a lock "
        "wait over the limit; Retry-After)"
    ),
    **_POST,
}
MULTI_LEG_ERRORS = {
    400: (
        "validation_error (the body, naming the leg: legs[3].amount; or the Idempotency-Key), "
        "invalid_amount, insufficient_funds, same_wallet or currency_mismatch, in details.leg and "
        "details.field the leg that was refused; nothing moved"
    ),
    404: "wallet_not_found: a leg's sender (an end user: not their wallet) or receiver",
    409: _MOVEMENT_CONFLICTS,
    **_POST,
    413: "payload_too_large: a body over 64 KiB",
}
BATCH_ERRORS = {
    **MULTI_LEG_ERRORS,
    400: (
        "validation_error (the body, naming the transfer: transfers[3].amount; or the "
        "Idempotency-Key); atomic: as POST /transactions. A transfer refused by a rule is not an "
        "error of the request: it is a failed item of the 200"
    ),
    404: "atomic only: wallet_not_found, as POST /transactions",
    409: "atomic only: " + _MOVEMENT_CONFLICTS + "; always: idempotency_key_in_use",
    413: "payload_too_large: a body over 1 MiB",
}


def responses(status: int, success: Any, errors: dict[int, str]) -> dict[Any, Any]:
    return schema.responses(status, success, errors)


def link_wallets(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: every response carrying a wallet links its id to each operation on
    `{wallet_id}` (fund, withdraw, transfer, history, ...) and its user_id to each on `{user_id}`,
    so a client (or schemathesis' stateful phase) can chain a created wallet into real sequences."""
    wallet_ref = "#/components/schemas/WalletEnvelope"
    for _, _, operation in schema.operations(result):
        for response in operation["responses"].values():
            content = response.get("content", {}).get("application/json", {})
            if content.get("schema", {}).get("$ref") == wallet_ref:
                schema.link_to_operations_taking(result, response, "wallet_id", "$response.body#/data/id")
                schema.link_to_operations_taking(result, response, "user_id", "$response.body#/data/user_id")
    return result


def link_holds_and_transactions(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Postprocessing hook: a hold's id links to each operation on `{hold_id}`; a ledger
    transaction's id (a transfer's or capture's legs' reference_id) to each on `{transaction_id}`."""
    sources = {
        "#/components/schemas/HoldEnvelope": [("hold_id", "$response.body#/data/id")],
        "#/components/schemas/CaptureEnvelope": [
            ("hold_id", "$response.body#/data/hold/id"),
            ("transaction_id", "$response.body#/data/hold/transaction_id"),
        ],
        "#/components/schemas/TransferEnvelope": [("transaction_id", "$response.body#/data/0/reference_id")],
        "#/components/schemas/LedgerTransactionEnvelope": [("transaction_id", "$response.body#/data/id")],
    }
    for _, _, operation in schema.operations(result):
        for response in operation["responses"].values():
            content = response.get("content", {}).get("application/json", {})
            for parameter, expression in sources.get(content.get("schema", {}).get("$ref"), []):
                schema.link_to_operations_taking(result, response, parameter, expression)
    return result
