"""`Idempotency-Key` for POSTs: execute once, replay the stored response byte for byte.

The first request runs inside one durable transaction that also stores its status and body, so
the record exists exactly when the money moved. A transaction-scoped advisory lock on
(principal, key) answers a concurrent duplicate with 409 `idempotency_key_in_use` instead of
making it wait. Requests that fail (validation or a business rule) store nothing and change
nothing, so retrying them runs them again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

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
    digest.update(request.body)
    return digest.hexdigest()


def respond_once(request: Request, handler: Handler) -> Response | HttpResponse:
    """Run `handler` (which returns status and data) once per idempotency key, if one is given."""
    key = request.headers.get(HEADER)
    if key is None:
        with transaction.atomic(durable=True):
            status, data = handler()
        return Response({"success": True, "data": data}, status=status)
    if not _KEY.fullmatch(key):
        raise ValidationFailed(f"{HEADER} must be 1-255 printable ASCII characters, no space at either end.")
    fingerprint = _fingerprint(request)
    principal: Any = request.user
    with transaction.atomic(durable=True):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))",
                [f"idempotency:{principal.pk}:{key}"],
            )
            (acquired,) = cursor.fetchone()
        if not acquired:
            raise IdempotencyKeyInUse()
        stored = IdempotencyRecord.objects.filter(principal_id=principal.pk, key=key).first()
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise IdempotencyKeyReused()
            replay = HttpResponse(bytes(stored.response_body), status=stored.status_code)
            replay["Content-Type"] = "application/json"
            replay["Idempotent-Replayed"] = "true"
            return replay
        status, data = handler()
        body = _renderer.render({"success": True, "data": data})
        IdempotencyRecord.objects.create(
            principal_id=principal.pk,
            key=key,
            fingerprint=fingerprint,
            status_code=status,
            response_body=body,
        )
    response = HttpResponse(body, status=status)
    response["Content-Type"] = "application/json"
    return response
