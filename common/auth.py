"""Token authentication: django-rest-knox's hashed tokens, with a short in-process cache.

The database holds only a SHA-512 digest of each key (and its first 15 characters, to find the
row), so a dump or a read-only SQL session yields no usable token. The header is the seed's
`Authorization: Token <key>`; any other `Authorization` header (a Bearer scheme, a bare key,
`Token` without a key) is refused 401 with a message naming that form, never echoing the key.
A request without the header goes on to the session (a logged-in browser).

A lookup is a database round trip on every request; the cache saves it on the hot path. Revocation
still takes effect on the next request in every worker: each entry remembers the auth generation
(common/auth_generation.py, a counter this host's processes share in memory) it was loaded at, and
is reloaded once the counter moved. Revoking a token, saving or deleting a user, and changing a
user's groups or permissions (or a group's) bump it after the commit (wallets/tokens.py), so the
reload also drops the user's cached permissions. Not covered: a change in raw SQL, or made on
another host (several web hosts would need e.g. PostgreSQL LISTEN/NOTIFY: a follow-up); there an
entry lives `API_TOKEN_CACHE_SECONDS` (default 30 s) at most. An entry never outlives the token's
own expiry, so an expired token stops on time. A key that cannot be one of ours (not 40 or 64 hex
characters) is refused before any query.

Last use: `token_used` is sent at most once per token every `API_TOKEN_USE_SECONDS` (default 60)
in each process, so whoever records it (wallets/token_use.py) writes rarely, not per request.
"""

from __future__ import annotations

import re
import time
from typing import Any

from django.conf import settings
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils import timezone
from knox.auth import TokenAuthentication
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header
from rest_framework.request import Request

from . import auth_generation, caches
from .throttling import client_address

# 64: knox's keys. 40: DRF authtoken keys carried over by wallets' migration 0004 (they expire).
KEY_PATTERN = re.compile(r"[0-9a-f]{64}|[0-9a-f]{40}")

EXPECTED_FORM = "Send the API token as `Authorization: Token <key>`"
REFUSED_KEY = (
    "The API token is not valid: unknown, expired, revoked or not a key of this API. "
    "Send a current key as `Authorization: Token <key>`."
)
USER_INACTIVE = "The API token's user is deactivated or deleted."
# A scheme name short and plain enough to repeat back (never a key: keys are 40 or 64 characters).
_SCHEME = re.compile(r"[A-Za-z][A-Za-z-]{0,19}")

# Sent with `token` (knox's AuthToken), `address` (the client's, or None) and `at`.
token_used = Signal()

_MAX_ENTRIES = 10_000
# key -> (deadline on the monotonic clock, auth generation at loading, user, token)
_cache: dict[str, tuple[float, int, Any, Any]] = {}
_cached_generation: int | None = None
caches.register(_cache.clear)
# token digest -> when this process last sent `token_used` for it (monotonic clock)
_use_sent: dict[str, float] = {}
caches.register(_use_sent.clear)


def wrong_header(parts: list[bytes]) -> str:
    """What is wrong with an `Authorization` header (split in words) that is not `Token <key>`."""
    first = parts[0].decode("latin-1")
    if first.lower() == "token":
        if len(parts) == 1:
            return f"{EXPECTED_FORM} (the key is missing)."
        return f"{EXPECTED_FORM} (got more than one word after `Token`; a key has no spaces)."
    if _SCHEME.fullmatch(first):
        return f"{EXPECTED_FORM} (got a {first} scheme)."
    if len(parts) == 1:
        return f"{EXPECTED_FORM} (got a bare key, without `Token `)."
    return f"{EXPECTED_FORM} (got an unknown scheme)."


class UserInactive(exceptions.AuthenticationFailed):
    default_detail = USER_INACTIVE


class CachedTokenAuthentication(TokenAuthentication):  # type: ignore[misc]
    def authenticate(self, request: Request | HttpRequest) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()  # type: ignore[arg-type]  # reads META only
        if not parts:
            return None  # no credentials: the session's turn
        if len(parts) != 2 or parts[0].lower() != b"token":
            raise exceptions.AuthenticationFailed(wrong_header(parts))
        user, auth_token = self.authenticate_credentials(parts[1])
        _note_use(auth_token, request)
        return user, auth_token

    def authenticate_header(self, request: Request) -> str:
        return "Token"

    def validate_user(self, auth_token: Any) -> tuple[Any, Any]:
        if not auth_token.user.is_active:
            raise UserInactive()
        return auth_token.user, auth_token

    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        global _cached_generation
        try:
            key = token.decode("ascii")
        except UnicodeDecodeError:
            key = ""
        if not KEY_PATTERN.fullmatch(key):
            raise exceptions.AuthenticationFailed(REFUSED_KEY)
        generation = auth_generation.current()  # read before the lookup, which may predate a bump
        now = time.monotonic()
        hit = _cache.get(key)
        if hit is not None and hit[1] == generation and hit[0] > now:
            return hit[2], hit[3]
        try:
            user, auth_token = super().authenticate_credentials(token)
        except UserInactive:
            raise
        except exceptions.AuthenticationFailed:  # knox's "Invalid token.": unknown or expired
            raise exceptions.AuthenticationFailed(REFUSED_KEY) from None
        if generation is None:  # no shared counter: a cached token could outlive its revocation
            return user, auth_token
        lifetime = float(settings.API_TOKEN_CACHE_SECONDS)
        if auth_token.expiry is not None:
            lifetime = min(lifetime, (auth_token.expiry - timezone.now()).total_seconds())
        if lifetime > 0:
            if len(_cache) >= _MAX_ENTRIES or generation != _cached_generation:
                _cache.clear()  # every entry of another generation must be reloaded anyway
                _cached_generation = generation
            _cache[key] = (now + lifetime, generation, user, auth_token)
        return user, auth_token


def _note_use(auth_token: Any, request: Request | HttpRequest) -> None:
    """Send `token_used`, unless this process sent it for this token less than a period ago."""
    period = float(settings.API_TOKEN_USE_SECONDS)
    now = time.monotonic()
    sent = _use_sent.get(auth_token.digest)
    if sent is not None and now - sent < period:
        return
    if len(_use_sent) >= _MAX_ENTRIES:
        _use_sent.clear()
    _use_sent[auth_token.digest] = now
    token_used.send(
        sender=CachedTokenAuthentication, token=auth_token, address=client_address(request), at=timezone.now()
    )
