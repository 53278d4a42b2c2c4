"""OpenAPI pieces every app's API uses (drf-spectacular): the success envelope, a page of items,
the error envelope, the paging parameters, responses listing each error status, and the token
security scheme."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from .pagination import MAX_LIMIT

ERROR = inline_serializer(
    "Error",
    {
        "success": serializers.BooleanField(default=False),
        "error": serializers.CharField(help_text="A sentence for people."),
        "code": serializers.CharField(help_text="A machine-readable code; each response lists its own."),
        "details": serializers.DictField(required=False, help_text="Per-field messages, where useful."),
    },
)

PAGE_PARAMETERS = [
    OpenApiParameter("limit", int, description=f"Page size, 1-{MAX_LIMIT} (default 50)."),
    OpenApiParameter("cursor", str, description="Opaque cursor from the previous page's next_cursor."),
]


def envelope(name: str, data: serializers.Field | serializers.BaseSerializer) -> Any:  # type: ignore[type-arg]
    return inline_serializer(name, {"success": serializers.BooleanField(default=True), "data": data})


def page_of(name: str, item: type[serializers.Serializer]) -> Any:  # type: ignore[type-arg]
    return inline_serializer(
        name,
        {
            "success": serializers.BooleanField(default=True),
            "data": item(many=True),
            "has_more": serializers.BooleanField(),
            "next_cursor": serializers.CharField(allow_null=True),
        },
    )


def responses(status: int, success: Any, errors: dict[int, str]) -> dict[int, Any]:
    """The success response and each error status with the codes it may carry."""
    result: dict[int, Any] = {status: success}
    for code, description in errors.items():
        result[code] = OpenApiResponse(ERROR, description=description)
    return result


class TokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """`Authorization: Token <key>` (common.auth, knox's tokens), under the name DRF's tokens had."""

    target_class = "common.auth.CachedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        definition: dict[str, Any] = build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix="Token",  # noqa: S106 -- the header's scheme word, not a secret
        )
        return definition
