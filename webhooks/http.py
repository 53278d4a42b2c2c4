"""One POST of a signed event to an endpoint: the address checked first (safety.check), no
redirects followed, WEBHOOK_TIMEOUT_SECONDS for the whole exchange, at most
WEBHOOK_RESPONSE_CAP_BYTES of the answer read. Whatever happens comes back as an `Outcome` (the
attempt's row), never an exception.

In production the request goes to the checked IP address, with the original host in `Host` and as
the TLS server name (httpx's `sni_hostname` extension, and the certificate is verified against it):
the name is resolved once, so it cannot resolve elsewhere between the check and the connection.
"""

from __future__ import annotations

import functools
import time
import urllib.parse
from dataclasses import dataclass

import httpx
from django.conf import settings

from . import safety

USER_AGENT = "wallet-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    latency_ms: int
    excerpt: str

    @property
    def ok(self) -> bool:
        return not self.error and self.status_code is not None and 200 <= self.status_code < 300


@functools.cache
def client() -> httpx.Client:
    """One pooled client per process (thread-safe), shared by the dispatcher's threads."""
    timeout = float(settings.WEBHOOK_TIMEOUT_SECONDS)
    return httpx.Client(
        follow_redirects=False,
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_connections=max(10, int(settings.WEBHOOK_CONCURRENCY) * 2)),
        trust_env=False,  # no proxy from the environment: the checked address is the one called
        headers={"user-agent": USER_AGENT},
    )


def _request_url(target: safety.Target) -> tuple[str, dict[str, str], dict[str, str]]:
    """The URL to call, extra headers and httpx extensions: the checked address, if any."""
    if target.address is None:
        return target.url, {}, {}
    parts = urllib.parse.urlsplit(target.url)
    host = f"[{target.address}]" if ":" in target.address else target.address
    default = 443 if target.scheme == "https" else 80
    netloc = host if target.port == default else f"{host}:{target.port}"
    shown = target.host if target.port == default else f"{target.host}:{target.port}"
    url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return url, {"host": shown}, {"sni_hostname": target.host}


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    started = time.monotonic()
    cap = int(settings.WEBHOOK_RESPONSE_CAP_BYTES)
    deadline = started + float(settings.WEBHOOK_TIMEOUT_SECONDS)

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = safety.check(url)
    except safety.Unsafe as exc:
        return Outcome(None, f"refused: {exc}"[:500], elapsed(), "")
    request_url, extra, extensions = _request_url(target)
    try:
        with client().stream(
            "POST",
            request_url,
            content=body,
            headers={**headers, **extra, "content-type": "application/json"},
            extensions=extensions,
            timeout=float(settings.WEBHOOK_TIMEOUT_SECONDS),
        ) as response:
            read = b""
            for chunk in response.iter_raw():
                read += chunk
                if len(read) >= cap or time.monotonic() > deadline:
                    break
            if time.monotonic() > deadline:
                return Outcome(response.status_code, "timed out reading the response", elapsed(), "")
            excerpt = read[:cap].decode("utf-8", errors="replace")
            return Outcome(response.status_code, "", elapsed(), excerpt)
    except httpx.TimeoutException:
        return Outcome(None, f"timed out after {settings.WEBHOOK_TIMEOUT_SECONDS:g} s", elapsed(), "")
    except httpx.HTTPError as exc:
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:500], elapsed(), "")
