"""OpenAPI pieces every app's API uses (drf-spectacular): the success envelope, a page of items,
the error envelope, the paging parameters, responses listing each error status, and the
postprocessing that publishes the seed's paths and links between operations, and the token
security scheme.

The schema states every rule the server enforces, from the rule's one definition (pagination's
limits and cursor pattern here; amounts, user ids and idempotency keys in the wallets app), so a
client or a fuzzer generating from it meets the server's behaviour, not a guess at it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from .api import ApiView
from .pagination import CURSOR_MAX_LENGTH, CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT
from .times import RFC3339_MAX_LENGTH

ERROR = inline_serializer(
    "Error",
    {
        "success": serializers.BooleanField(default=False),
        "error": serializers.CharField(help_text="A sentence for people."),
        "code": serializers.CharField(help_text="A machine-readable code; each response lists its own."),
        "details": serializers.DictField(required=False, help_text="Per-field messages, where useful."),
    },
)

# What any authenticated JSON operation may answer, whatever it does.
COMMON_ERRORS = {
    401: (
        "not_authenticated: no token or session, or an invalid one; too_many_failed_authentications, "
        "with Retry-After (seconds): an invalid one from an address past API_AUTH_FAILURE_RATE"
    ),
    406: "not_acceptable: the Accept header names neither JSON nor HTML",
    429: ("throttled, with Retry-After (seconds): the end user's request rate (API_USER_RATE)"),
    503: (
        "service_unavailable, with Retry-After: the database is unavailable; retry. (Kafka being down "
        "never fails a request: events wait in the outbox.)"
    ),
}
# What the HTTP server (granian, walletproject/serve.py) answers before the application sees the
# request: the status with an empty body, not the envelope. Every parameter's bounds keep a
# schema-valid request well inside these limits.
SERVER_REFUSALS = {
    414: "The request target is over 65,534 bytes (the web server's limit; an empty body).",
    431: "Over 100 header fields, or a request head over 128 KiB (the web server's limits; an empty body).",
}
TIME = {"type": "string", "format": "date-time", "maxLength": RFC3339_MAX_LENGTH}  # common.times

PAGE_PARAMETERS = [
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        description=f"Page size, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT}).",
    ),
    OpenApiParameter(
        "cursor",
        {"type": "string", "pattern": CURSOR_PATTERN, "maxLength": CURSOR_MAX_LENGTH},
        description="Opaque: the previous page's next_cursor. Any other value is 400 validation_error.",
    ),
]


def path_parameter(name: str, schema: dict[str, Any], description: str) -> OpenApiParameter:
    return OpenApiParameter(name, schema, OpenApiParameter.PATH, description=description)


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


def error_example(name: str, status: int, code: str, message: str) -> OpenApiExample:
    """An error envelope as an example of the `status` response."""
    value = {"success": False, "error": message, "code": code}
    return OpenApiExample(name, value=value, response_only=True, status_codes=[str(status)])


def request_example(name: str, body: Any) -> OpenApiExample:
    return OpenApiExample(name, value=body, request_only=True)


def response_example(name: str, data: Any, status: int = 200) -> OpenApiExample:
    """A success envelope carrying `data`, as an example of the `status` response."""
    value = {"success": True, "data": data}
    return OpenApiExample(name, value=value, response_only=True, status_codes=[str(status)])


def page_example(name: str, items: list[Any], next_cursor: str | None = None) -> OpenApiExample:
    value = {"success": True, "data": items, "has_more": next_cursor is not None, "next_cursor": next_cursor}
    return OpenApiExample(name, value=value, response_only=True, status_codes=["200"])


# Examples every operation's common errors carry (the statuses a client most needs to handle).
COMMON_EXAMPLES = {
    401: error_example(
        "No token",
        401,
        "not_authenticated",
        "Authentication credentials were not provided. Send the API token as `Authorization: Token "
        "<key>`, or log in at /api-auth/login/ in a browser.",
    ),
    429: error_example(
        "Throttled", 429, "throttled", "Request was throttled. Expected available in 12 seconds."
    ),
    503: error_example(
        "Database unavailable",
        503,
        "service_unavailable",
        "The service is temporarily unavailable; retry shortly.",
    ),
}


def responses(status: int, success: Any, errors: dict[int, str]) -> dict[Any, Any]:
    """The success response and exactly the error statuses the operation can answer: its own
    (`errors`) and the common ones, each with the codes it may carry, in the error envelope; and
    the web server's own refusals."""
    result: dict[Any, Any] = {status: success}
    for code, description in sorted({**COMMON_ERRORS, **errors}.items()):
        example = COMMON_EXAMPLES.get(code)
        result[code] = OpenApiResponse(ERROR, description=description, examples=[example] if example else [])
    for code, description in SERVER_REFUSALS.items():
        result[code] = OpenApiResponse(description=description)  # no content: an empty body
    return result


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's, but an operation is not described by `ApiView`'s own docstring (which
    every view would otherwise inherit): only by its view's or method's."""

    def get_description(self) -> str:  # type: ignore[override]
        description = super().get_description()
        return "" if description == get_doc(ApiView) else description


# Postprocessing (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]).


def seed_paths(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Publish the seed's paths, without the trailing slash the `/?$` routes also accept."""
    result["paths"] = {
        (path.rstrip("/") or "/"): operations for path, operations in result.get("paths", {}).items()
    }
    return result


