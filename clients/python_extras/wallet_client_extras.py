"""Errors as exceptions for the generated client (clients/python, `wallet_client`).

The generated functions return every documented answer as a value: `sync_detailed(...)` gives a
`Response` whose `parsed` is the success envelope, an `ApprovalEnvelope` (202: a staff movement
waiting for a second operator) or an `Error`. `expect` turns that into the one thing a happy path
wants, the success envelope of the type you name, and raises for anything else, so no call's error
goes unnoticed. It adds no endpoint: only this check (hand-written, kept beside the generated
package, which `make client` replaces whole). See docs/client.md.
"""

from __future__ import annotations

from typing import Any, TypeVar

from wallet_client.models import ApprovalEnvelope, Error
from wallet_client.types import Response, Unset

T = TypeVar("T")

__all__ = ["ApiError", "ApprovalPending", "expect"]


class ApiError(Exception):
    """An error answer: the HTTP status, the envelope's `code` (e.g. `insufficient_funds`), its
    message and per-field `details`, and Retry-After in seconds where the server sent it (409
    conflict, 429, 503)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.details = details or {}
        self.retry_after = retry_after


class ApprovalPending(ApiError):
    """202: a staff movement the approval policy holds back; nothing moved yet. `approval` is the
    pending approval (another operator approves or rejects it)."""

    def __init__(self, envelope: ApprovalEnvelope) -> None:
        self.approval = envelope.data
        super().__init__(
            202, "approval_pending", f"waiting for a second operator: approval {self.approval.approval_id}"
        )


def expect(response: Response[Any], model: type[T]) -> T:
    """`response.parsed` when it is a `model` (e.g. `TransferEnvelope`); else raise `ApprovalPending`
    (202), `ApiError` (an error envelope) or `ApiError` with code `unexpected_response` (a status or
    body the document does not describe, e.g. a proxy's 502 page, or the web server's empty 414)."""
    parsed = response.parsed
    if isinstance(parsed, model):
        return parsed
    status = int(response.status_code)
    retry = response.headers.get("Retry-After")
    retry_after = int(retry) if retry is not None and retry.isdigit() else None
    if isinstance(parsed, ApprovalEnvelope):
        raise ApprovalPending(parsed)
    if isinstance(parsed, Error):
        details = None if isinstance(parsed.details, Unset) else parsed.details.to_dict()
        raise ApiError(status, parsed.code, parsed.error, details, retry_after)
    text = response.content[:200].decode("utf-8", "replace")
    raise ApiError(status, "unexpected_response", text or "(an empty body)", retry_after=retry_after)
