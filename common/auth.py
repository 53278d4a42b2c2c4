"""Token authentication with a short in-process cache of token -> user.

A token lookup is a database round trip on every request; the cache saves it on the hot path.
The cost: a deleted token or a deactivated user keeps working for at most
`API_TOKEN_CACHE_SECONDS` (default 30 s) in each web worker.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from rest_framework.authentication import TokenAuthentication

from . import caches

_MAX_ENTRIES = 10_000
_cache: dict[str, tuple[float, Any, Any]] = {}
caches.register(_cache.clear)


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        ttl = settings.API_TOKEN_CACHE_SECONDS
        now = time.monotonic()
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1], hit[2]
        user, token = super().authenticate_credentials(key)
        if ttl > 0:
            if len(_cache) >= _MAX_ENTRIES:
                _cache.clear()
            _cache[key] = (now + ttl, user, token)
        return user, token
