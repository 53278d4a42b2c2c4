"""Where a webhook may go: in production https to public addresses only, checked when the endpoint
is saved (400) and again before every request (a recorded, refused attempt), the name resolved
once and the request sent to the checked address; in development loopback http works."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import make_client
from webhooks import consumer, http, safety
from webhooks.models import Attempt, Delivery, Endpoint

from .conftest import event

REFUSED = [
    ("https://127.0.0.1/hook", "loopback"),
    ("https://10.1.2.3/hook", "private"),
    ("https://172.16.0.9/hook", "private"),
    ("https://192.168.1.20/hook", "private"),
    ("https://169.254.169.254/latest/meta-data", "metadata"),
    ("https://169.254.10.1/hook", "link-local"),
    ("https://224.0.0.5/hook", "multicast"),
    ("https://240.0.0.1/hook", "reserved"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://100.64.0.1/hook", "CGNAT"),
    ("https://localhost/hook", "loopback name"),
    ("http://93.184.216.34/hook", "Only https"),
]


@pytest.fixture
def production(settings: Any) -> None:
    settings.WALLET_ENV = "production"


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_production_refuses_every_non_public_address(production: None, url: str, why: str) -> None:
    with pytest.raises(safety.Unsafe, match=why):
        safety.check(url)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("::1", "loopback"),
        ("fc00::1", "private"),
        ("fe80::1", "link-local"),
        ("ff02::1", "multicast"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "IPv4-mapped a loopback"),
        ("::ffff:169.254.169.254", "IPv4-mapped the cloud metadata"),
        ("::ffff:10.0.0.1", "IPv4-mapped a private"),
    ],
)
def test_a_name_resolving_to_a_non_public_ipv6_address_is_refused(
    production: None, monkeypatch: pytest.MonkeyPatch, address: str, why: str
) -> None:
    monkeypatch.setattr(safety, "resolve", lambda host, port: [address])
    with pytest.raises(safety.Unsafe, match=why):
        safety.check("https://hooks.example.com/x")


@pytest.mark.parametrize(
    "url", ["http://[::1]/", "http://[ccf]/", "https://a..b/", "http://h:0/", "http://h:65536/"]
)
def test_malformed_urls_are_refused_in_any_environment(url: str) -> None:
    with pytest.raises(safety.Unsafe):
        safety.check(url)


def test_a_name_resolving_to_loopback_is_refused(production: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safety, "resolve", lambda host, port: ["93.184.216.34", "127.0.0.1"])
    with pytest.raises(safety.Unsafe, match=r"resolves to 127\.0\.0\.1, a loopback"):
        safety.check("https://hooks.example.com/x")


def test_the_request_goes_to_the_checked_address_with_the_name_as_host_and_sni(
    production: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resolved once: a second answer (a DNS rebinding to 127.0.0.1) is never asked for."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    monkeypatch.setattr(safety, "resolve", lambda host, port: next(answers))
    target = safety.check("https://hooks.example.com:8443/in?x=1")
    assert target.address == "93.184.216.34"
    assert http.route(target) == http.Route(
        connect_host="93.184.216.34",
        port=8443,
        tls_name="hooks.example.com",
        host_header="hooks.example.com:8443",
        path="/in?x=1",
    )


def test_development_allows_loopback_http(settings: Any) -> None:
    settings.WALLET_ENV = "development"
    assert safety.check("http://127.0.0.1:8000/hook").address is None


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["https://127.0.0.1/hook", "https://localhost/x", "http://93.184.216.34/"])
def test_creating_an_endpoint_to_a_refused_address_is_400(production: None, url: str) -> None:
    answer = make_client("alice").post("/webhooks/endpoints", {"url": url}, format="json")
    assert answer.status_code == 400
    assert answer.json()["code"] == "validation_error" and "url" in answer.json()["details"]
    assert not Endpoint.objects.exists()


@pytest.mark.django_db
def test_a_delivery_to_an_address_refused_now_is_a_recorded_attempt(settings: Any) -> None:
    """Saved in development, delivered in production (or a name that now resolves elsewhere)."""
    answer = make_client("alice").post("/webhooks/endpoints", {"url": "http://127.0.0.1:9/x"}, format="json")
    assert answer.status_code == 201
    queued = consumer.queue([consumer.decode(_json(event("alice", uuid.uuid4(), 0)))])  # type: ignore[list-item]
    assert queued == 1
    settings.WALLET_ENV = "production"
    consumer.run_once()
    attempt = Attempt.objects.get()
    assert attempt.status_code is None and attempt.error.startswith("refused: Only https")
    assert Delivery.objects.get().status == "pending"


def _json(payload: dict[str, Any]) -> bytes:
    import json

    return json.dumps(payload).encode()
