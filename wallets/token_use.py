"""An API token's last use (`TokenUse`), recorded cheaply.

Why not a write per request: the API serves hundreds of transfers a second on a few tokens, and
authentication is cached so that the hot path makes no query. `common.auth` sends `token_used` at
most once per token every `API_TOKEN_USE_SECONDS` (60) in each web process; `record` then upserts
one row, and the upsert's own condition leaves a row written less than that period ago alone, so
several workers add no writes either. The record lags by up to that period: enough to tell a
token in use from a forgotten one. A failed write is logged and never fails the request.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, QuerySet

from common.auth import token_used

from .models import TokenUse

logger = logging.getLogger(__name__)


# One statement; the insert needs the token (it may have been revoked meanwhile).
UPSERT = """
    INSERT INTO wallets_tokenuse (token_digest, last_used_at, last_used_from)
    SELECT %(digest)s::text, %(at)s::timestamptz, %(address)s::inet
    WHERE EXISTS (SELECT 1 FROM knox_authtoken WHERE digest = %(digest)s::text)
    ON CONFLICT (token_digest) DO UPDATE
        SET last_used_at = EXCLUDED.last_used_at, last_used_from = EXCLUDED.last_used_from
        WHERE wallets_tokenuse.last_used_at
            <= EXCLUDED.last_used_at - make_interval(secs => %(period)s::float8)
"""


def period() -> float:
    """Seconds between two writes of a token's use (and between two `token_used` in a process)."""
    return float(getattr(settings, "API_TOKEN_USE_SECONDS", 60))


def record(*, digest: str, at: datetime, address: str | None) -> None:
    """The token was used at `at` from `address`: one upsert, a no-op when its row is recent (or
    the token is gone)."""
    try:
        address = str(ipaddress.ip_address(address)) if address else None
    except ValueError:  # a forwarded-for entry that is not an address
        address = None
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(UPSERT, {"digest": digest, "at": at, "address": address, "period": period()})
    except DatabaseError:
        logger.warning("last use of token %s… not recorded", digest[:8], exc_info=True)


def _on_token_used(*, token: Any, at: datetime, address: str | None, **_: Any) -> None:
    record(digest=token.digest, at=at, address=address)


def connect() -> None:
    """Record every `token_used` (WalletsConfig.ready)."""
    token_used.connect(_on_token_used, dispatch_uid="wallets.token_use")


def last_use_of(digests: Iterable[str]) -> dict[str, TokenUse]:
    """Each token's use by its digest (knox's primary key); a token never used is absent."""
    return {use.token_id: use for use in TokenUse.objects.filter(token_id__in=list(digests))}


def with_last_use(tokens: QuerySet[Any]) -> QuerySet[Any]:
    """Tokens annotated with `last_used_at` and `last_used_from` (None: never used), one join."""
    annotated: QuerySet[Any] = tokens.annotate(
        last_used_at=F("last_use__last_used_at"), last_used_from=F("last_use__last_used_from")
    )
    return annotated
