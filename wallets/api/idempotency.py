"""`Idempotency-Key` for POSTs: execute once, replay the stored response byte for byte.

The first request runs inside one durable transaction that also stores its status and body, so
the record exists exactly when the money moved. A transaction-scoped advisory lock on
(principal, key) answers a concurrent duplicate with 409 `idempotency_key_in_use` instead of
making it wait. Requests that fail (validation or a business rule) store nothing and change
nothing, so retrying them runs them again.

A browsable-API form carries its own key (`common.browsable.FORM_KEY`, made when the page was
rendered; the header wins if both are given), so a reload, back-and-resubmit or double click
replays the first answer. A form's fingerprint is its fields (not the CSRF token, not the key), not
its bytes: a resubmitted multipart form has a new boundary. A browser is answered with the page,
rendered from the same stored JSON.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from common import browsable
from common.errors import ValidationFailed
from wallets.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from wallets.models import IdempotencyRecord

HEADER = "Idempotency-Key"
# 1-255 printable ASCII characters (../shared/spec/api.md), no space at either end: HTTP strips
# those in transit, so a key with one could not arrive as sent. The OpenAPI schema publishes this.
KEY_MAX_LENGTH = 255
KEY_PATTERN = rf"^[\x21-\x7e](?:[\x20-\x7e]{{0,{KEY_MAX_LENGTH - 2}}}[\x21-\x7e])?$"
_KEY = re.compile(KEY_PATTERN)
_renderer = JSONRenderer()

Handler = Callable[[], tuple[int, Any]]


def _fingerprint(request: Request) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.path.rstrip("/")):
        digest.update(part.encode())
        digest.update(b"\0")
    if browsable.is_browser_form(request):
        digest.update(json.dumps(browsable.form_fields(request)).encode())
    else:
        digest.update(request.body)
    return digest.hexdigest()


def _answer(request: Request, body: bytes, status: int, replayed: bool) -> Response | HttpResponse:
    """The stored answer: its bytes to an API client, the browsable page (of the same JSON) to a browser."""
    page: Response | HttpResponse
    if getattr(request, "accepted_renderer", None) is not None and request.accepted_renderer.format == "api":
        page = Response(json.loads(body), status=status)
    else:
        page = HttpResponse(body, status=status)
        page["Content-Type"] = "application/json"
    if replayed:
        page["Idempotent-Replayed"] = "true"
    return page


def submitted_key(request: Request) -> tuple[str | None, str]:
    """The request's idempotency key (the header's, else a browser form's) and where it came from."""
    key, source = request.headers.get(HEADER), HEADER
    if key is None:
        key, source = browsable.submitted_key(request), browsable.FORM_KEY
    return key, source


def respond_once(request: Request, handler: Handler) -> Response | HttpResponse:
    """Run `handler` (which returns status and data) once per idempotency key, if one is given."""
    key, source = submitted_key(request)
    if key is None:
        with transaction.atomic(durable=True):
            status, data = handler()
        return Response({"success": True, "data": data}, status=status)
    if not _KEY.fullmatch(key):
        raise ValidationFailed(f"{source} must be 1-255 printable ASCII characters, no space at either end.")
    fingerprint = _fingerprint(request)
    principal: Any = request.user
    with transaction.atomic(durable=True):
        with connection.cursor() as cursor:
            # A browser's double click sends its form twice at once: the second waits for the first
            # and replays it (the page shows the answer, not a 409); an API client is told at once.
            waits = source == browsable.FORM_KEY
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0)), true"
                if waits
                else "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"idempotency:{principal.pk}:{key}"],
            )
            acquired = cursor.fetchone()[-1]
        if not acquired:
            raise IdempotencyKeyInUse()
        stored = IdempotencyRecord.objects.filter(principal_id=principal.pk, key=key).first()
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            return _answer(request, bytes(stored.response_body), stored.status_code, replayed=True)
        status, data = handler()
        body = _renderer.render({"success": True, "data": data})
        IdempotencyRecord.objects.create(
            principal_id=principal.pk,
            key=key,
            fingerprint=fingerprint,
            status_code=status,
            response_body=body,
        )
    return _answer(request, body, status, replayed=False)
