"""The security review's claims, shown end to end against the real web server (two workers, each with its
own token cache), the real PostgreSQL and the real Redis:

- a database dump holds no issued token key;
- a `--ttl 3` token is refused after 5 s, although the workers cache tokens for longer;
- `revoke_token` makes a token 401 within the cache time, in every worker;
- 60 bad tokens from one address: 401, past 20 with too_many_failed_authentications and Retry-After,
  while a valid token from it gets 200.

Each test starts its own server on a port of its own against the test database (`transactional_db`:
what the test commits, it sees), with a cache key prefix of its own, so its throttle counters are
its alone.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from common.postgresql.url import database_url
from tests.conftest import web_server

CACHE_SECONDS = 10  # the workers' token cache: longer than the --ttl 3 token lives

pytestmark = pytest.mark.django_db(transaction=True)


class Server:
    def __init__(self, base: str) -> None:
        self.base = base

    def get(self, path: str, key: str | None = None) -> tuple[int, Message, bytes]:
        """Status, headers (looked up case-insensitively: granian sends them lower-case) and body."""
        request = urllib.request.Request(self.base + path)
        if key is not None:
            request.add_header("Authorization", f"Token {key}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def status(self, path: str, key: str | None = None) -> int:
        return self.get(path, key)[0]


@pytest.fixture
def server(transactional_db: Any, tmp_path: Path) -> Iterator[Server]:
    """A server of the test's own: its workers' token caches and its throttle counters start empty."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DB_CONN_MAX_AGE": "0",
        "API_TOKEN_CACHE_SECONDS": str(CACHE_SECONDS),
        "API_AUTH_FAILURE_RATE": "20/min",
        "CACHE_KEY_PREFIX": f"test-security-{uuid.uuid4().hex}",
    }
    with web_server(env, tmp_path / "web.log") as base_url:
        yield Server(base_url)


def issue(*args: str) -> str:
    out = io.StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue().strip()


def test_a_database_dump_holds_no_token_key(server):
    keys = [issue("dump-user"), issue("dump-ops", "--operator"), issue("dump-user", "--ttl", "60")]
    assert all(server.status("/users/dump-user/wallets", key) == 200 for key in keys[::2])
    dump = subprocess.run(
        ["pg_dump", "--dbname", database_url()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert "knox_authtoken" in dump and "wallets_tokenevent" in dump and "dump-ops" in dump
    for key in keys:
        assert key not in dump
        assert key[:15] in dump, "the dump is real: the prefix knox looks tokens up by is there"
    # Nor anything from which a key could be read back more easily than by guessing 256 bits.
    assert key[15:30] not in dump


def test_a_ttl_3_token_is_refused_after_5_seconds_despite_the_cache(server):
    issued = time.monotonic()
    key = issue("short-lived", "--ttl", "3")
    assert {server.status("/users/short-lived/wallets", key) for _ in range(6)} == {200}  # cached now
    time.sleep(max(0.0, issued + 5 - time.monotonic()))
    statuses = [server.get("/users/short-lived/wallets", key) for _ in range(6)]
    assert {status for status, _, _ in statuses} == {401}
    assert json.loads(statuses[0][2])["code"] == "not_authenticated"


def test_revoke_token_stops_a_token_within_the_cache_time(server):
    key = issue("leaker")
    kept = issue("leaker-colleague")
    assert {server.status("/users/leaker/wallets", key) for _ in range(6)} == {200}  # cached in workers
    out = io.StringIO()
    call_command("revoke_token", key, "--by", "incident-42", stdout=out)
    revoked = time.monotonic()
    while server.status("/users/leaker/wallets", key) != 401:  # ~1 a second: stays under the throttle
        assert time.monotonic() - revoked < CACHE_SECONDS + 2, "still accepted past the cache time"
        time.sleep(1)
    time.sleep(max(0.0, revoked + CACHE_SECONDS + 0.5 - time.monotonic()))
    assert {server.status("/users/leaker/wallets", key) for _ in range(6)} == {401}, "in every worker"
    assert server.status("/users/leaker-colleague/wallets", kept) == 200


def test_60_bad_tokens_are_throttled_while_a_valid_token_still_works(server):
    valid = issue("honest", "--operator")
    responses = [server.get("/users/honest/wallets", uuid.uuid4().hex + uuid.uuid4().hex) for _ in range(60)]
    assert [status for status, _, _ in responses] == [401] * 60, "a bad token is a 401, throttled or not"
    codes = [json.loads(body)["code"] for _, _, body in responses]
    assert codes == ["not_authenticated"] * 20 + ["too_many_failed_authentications"] * 40
    _, headers, body = responses[-1]
    assert json.loads(body) == {
        "success": False,
        "error": json.loads(body)["error"],
        "code": "too_many_failed_authentications",
    }
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert server.status("/users/honest/wallets", valid) == 200
    assert server.status("/users/honest/wallets") == 401, "no credentials from there: a plain 401"
