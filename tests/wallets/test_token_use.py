"""A token's last use, against the real database: the first request with a token records it; more
requests within `API_TOKEN_USE_SECONDS` write nothing; after it, the next request writes again;
another process's write within the period changes nothing; the record goes with its token."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken

from common import auth
from tests.conftest import make_client
from wallets import token_use
from wallets.models import TokenUse

PERIOD = 0.5


@pytest.fixture(autouse=True)
def _recorded(settings: Any) -> None:
    settings.API_TOKEN_USE_SECONDS = PERIOD
    token_use.connect()  # WalletsConfig.ready's wiring; connecting twice is one receiver


@pytest.fixture
def alice(db: Any) -> Any:
    return make_client("alice")


def _digest(client: Any) -> str:
    digest: str = AuthToken.objects.get(token_key=client.token_key[:15]).digest
    return digest


def _writes(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if "wallets_tokenuse" in query["sql"]]


def _use(client: Any) -> TokenUse:
    return TokenUse.objects.get(token_id=_digest(client))


def test_a_request_with_a_token_records_its_use(alice):
    assert not TokenUse.objects.exists()
    before = timezone.now()
    assert alice.get("/users/alice/wallets").status_code == 200
    use = _use(alice)
    assert before <= use.last_used_at <= timezone.now()
    assert use.last_used_from == "127.0.0.1"
    assert token_use.last_use_of([_digest(alice), "f" * 128]) == {_digest(alice): use}


def test_requests_within_the_period_write_nothing_then_the_next_one_does(alice):
    assert alice.get("/users/alice/wallets").status_code == 200
    first = _use(alice).last_used_at
    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            assert alice.get("/users/alice/wallets").status_code == 200
    assert _writes(queries) == []
    assert _use(alice).last_used_at == first
    time.sleep(PERIOD + 0.1)
    with CaptureQueriesContext(connection) as queries:
        assert alice.get("/users/alice/wallets").status_code == 200
        assert alice.get("/users/alice/wallets").status_code == 200
    assert len(_writes(queries)) == 1
    assert _use(alice).last_used_at >= first + timedelta(seconds=PERIOD)


def test_another_process_within_the_period_changes_nothing(alice):
    assert alice.get("/users/alice/wallets").status_code == 200
    first = _use(alice).last_used_at
    auth._use_sent.clear()  # what a second web worker remembers: nothing
    with CaptureQueriesContext(connection) as queries:
        assert alice.get("/users/alice/wallets").status_code == 200
    assert len(_writes(queries)) == 1, "the worker sends its upsert"
    assert _use(alice).last_used_at == first, "which leaves a recent row alone"


def test_the_cached_path_records_too(alice):
    """The token cache serves the second request without a lookup; its use is still recorded."""
    assert alice.get("/users/alice/wallets").status_code == 200
    TokenUse.objects.all().delete()
    auth._use_sent.clear()
    with CaptureQueriesContext(connection) as queries:
        assert alice.get("/users/alice/wallets").status_code == 200
    assert not any("knox_authtoken" in sql and "wallets_tokenuse" not in sql for sql in _sqls(queries))
    assert _use(alice).last_used_from == "127.0.0.1"


def _sqls(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries]


def test_each_token_has_its_own_record(alice, db):
    bob = make_client("bob")
    assert alice.get("/users/alice/wallets").status_code == 200
    assert bob.get("/users/bob/wallets").status_code == 200
    uses = token_use.last_use_of([_digest(alice), _digest(bob)])
    assert set(uses) == {_digest(alice), _digest(bob)}
    never = make_client("carol")
    assert token_use.last_use_of([_digest(never)]) == {}
    annotated = token_use.with_last_use(AuthToken.objects.filter(user__username__in=["bob", "carol"]))
    assert {token.user.username: token.last_used_at for token in annotated} == {
        "bob": uses[_digest(bob)].last_used_at,
        "carol": None,
    }


def test_a_revoked_token_takes_its_record_with_it(alice):
    assert alice.get("/users/alice/wallets").status_code == 200
    digest = _digest(alice)
    AuthToken.objects.filter(digest=digest).delete()
    assert not TokenUse.objects.filter(token_id=digest).exists()


def test_a_use_of_a_token_revoked_meanwhile_is_not_recorded_and_fails_nothing(alice):
    digest = _digest(alice)
    AuthToken.objects.filter(digest=digest).delete()
    token_use.record(digest=digest, at=timezone.now(), address="127.0.0.1")
    assert not TokenUse.objects.exists()


def test_an_address_that_is_not_one_is_recorded_as_none(alice):
    token_use.record(digest=_digest(alice), at=timezone.now(), address="not-an-address")
    assert _use(alice).last_used_from is None


def test_a_refused_token_records_nothing(alice):
    alice.credentials(HTTP_AUTHORIZATION=f"Bearer {alice.token_key}")
    assert alice.get("/users/alice/wallets").status_code == 401
    assert not TokenUse.objects.exists()
