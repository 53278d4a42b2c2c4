"""Throttles on Redis (Django's cache, DRF's sliding-window throttles): failed API authentications
per client address, and an optional request rate per end user.

Failed authentications: a request whose token is refused (unknown, malformed, expired, revoked, its
user deactivated) counts against its client address. Past `API_AUTH_FAILURE_RATE` (20 a minute),
requests from that address *without valid credentials* are answered 429 `throttled` with
`Retry-After`. A valid token is never refused by it: the token is checked first, and the counter is
consulted only once authentication has failed, so an attacker guessing from a shared address (an
office, a NAT) cannot lock out the clients that hold real tokens. The API's exception handler
(`common.errors`) calls `refuse_unauthenticated` for every 401.

Fail open: when Redis does not answer, a throttle lets the request through and logs (once a
minute per process). Money must not stop because the throttle store is down, and a request with a
valid token does not touch Redis at all unless a per-user rate is set.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

logger = logging.getLogger(__name__)

_WARN_EVERY_SECONDS = 60.0
_last_warning = -_WARN_EVERY_SECONDS


def client_address(request: HttpRequest | Request) -> str | None:
    """The client's address: the socket's, or X-Forwarded-For's entry `TRUSTED_PROXY_COUNT` hops
    back when proxies are trusted (DRF's rule); None when unknown. Also django-axes' address for
    admin logins."""
    ident = BaseThrottle().get_ident(request)  # type: ignore[arg-type]
    return str(ident) if ident else None


def _store_down(error: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= _WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning("throttle store (Redis) unavailable, not throttling: %s", error)


class _RedisRateThrottle(SimpleRateThrottle):
    """A rate from our own setting, read when the throttle is made (not at import, as DRF's
    THROTTLE_RATES is), and fail open when the store does not answer."""

    rate_setting = ""

    def get_rate(self) -> str | None:
        rate: str | None = getattr(settings, self.rate_setting)
        return rate

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as error:
            _store_down(error)
            return True


class AuthFailureThrottle(_RedisRateThrottle):
    scope = "auth_failure"
    rate_setting = "API_AUTH_FAILURE_RATE"

    def get_cache_key(self, request: Request, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request) or "unknown"}

    def over_limit(self, request: Request) -> bool:
        """Whether the address has used up its failures, without counting this request."""
        limit, duration = self.parse_rate(self.rate)
        if limit is None or duration is None:
            return False
        try:
            self.key = self.get_cache_key(request, None)
            self.now = self.timer()
            self.history = [t for t in self.cache.get(self.key, []) if t > self.now - duration]
        except (RedisError, OSError) as error:
            _store_down(error)
            return False
        return len(self.history) >= limit


def refuse_unauthenticated(request: Request, exc: exceptions.APIException) -> exceptions.APIException:
    """What a 401 becomes: `Throttled` when the client address is over its failure limit, else the
    401 itself. Presented credentials that failed (`AuthenticationFailed`) are counted; a request
    that presented none (`NotAuthenticated`) is not, but is refused like one while the limit holds."""
    throttle = AuthFailureThrottle()
    if isinstance(exc, exceptions.AuthenticationFailed):
        refused = not throttle.allow_request(request, None)
    else:
        refused = throttle.over_limit(request)
    if not refused:
        return exc
    wait = throttle.wait()
    return exceptions.Throttled(wait=max(1, math.ceil(wait)) if wait is not None else 1)


class EndUserRateThrottle(_RedisRateThrottle):
    """`API_USER_RATE` requests per end user (off by default). Staff and back-end services (staff
    principals) are never limited; anonymous requests are not this throttle's concern."""

    scope = "end_user"
    rate_setting = "API_USER_RATE"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        user = request.user
        if not user.is_authenticated or user.is_staff:
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}
