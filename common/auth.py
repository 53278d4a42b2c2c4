"""Token authentication: django-rest-knox's hashed tokens, with a short in-process cache.

The database holds only a SHA-512 digest of each key (and its first 15 characters, to find the
row), so a dump or a read-only SQL session yields no usable token. The header is the seed's
`Authorization: Token <key>`.

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
"""

from __future__ import annotations

import re
import time
from typing import Any

from django.conf import settings
from django.utils import timezone
from knox.auth import TokenAuthentication
from rest_framework import exceptions

from . import auth_generation, caches

# 64: knox's keys. 40: DRF authtoken keys carried over by wallets' migration 0004 (they expire).
KEY_PATTERN = re.compile(r"[0-9a-f]{64}|[0-9a-f]{40}")

_MAX_ENTRIES = 10_000
# key -> (deadline on the monotonic clock, auth generation at loading, user, token)
_cache: dict[str, tuple[float, int, Any, Any]] = {}
_cached_generation: int | None = None
caches.register(_cache.clear)


class CachedTokenAuthentication(TokenAuthentication):  # type: ignore[misc]
    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        global _cached_generation
        try:
            key = token.decode("ascii")
        except UnicodeDecodeError:
            key = ""
        if not KEY_PATTERN.fullmatch(key):
            raise exceptions.AuthenticationFailed("Invalid token.")
        generation = auth_generation.current()  # read before the lookup, which may predate a bump
        now = time.monotonic()
        hit = _cache.get(key)
        if hit is not None and hit[1] == generation and hit[0] > now:
            return hit[2], hit[3]
        user, auth_token = super().authenticate_credentials(token)
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
