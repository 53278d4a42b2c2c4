"""/health and /health/ready in-process, with every dependency up (its details for staff tokens
only); unknown routes get the envelope."""

import json
import statistics
import time

import pytest
from django.test import Client

from history import lag
from kafka_bridge import client as kafka_client
from tests.conftest import make_client
from walletproject import health


def test_health_is_plain_ok(client):
    for path in ("/health", "/health/"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.content == b"OK"
        assert response["Content-Type"].startswith("text/plain")


def test_health_needs_no_database(client, django_db_blocker):
    # Liveness must not touch PostgreSQL: with database access blocked it still answers.
    with django_db_blocker.block():
        assert client.get("/health").status_code == 200


@pytest.fixture
def staff(db):
    """An operator's API client: readiness shows it the details."""
    return make_client("ready-ops", staff=True)


@pytest.mark.django_db
def test_ready_reports_every_dependency_up(staff):
    response = staff.get("/health/ready")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ready"
    assert body["down"] == []
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "up",
        "redis": "up",
        "kafka": "up",
    }
    assert b": " not in response.content, "JSON is rendered compact"


def _redis_down() -> None:
    raise ConnectionError("redis is down")


@pytest.mark.django_db
@pytest.mark.parametrize(("redis_up", "status", "word"), [(True, 200, "ready"), (False, 503, "unavailable")])
def test_ready_shows_its_details_only_to_a_staff_token_with_the_same_status(
    client, staff, monkeypatch, redis_up, status, word
):
    """A load balancer's probe (no credentials) gets the status code and `{"status": ...}` alone;
    so do an end user's token, a bad token and another scheme. An operator's token gets the details."""
    if not redis_up:
        monkeypatch.setitem(health.CHECKS, "redis", _redis_down)
    anonymous = [
        client,
        make_client("ready-user"),
        Client(HTTP_AUTHORIZATION="Token " + "0" * 64),
        Client(HTTP_AUTHORIZATION="Token not-a-token"),
        Client(HTTP_AUTHORIZATION="Basic b3BzOm9wcw=="),
    ]
    for probe in anonymous:
        response = probe.get("/health/ready")
        assert (response.status_code, response.json()) == (status, {"status": word}), response.content
    detailed = staff.get("/health/ready")
    assert detailed.status_code == status
    body = detailed.json()
    assert body["status"] == word
    assert body["down"] == ([] if redis_up else ["redis"])
    assert set(body) >= {"checks", "outbox", "consumer_lag"}


def test_unknown_route_is_a_json_404_envelope(client):
    response = client.get("/no/such/route")
    assert response.status_code == 404
    assert json.loads(response.content) == {
        "success": False,
        "error": "The requested resource was not found.",
        "code": "not_found",
    }


def test_post_to_health_is_rejected(client):
    assert client.post("/health").status_code == 405


@pytest.mark.django_db
def test_ready_answers_fast_and_reports_lag_on_every_call(staff):
    """40 probes with everything up: p95 within 250 ms, the consumer lag in each (issue 9)."""
    staff.get("/health/ready")  # this process's first probe waits for its first lag read
    timings, lags = [], []
    for _ in range(40):
        started = time.perf_counter()
        response = staff.get("/health/ready")
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content
        lags.append(response.json()["consumer_lag"])
    p95 = statistics.quantiles(timings, n=20)[-1]
    assert p95 <= 0.25, f"p95 {p95 * 1000:.0f} ms over 40 probes"
    assert [lag for lag in lags if "error" in lag or "total" not in lag] == []
    assert all(0 <= lag["age_seconds"] < 10 for lag in lags)


def _break_admin_client(settings) -> object:
    """Cache an admin client that cannot work (its broker is a port nobody listens on)."""
    brokers, settings.KAFKA_BROKERS = settings.KAFKA_BROKERS, "127.0.0.1:1"
    kafka_client.discard_admin_client()
    broken = kafka_client.admin_client()
    settings.KAFKA_BROKERS = brokers
    return broken


def test_a_broken_admin_client_is_replaced_and_lag_read_again(settings):
    """An admin client that stopped working, as one that lived through a broker restart does, is
    discarded after a failed read: the next read, and the background reader's retry, use a new one."""
    settings.HEALTH_CHECK_TIMEOUT_SECONDS = 0.5
    try:
        broken = _break_admin_client(settings)
        assert "error" in lag.consumer_lag_summary()
        assert kafka_client.admin_client() is not broken
        assert "total" in lag.consumer_lag_summary()

        _break_admin_client(settings)
        lag._recent.reset()
        deadline = time.monotonic() + 10
        while "total" not in (recent := lag.recent_consumer_lag()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "total" in recent, recent
        assert recent["age_seconds"] < lag.REFRESH_SECONDS
    finally:
        lag._recent.reset()
        kafka_client.discard_admin_client()