RETRY_AFTER = {
    "schema": {"type": "integer", "minimum": 1},
    "description": "Seconds to wait before retrying.",
}


def retry_after(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: the Retry-After header of a 429 (always sent), and of a 409 or 503 (sent
    with conflict and service_unavailable: a lock wait over the limit, the database unavailable)."""
    for _, _, operation in operations(result):
        for status, response in operation["responses"].items():
            if status in ("409", "429", "503"):
                header = {**RETRY_AFTER, "required": status == "429"}
                response.setdefault("headers", {})["Retry-After"] = header
    return result


def operations(result: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) of every operation in a generated document."""
    return [
        (path, method, operation)
        for path, item in result.get("paths", {}).items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    ]


def takes_path_parameter(operation: dict[str, Any], name: str) -> bool:
    return any(p.get("in") == "path" and p.get("name") == name for p in operation.get("parameters", []))


def link_to_operations_taking(
    result: dict[str, Any], response: dict[str, Any], parameter: str, expression: str
) -> None:
    """OpenAPI links from `response` to every operation with path parameter `parameter`, passing it
    the value of the runtime `expression` (e.g. `$response.body#/data/id`)."""
    links = response.setdefault("links", {})
    for _, _, target in operations(result):
        if takes_path_parameter(target, parameter):
            name = "".join(part.title() for part in target["operationId"].split("_"))
            links[name] = {
                "operationId": target["operationId"],
                "parameters": {parameter: expression},
                "description": f"`{parameter}` of the response's `data`.",
            }


# The API's token is sent as `Authorization: Token <key>`. Declared as an apiKey in the
# Authorization header rather than as `type: http`: an http scheme must name a registered HTTP
# authentication scheme (bearer, basic) for generators to build the header, and `Token` is not one,
# so generated clients would ignore it or send `Bearer`. An apiKey header named Authorization is
# understood by every generator: its value is the whole `Token <key>` (openapi-python-client:
# `AuthenticatedClient(base_url=..., token=key, prefix="Token")`).
AUTHORIZATION_HEADER_FORM = (
    "An API token (`manage.py issue_token <user>`), sent as `Authorization: Token <key>`: the word "
    "`Token`, one space, then the key. Any other form (`Bearer <key>`, a bare key) is 401."
)


class TokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """`Authorization: Token <key>` (common.auth, knox's tokens), under the name DRF's tokens had."""

    target_class = "common.auth.CachedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": AUTHORIZATION_HEADER_FORM,
        }
