"""Where a webhook may be sent: the one rule, checked when an endpoint is saved and again before
every connection (docs/webhooks.md, Safety).

In production (WALLET_ENV=production) only `https` to public addresses: the host is resolved once,
every address it resolves to is checked, and the connection goes to that checked address (the
caller connects to `Target.address`), so a DNS answer that changes between check and connect
(rebinding) cannot reach an internal address. In development and test any `http(s)` URL is allowed,
loopback included, so the local stack and the tests can run a receiver on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import urllib.parse
from dataclasses import dataclass

from django.conf import settings

URL_MAX_LENGTH = 2000
# What the API accepts (and publishes as the schema's pattern): http(s), a host name or IPv4
# address, a port 1-65535, printable ASCII after it; no user info. No IPv6 literal: a pattern
# cannot tell a valid one from `[ccf]`, so a name is given (its AAAA records are checked like A).
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = rf"{_LABEL}(\.{_LABEL})*\.?"
URL_PATTERN = rf"^https?://{_HOST}(:{_PORT})?([/?#][!-~]*)?$"
_URL = re.compile(URL_PATTERN)

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_METADATA = ipaddress.ip_address("169.254.169.254")


class Unsafe(Exception):
    """The URL may not be called; the message says why."""


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str  # as written (the Host header and the TLS server name)
    port: int
    address: str | None  # the checked address to connect to; None: let the client resolve (dev)


def production() -> bool:
    return str(settings.WALLET_ENV) == "production"


def forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is not public, or None if it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        reason = forbidden(address.ipv4_mapped)
        return f"IPv4-mapped {reason}" if reason else None
    if address == _METADATA:
        return "the cloud metadata address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a shared (CGNAT, 100.64.0.0/10) address"
    for name, flag in (
        ("a loopback", address.is_loopback),
        ("a link-local", address.is_link_local),
        ("a multicast", address.is_multicast),
        ("an unspecified", address.is_unspecified),
        ("a reserved", address.is_reserved),
        ("a private", address.is_private),
        ("a non-global", not address.is_global),
    ):
        if flag:
            return f"{name} address"
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (patched by tests to play a DNS server)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse(url: str) -> Target:
    """The URL's parts if it is well formed (any environment); Unsafe otherwise."""
    if not isinstance(url, str) or len(url) > URL_MAX_LENGTH or not _URL.fullmatch(url):
        raise Unsafe(
            "url must be an http or https URL (a host, an optional port, a path), at most 2000 characters."
        )
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Unsafe("url has an invalid host or port.") from None
    return Target(url=url, scheme=parts.scheme, host=parts.hostname or "", port=port, address=None)


def check(url: str) -> Target:
    """The target to connect to, every rule checked; Unsafe (with the reason) if refused."""
    target = parse(url)
    if not production():
        return target
    if target.scheme != "https":
        raise Unsafe("Only https URLs are allowed in production.")
    try:
        literal = ipaddress.ip_address(target.host)
        addresses = [str(literal)]
    except ValueError:
        if target.host.rstrip(".").lower() == "localhost" or target.host.lower().endswith(".localhost"):
            raise Unsafe(f"{target.host} is a loopback name.") from None
        try:
            addresses = resolve(target.host, target.port)
        except (OSError, UnicodeError):
            raise Unsafe(f"{target.host} does not resolve.") from None
    if not addresses:
        raise Unsafe(f"{target.host} does not resolve.")
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            raise Unsafe(f"{target.host} resolves to an unreadable address.") from None
        reason = forbidden(address)
        if reason:
            raise Unsafe(f"{target.host} resolves to {address}, {reason}: only public addresses are allowed.")
    return Target(target.url, target.scheme, target.host, target.port, addresses[0].split("%")[0])
