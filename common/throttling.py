"""Throttles on Redis (Django's cache, DRF's sliding-window throttles): failed API authentications
per client address, and an optional request rate per end user.

Failed authentications: a request whose token is refused (unknown, malformed, expired, revoked, its
user deactivated) counts against its client address. Past `API_AUTH_FAILURE_RATE` (20 a minute),
refused credentials from that address are answered 401 `too_many_failed_authentications` with
`Retry-After`: still a 401, because retrying the same credentials can never succeed (a 429 would
invite exactly that retry, and tools that probe authentication, schemathesis among them, rightly
expect 401 or 403 for a bad token whatever came before). A request that presented no credentials is
not counted and is always a plain 401 `not_authenticated`. A valid token is never refused by it:
the token is checked first, and the counter is consulted only once authentication has failed, so
an attacker guessing from a shared address (an office, a NAT) cannot lock out the clients that hold
real tokens. That makes the limit a signal to a misconfigured or hostile client, not a lock: API
tokens are 256 random bits, which no rate of guessing finds; the password login of the admin is the
one that locks (django-axes, 429). The API's exception handler (`common.errors`) calls
`refuse_unauthenticated` for every 401.

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


class TooManyFailedAuthentications(exceptions.AuthenticationFailed):
    """Refused credentials from an address past its failure limit: a 401 that also says when the
    address is back under it (`wait`, seconds, sent as Retry-After)."""

    default_code = "too_many_failed_authentications"

    def __init__(self, wait: int) -> None:
        super().__init__(
            f"Too many failed authentications from this address; the credentials were refused. "
            f"Check the token (`Authorization: Token <key>`) and try again in {wait} seconds."
        )
        self.wait = wait


def refuse_unauthenticated(request: Request, exc: exceptions.APIException) -> exceptions.APIException:
    """What a 401 becomes: presented credentials that failed (`AuthenticationFailed`) are counted,
    and past the address's limit become `TooManyFailedAuthentications`; a request that presented
    none (`NotAuthenticated`) is neither counted nor changed."""
    if not isinstance(exc, exceptions.AuthenticationFailed):
        return exc
    throttle = AuthFailureThrottle()
    if throttle.allow_request(request, None):
        return exc
    wait = throttle.wait()
    refused = TooManyFailedAuthentications(max(1, math.ceil(wait)) if wait is not None else 1)
    refused.auth_header = getattr(exc, "auth_header", None)  # type: ignore[attr-defined]  # WWW-Authenticate
    return refused


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
