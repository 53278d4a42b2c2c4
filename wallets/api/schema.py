"""OpenAPI shapes for drf-spectacular: the success envelope around each payload, and the errors."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from .serializers import TransactionOutput, WalletOutput

ERROR = inline_serializer(
    "Error",
    {
        "success": serializers.BooleanField(default=False),
        "error": serializers.CharField(help_text="A sentence for people."),
        "code": serializers.CharField(
            help_text="validation_error, invalid_amount, insufficient_funds, same_wallet, currency_mismatch, "
            "wallet_not_found, wallet_frozen, unsupported_media_type, payload_too_large, "
            "idempotency_key_reused, idempotency_key_in_use, conflict, not_authenticated, "
            "permission_denied, not_found, method_not_allowed, service_unavailable, internal_error"
        ),
        "details": serializers.DictField(required=False, help_text="Per-field messages, where useful."),
    },
)


def _envelope(name: str, data: serializers.Field | serializers.BaseSerializer) -> Any:  # type: ignore[type-arg]
    return inline_serializer(name, {"success": serializers.BooleanField(default=True), "data": data})


def _page(name: str, item: type[serializers.Serializer]) -> Any:  # type: ignore[type-arg]
    return inline_serializer(
        name,
        {
            "success": serializers.BooleanField(default=True),
            "data": item(many=True),
            "has_more": serializers.BooleanField(),
            "next_cursor": serializers.CharField(allow_null=True),
        },
    )


WALLET = _envelope("WalletEnvelope", WalletOutput())
TRANSFER = _envelope("TransferEnvelope", TransactionOutput(many=True))
WALLET_PAGE = _page("WalletPage", WalletOutput)
TRANSACTION_PAGE = _page("TransactionPage", TransactionOutput)

PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description="Page size, 1-500 (default 50)."),
    OpenApiParameter("cursor", str, description="Opaque cursor from the previous page's next_cursor."),
]

_ERRORS = {
    400: "validation_error, invalid_amount, insufficient_funds, same_wallet or currency_mismatch",
    401: "not_authenticated",
    403: "permission_denied",
    404: "wallet_not_found or not_found",
    409: "wallet_frozen, idempotency_key_in_use or conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "idempotency_key_reused",
    503: "service_unavailable",
}


def responses(status: int, success: Any) -> dict[int, Any]:
    result: dict[int, Any] = {status: success}
    for code, description in _ERRORS.items():
        result[code] = OpenApiResponse(ERROR, description=description)
    return result
