"""Throttles on the real Redis: failed authentications per client address (valid tokens unaffected),
the optional per-end-user rate (never staff), fail-open when Redis is unreachable, admin logins.

Each test has its own cache key prefix (tests/conftest.py) and its own client addresses, so no
counter is shared with another test or another run on the same Redis.
"""

from __future__ import annotations

import copy
import logging
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from common import throttling
from tests.conftest import issue_key
from wallets import services

pytestmark = pytest.mark.django_db

BAD = "Token " + "0" * 64
# A port nothing listens on: the cache client gets "connection refused", as when Redis is down.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def address() -> str:
    """A client address of the test's own (documentation range; only ever a string in REMOTE_ADDR)."""
    n = uuid.uuid4().int
    return f"198.51.{n % 250}.{(n >> 8) % 250 + 1}"


def get(path: str, addr: str, auth: str | None = None, **extra: Any) -> Any:
    client = APIClient()
    if auth is not None:
        extra["HTTP_AUTHORIZATION"] = auth
    return client.get(path, REMOTE_ADDR=addr, **extra)


def assert_throttled(response: Any) -> int:
    """An end user past their request rate: 429 with Retry-After."""
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["success"] is False and body["code"] == "throttled" and body["error"]
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    return retry_after


def assert_failures_throttled(response: Any) -> int:
    """A refused token past the address's limit: still a 401, with its own code and Retry-After."""
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["success"] is False and body["code"] == "too_many_failed_authentications" and body["error"]
    assert response["WWW-Authenticate"] == "Token"
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 60
    return retry_after


@pytest.fixture
def ops_key() -> str:
    return issue_key("ops", staff=True)


@pytest.fixture
def redis_down(settings: Any) -> None:
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = UNREACHABLE_REDIS
    settings.CACHES = caches
    throttling._last_warning = -throttling._WARN_EVERY_SECONDS  # let this test see the warning


def test_failures_past_the_limit_say_so_while_valid_tokens_still_work(ops_key):
    addr = address()
    responses = [get("/wallets/" + str(uuid.uuid4()), addr, BAD) for _ in range(60)]
    assert {r.status_code for r in responses} == {401}, "a bad token is a 401, throttled or not"
    codes = [r.json()["code"] for r in responses]
    assert codes == ["not_authenticated"] * 20 + ["too_many_failed_authentications"] * 40
    assert all("Retry-After" not in r for r in responses[:20])
    assert_failures_throttled(get("/users/ops/wallets", addr, BAD))
    # The same address with a valid token: served.
    response = get("/users/ops/wallets", addr, f"Token {ops_key}")
    assert response.status_code == 200, response.content
    # No credentials at all from that address: a plain 401, nothing to count or to slow down.
    bare = get("/users/ops/wallets", addr)
    assert bare.status_code == 401 and bare.json()["code"] == "not_authenticated"
    assert "Retry-After" not in bare
    # Another address is not affected.
    assert get("/users/ops/wallets", address(), BAD).status_code == 401


def test_requests_without_credentials_are_not_counted():
    addr = address()
    assert {get("/users/ops/wallets", addr).status_code for _ in range(30)} == {401}
    assert get("/users/ops/wallets", addr, BAD).status_code == 401


def test_the_counters_are_in_redis_shared_by_every_worker(settings):
    settings.API_AUTH_FAILURE_RATE = "3/min"
    addr = address()
    for _ in range(3):
        get("/health/ready", addr)  # public: never counted
        assert get("/metrics", addr, BAD).status_code == 401
    key = throttling.AuthFailureThrottle.cache_format % {"scope": "auth_failure", "ident": addr}
    assert len(cache.get(key)) == 3, "one timestamp per failure, in Django's Redis cache"
    retry_after = assert_failures_throttled(get("/metrics", addr, BAD))
    # The window slides: once the oldest failure is older than a minute, one more is allowed.
    cache.set(key, [t - 61 for t in cache.get(key)], 60)
    assert get("/metrics", addr, BAD).status_code == 401
    assert retry_after >= 59


def test_the_limit_is_a_setting_and_empty_turns_it_off(settings):
    settings.API_AUTH_FAILURE_RATE = None
    addr = address()
    assert {get("/users/ops/wallets", addr, BAD).status_code for _ in range(25)} == {401}


def test_trusted_proxies_name_the_client_from_x_forwarded_for(settings):
    settings.API_AUTH_FAILURE_RATE = "2/min"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy, guesser, bystander = address(), address(), address()
    for _ in range(2):
        get("/users/ops/wallets", proxy, BAD, HTTP_X_FORWARDED_FOR=guesser)
    assert_failures_throttled(get("/users/ops/wallets", proxy, BAD, HTTP_X_FORWARDED_FOR=guesser))
    # Another client behind the same proxy is not throttled.
    assert get("/users/ops/wallets", proxy, BAD, HTTP_X_FORWARDED_FOR=bystander).status_code == 401


