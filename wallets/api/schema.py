"""OpenAPI shapes of the wallet endpoints, their parameters, and exactly the errors each answers
(besides `common.schema.COMMON_ERRORS`: 401, 406, 503)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter

from common import schema

from .idempotency import HEADER, KEY_MAX_LENGTH, KEY_PATTERN
from .serializers import TransactionOutput, WalletOutput

WALLET = schema.envelope("WalletEnvelope", WalletOutput())
TRANSFER = schema.envelope("TransferEnvelope", TransactionOutput(many=True))
WALLET_PAGE = schema.page_of("WalletPage", WalletOutput)
TRANSACTION_PAGE = schema.page_of("TransactionPage", TransactionOutput)

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
