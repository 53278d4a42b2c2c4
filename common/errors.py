"""One error shape for every response: `{"success": false, "error": ..., "code": ..., "details"?}`.

Domain code raises `ApplicationError` subclasses (HackSoft style); `api_exception_handler` turns
those, DRF's own exceptions and database failures into the envelope. Plain Django views use
`not_found` / `server_error`. Never a stack trace, SQL or internal name in a response.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, InternalError, OperationalError, connections
from django.http import Http404, HttpRequest, JsonResponse
from psycopg import errors as pg_errors
from rest_framework import exceptions as drf
from rest_framework.response import Response

from .throttling import TooManyFailedAuthentications, refuse_unauthenticated

logger = logging.getLogger(__name__)

COMPACT = {"separators": (",", ":")}


class ApplicationError(Exception):
    """A request the system refuses, with the status and machine code the API answers."""

    status_code = 400
    code = "bad_request"
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    code = "validation_error"
    default_message = "The request is not valid."


class PayloadTooLarge(ApplicationError):
    status_code = 413
    code = "payload_too_large"
    default_message = "The request body is larger than 64 KiB."


class Conflict(ApplicationError):
    status_code = 409
    code = "conflict"
    default_message = "The wallet is busy; retry shortly."


class Refused(ApplicationError):
    """A 403 that names the rule refusing the request; subclasses keep the stable code
    `permission_denied` unless the contract names another."""

    status_code = 403
    code = "permission_denied"
    default_message = "You do not have permission to perform this action."


class StaffOnly(Refused):
    default_message = (
        "Only an operator (a staff user) may do this; this request is authenticated as an end user."
    )


class ServiceUnavailable(ApplicationError):
    status_code = 503
    code = "service_unavailable"
    default_message = "The service is temporarily unavailable; retry shortly."


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "error": message, "code": code}
    if details:
        body["details"] = details
    return body


def compact_json(body: Any, status: int = 200) -> JsonResponse:
    """JSON rendered compactly, as DRF renders it, for the views that are plain Django."""
    return JsonResponse(body, status=status, safe=False, json_dumps_params=COMPACT)


def error_response(status: int, code: str, message: str) -> JsonResponse:
    return compact_json(envelope(code, message), status=status)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(404, "not_found", "The requested resource was not found.")


def server_error(request: HttpRequest) -> JsonResponse:
    return error_response(500, "internal_error", "An unexpected error occurred.")


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(item) for item in detail]
    return str(detail)


def _database_error(exc: Exception) -> ApplicationError:
    cause = exc.__cause__
    if isinstance(cause, pg_errors.LockNotAvailable | pg_errors.DeadlockDetected):
        logger.warning("lock wait exceeded: %s", cause)
        return Conflict()
    if isinstance(cause, pg_errors.ReadOnlySqlTransaction):
        # A write reached a server that is (now) a standby: a failover demoted the node this
        # connection chose (docs/high-availability.md). Close every connection at the request's
        # end, so the next request connects again and `target_session_attrs=read-write` finds
        # the new primary; the client retries with the same Idempotency-Key.
        logger.warning("write refused by a read-only server (failover?): %s", cause)
        for alias in connections:
            connections[alias].close_at = 0.0
        return ServiceUnavailable()
    logger.error("database unavailable: %s", exc)
    return ServiceUnavailable()


# DRF's own exceptions: (type, status, code, message or None for DRF's own words).
_DRF_ERRORS: list[tuple[type[Exception] | tuple[type[Exception], ...], int, str, str | None]] = [
    (drf.UnsupportedMediaType, 415, "unsupported_media_type", "Content-Type must be application/json."),
    (TooManyFailedAuthentications, 401, "too_many_failed_authentications", None),
    ((drf.NotAuthenticated, drf.AuthenticationFailed), 401, "not_authenticated", None),
    ((drf.PermissionDenied, DjangoPermissionDenied), 403, "permission_denied", None),
    ((drf.NotFound, Http404), 404, "not_found", "The requested resource was not found."),
    (drf.MethodNotAllowed, 405, "method_not_allowed", None),
    (drf.NotAcceptable, 406, "not_acceptable", None),
    (drf.Throttled, 429, "throttled", None),
]


NOT_AUTHENTICATED = (
    "Authentication credentials were not provided. Send the API token as "
    "`Authorization: Token <key>`, or log in at /api-auth/login/ in a browser."
)
PERMISSION_DENIED = "You do not have permission to perform this action."


def _message_of(exc: Exception) -> str:
    """A DRF or Django exception's own words: the rule a refusal names when it was raised with one
    (`PermissionDenied("...")`, a permission class's `message`), else a message that says what to do."""
    if isinstance(exc, drf.NotAuthenticated) and str(exc.detail) == str(drf.NotAuthenticated.default_detail):
        return NOT_AUTHENTICATED
    if isinstance(exc, DjangoPermissionDenied):
        return str(exc) or PERMISSION_DENIED
    return str(getattr(exc, "detail", exc))


def to_application_error(exc: Exception) -> ApplicationError | None:
    """Map a known exception to the error the API answers; None for a genuine bug."""
    if isinstance(exc, ApplicationError):
        return exc
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, drf.ParseError):
        return ValidationFailed("Malformed JSON in the request body.")
    if isinstance(exc, drf.ValidationError):
        return ValidationFailed(details=_flatten(exc.detail))
    for types, status, code, message in _DRF_ERRORS:
        if isinstance(exc, types):
            error = ApplicationError(message or _message_of(exc))
            error.status_code, error.code = status, code
            return error
    if isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, InternalError) and isinstance(exc.__cause__, pg_errors.ReadOnlySqlTransaction)
    ):
        return _database_error(exc)
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed) and "request" in context:
        exc = refuse_unauthenticated(context["request"], exc)  # with Retry-After past the failure limit
    error = to_application_error(exc)
    if error is None:
        view = context.get("view")
        logger.exception("unhandled error in %s", type(view).__name__ if view else "a view", exc_info=exc)
        return Response(envelope("internal_error", "An unexpected error occurred."), status=500)
    headers = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    if isinstance(error, Conflict | ServiceUnavailable):
        headers["Retry-After"] = "1"
    if isinstance(exc, drf.Throttled | TooManyFailedAuthentications):
        headers["Retry-After"] = str(max(1, math.ceil(getattr(exc, "wait", None) or 1)))
    return Response(
        envelope(error.code, error.message, error.details), status=error.status_code, headers=headers
    )