def test_redis_down_valid_tokens_work_and_throttling_fails_open(redis_down, ops_key, caplog):
    addr = address()
    with caplog.at_level(logging.WARNING, logger="common.throttling"):
        assert get("/users/ops/wallets", addr, f"Token {ops_key}").status_code == 200
        statuses = {get("/users/ops/wallets", addr, BAD).status_code for _ in range(25)}
    assert statuses == {401}, "no store, no throttle: refused as unauthenticated, never 500"
    warnings = [r for r in caplog.records if "throttle store (Redis) unavailable" in r.getMessage()]
    assert len(warnings) == 1, "logged, once a minute at most"


def test_redis_down_money_still_moves(redis_down, settings, ops_key):
    """Redis down, per-user limits on: fund (staff) and transfers (an end user, past the rate that
    would apply) all go through."""
    settings.API_USER_RATE = "2/min"
    alice_wallet = services.wallet_create(user_id="alice", currency=None)
    bob_wallet = services.wallet_create(user_id="bob", currency=None)
    ops, alice = APIClient(), APIClient()
    ops.credentials(HTTP_AUTHORIZATION=f"Token {ops_key}")
    alice.credentials(HTTP_AUTHORIZATION=f"Token {issue_key('alice')}")
    funded = ops.post(f"/wallets/{alice_wallet.id}/fund", {"amount": "5.00"}, format="json")
    assert funded.status_code == 200, funded.content
    for _ in range(4):
        sent = alice.post(
            f"/wallets/{alice_wallet.id}/transfer",
            {"to_wallet_id": str(bob_wallet.id), "amount": "1.00"},
            format="json",
        )
        assert sent.status_code == 200, sent.content
    bob_wallet.refresh_from_db()
    assert bob_wallet.balance == 4


def test_per_user_rate_is_off_by_default(settings):
    assert settings.API_USER_RATE is None
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_key('alice')}")
    assert {client.get("/users/alice/wallets").status_code for _ in range(30)} == {200}


def test_per_user_rate_limits_end_users_but_never_staff(settings, ops_key):
    settings.API_USER_RATE = "3/min"
    alice, alice_again, bob, ops = APIClient(), APIClient(), APIClient(), APIClient()
    alice_key = issue_key("alice")
    alice.credentials(HTTP_AUTHORIZATION=f"Token {alice_key}")
    alice_again.credentials(HTTP_AUTHORIZATION=f"Token {issue_key('alice')}")
    bob.credentials(HTTP_AUTHORIZATION=f"Token {issue_key('bob')}")
    ops.credentials(HTTP_AUTHORIZATION=f"Token {ops_key}")
    assert [alice.get("/users/alice/wallets").status_code for _ in range(3)] == [200] * 3
    assert_throttled(alice.get("/users/alice/wallets"))
    assert_throttled(alice_again.get("/users/alice/wallets"))  # per user, not per token
    assert bob.get("/users/bob/wallets").status_code == 200
    assert {ops.get("/users/alice/wallets").status_code for _ in range(10)} == {200}


# --- the admin login (django-axes) -----------------------------------------------------------------


@pytest.fixture
def operators() -> dict[str, str]:
    passwords = {"opsadmin": "correct horse battery staple", "other-admin": "another long passphrase"}
    for name, password in passwords.items():
        user = get_user_model().objects.create(username=name, is_staff=True)
        user.set_password(password)
        user.save()
    return passwords


def login(client: Any, username: str, password: str, addr: str) -> Any:
    return client.post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=addr
    )


def test_admin_login_locks_a_username_from_one_address_only(client, settings, operators):
    settings.AXES_FAILURE_LIMIT = 3
    guesser = address()
    assert [login(client, "opsadmin", "wrong", guesser).status_code for _ in range(3)] == [200, 200, 429]
    locked = login(client, "opsadmin", operators["opsadmin"], guesser)
    assert locked.status_code == 429, "even the right password, from there, for now"
    # The same operator from their own address, and another operator from the guesser's: not locked.
    assert login(client, "opsadmin", operators["opsadmin"], address()).status_code == 302
    client.logout()
    assert login(client, "other-admin", operators["other-admin"], guesser).status_code == 302


def test_browsable_api_login_is_covered_too(client, settings, operators):
    settings.AXES_FAILURE_LIMIT = 2
    addr = address()
    for _ in range(2):
        client.post("/api-auth/login/", {"username": "opsadmin", "password": "x"}, REMOTE_ADDR=addr)
    response = client.post(
        "/api-auth/login/", {"username": "opsadmin", "password": operators["opsadmin"]}, REMOTE_ADDR=addr
    )
    assert response.status_code == 429
