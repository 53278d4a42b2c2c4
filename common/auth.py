"""Token authentication: django-rest-knox's hashed tokens, with a short in-process cache.

The database holds only a SHA-512 digest of each key (and its first 15 characters, to find the
row), so a dump or a read-only SQL session yields no usable token. The header is the seed's
`Authorization: Token <key>`.

A lookup is a database round trip on every request; the cache saves it on the hot path. The cost:
a revoked token or a deactivated user keeps working for at most `API_TOKEN_CACHE_SECONDS` (default
30 s) in each web worker. An entry never outlives the token's own expiry, so an expired token stops
on time. A key that cannot be one of ours (not 40 or 64 hex characters) is refused before any query.
"""

from __future__ import annotations

import re
import time
from typing import Any

from django.conf import settings
from django.utils import timezone
from knox.auth import TokenAuthentication
from rest_framework import exceptions

from . import caches

# 64: knox's keys. 40: DRF authtoken keys carried over by wallets' migration 0004 (they expire).
KEY_PATTERN = re.compile(r"[0-9a-f]{64}|[0-9a-f]{40}")

_MAX_ENTRIES = 10_000
_cache: dict[str, tuple[float, Any, Any]] = {}
caches.register(_cache.clear)


class CachedTokenAuthentication(TokenAuthentication):  # type: ignore[misc]
    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        try:
            key = token.decode("ascii")
        except UnicodeDecodeError:
            key = ""
        if not KEY_PATTERN.fullmatch(key):
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = time.monotonic()
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1], hit[2]
        user, auth_token = super().authenticate_credentials(token)
        lifetime = float(settings.API_TOKEN_CACHE_SECONDS)
        if auth_token.expiry is not None:
            lifetime = min(lifetime, (auth_token.expiry - timezone.now()).total_seconds())
        if lifetime > 0:
            if len(_cache) >= _MAX_ENTRIES:
                _cache.clear()
            _cache[key] = (now + lifetime, user, auth_token)
        return user, auth_token
