"""OpenAPI shapes of the wallet endpoints, and the errors they answer."""

from __future__ import annotations

from typing import Any

from common import schema

from .serializers import TransactionOutput, WalletOutput

WALLET = schema.envelope("WalletEnvelope", WalletOutput())
TRANSFER = schema.envelope("TransferEnvelope", TransactionOutput(many=True))
WALLET_PAGE = schema.page_of("WalletPage", WalletOutput)
TRANSACTION_PAGE = schema.page_of("TransactionPage", TransactionOutput)

ERRORS = {
    400: "validation_error, invalid_amount, insufficient_funds, same_wallet or currency_mismatch",
    401: "not_authenticated",
    403: "permission_denied",
    404: "wallet_not_found or not_found",
    409: "wallet_frozen, idempotency_key_in_use or conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "idempotency_key_reused",
    429: "throttled (with Retry-After): too many failed authentications from the address, or API_USER_RATE",
    503: "service_unavailable",
}


def responses(status: int, success: Any) -> dict[int, Any]:
    return schema.responses(status, success, ERRORS)
