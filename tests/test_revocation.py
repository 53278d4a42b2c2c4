"""Revocation takes effect on the next request, in every web worker, although workers cache tokens.

- the auth generation counter (common/auth_generation.py) is one value for every process that maps
  its file, and concurrent bumps are not lost;
- in this process: each way of taking access away (a token deleted, a user deactivated or demoted,
  a group or permission removed or deleted) reloads the cached token and user on the next call,
  while a cached call makes no query;
- through a real web server of 4 workers (granian, `walletproject.serve`) on the test database:
  after every worker has cached a token, revoking it, deactivating its user, removing is_staff or
  the approver role makes every one of the next requests (which reach all 4 workers) refused.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import exceptions

from common import auth_generation
from common.auth import CachedTokenAuthentication
from common.postgresql.url import database_url
from tests.conftest import ROOT, issue_key, web_server
from wallets.tokens import tokens_of_key, tokens_revoke

WORKERS = 4
APPROVER_PERMISSION = ("approvals", "approve_adjustment")


@pytest.fixture
def generation_file(settings: Any, tmp_path: Path) -> Path:
    """A counter of the test's own, so its bumps reach no other server on this machine."""
    settings.AUTH_GENERATION_FILE = tmp_path / "auth-generation"
    return Path(settings.AUTH_GENERATION_FILE)


# --- the counter ----------------------------------------------------------------------------------


def _in_another_process(path: Path, code: str) -> str:
    """Run `code` (with auth_generation imported) in a new interpreter that maps `path`."""
    result = subprocess.run(
        [sys.executable, "-c", f"from common import auth_generation\n{code}"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "walletproject.settings",
            "AUTH_GENERATION_FILE": str(path),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_two_mappings_of_one_file_see_each_others_bumps(generation_file):
    assert not generation_file.exists()
    assert auth_generation.current() == 0, "created on first use, with its folder, at zero"
    auth_generation.bump()
    assert auth_generation.current() == 1
    seen = _in_another_process(
        generation_file,
        "print(auth_generation.current()); auth_generation.bump(); auth_generation.bump()",
    )
    assert seen == "1", "the other process's mapping sees this one's bump"
    assert auth_generation.current() == 3, "and this one sees the other's, with no reopening"


def test_concurrent_bumps_are_not_lost(generation_file):
    auth_generation.current()  # the file exists before the processes race for it
    code = "for _ in range(500): auth_generation.bump()"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "walletproject.settings"}
    env["AUTH_GENERATION_FILE"] = str(generation_file)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", f"from common import auth_generation\n{code}"], cwd=ROOT, env=env
        )
        for _ in range(4)
    ]
    assert [process.wait(timeout=60) for process in processes] == [0] * 4
    assert auth_generation.current() == 4 * 500


@pytest.mark.django_db
def test_without_a_counter_file_nothing_is_cached(settings):
    settings.AUTH_GENERATION_FILE = "/proc/no-such-folder/auth-generation"  # cannot be created
    key = issue_key("uncached").encode()
    auth = CachedTokenAuthentication()
    with CaptureQueriesContext(connection) as first:
        auth.authenticate_credentials(key)
    with CaptureQueriesContext(connection) as second:
        auth.authenticate_credentials(key)
    assert auth_generation.current() is None
    assert len(second) == len(first) > 0, "every call looks the token up"


# --- in this process: every way access is taken away reloads the cache ----------------------------


def _user(username: str, **fields: Any) -> Any:
    user, _ = get_user_model().objects.get_or_create(username=username, defaults=fields)
    return user


def _approver_permission() -> Permission:
    app_label, codename = APPROVER_PERMISSION
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def _approvers_group(user: Any) -> Group:
    group = Group.objects.create(name=f"approvers-{uuid.uuid4().hex[:8]}")
    group.permissions.add(_approver_permission())
    user.groups.add(group)
    return group


def _may_approve(user: Any) -> bool:
    return bool(user.has_perm(".".join(APPROVER_PERMISSION)))


def _revoke_token(key: str, user: Any) -> None:
    tokens_revoke(tokens=tokens_of_key(key), actor="tests", via="tests")


def _delete_token_rows(key: str, user: Any) -> None:  # the admin's delete, or the ORM's
    tokens_of_key(key).get().delete()


def _deactivate(key: str, user: Any) -> None:
    user.is_active = False
    user.save()


def _remove_staff(key: str, user: Any) -> None:
    fresh = get_user_model().objects.get(pk=user.pk)  # as the admin would: another copy of the row
    fresh.is_staff = False
    fresh.save(update_fields=["is_staff"])


def _leave_group(key: str, user: Any) -> None:
    user.groups.clear()


def _group_loses_permission(key: str, user: Any) -> None:
    user.groups.get().permissions.remove(_approver_permission())


def _delete_group(key: str, user: Any) -> None:
    user.groups.get().delete()


def _lose_own_permission(key: str, user: Any) -> None:
    user.user_permissions.remove(_approver_permission())


def _delete_user(key: str, user: Any) -> None:
    user.delete()


def _delete_permission(key: str, user: Any) -> None:
    _approver_permission().delete()


def _refused(auth: CachedTokenAuthentication, key: str) -> bool:
    with pytest.raises(exceptions.AuthenticationFailed):
        auth.authenticate_credentials(key.encode())
    return True


def _not_staff(auth: CachedTokenAuthentication, key: str) -> bool:
    return not auth.authenticate_credentials(key.encode())[0].is_staff


def _no_approver(auth: CachedTokenAuthentication, key: str) -> bool:
    return not _may_approve(auth.authenticate_credentials(key.encode())[0])


# name: (take access away, what the next call sees, whether the user holds the permission through a group)
CHANGES: dict[
    str, tuple[Callable[[str, Any], None], Callable[[CachedTokenAuthentication, str], bool], bool]
] = {
    "token revoked": (_revoke_token, _refused, True),
    "token row deleted": (_delete_token_rows, _refused, True),
    "user deactivated": (_deactivate, _refused, True),
    "staff removed": (_remove_staff, _not_staff, True),
    "user leaves the group": (_leave_group, _no_approver, True),
    "group loses the permission": (_group_loses_permission, _no_approver, True),
    "group deleted": (_delete_group, _no_approver, True),
    "user loses the permission": (_lose_own_permission, _no_approver, False),
    "user deleted": (_delete_user, _refused, True),
    "permission deleted": (_delete_permission, _no_approver, False),
}


@pytest.mark.parametrize("name", list(CHANGES))
@pytest.mark.django_db
def test_each_change_reloads_the_cached_token_on_the_next_call(
    name, generation_file, django_assert_num_queries, django_capture_on_commit_callbacks
):
    change, seen, through_group = CHANGES[name]
    user = _user(f"op-{uuid.uuid4().hex[:8]}", is_staff=True)
    if through_group:
        _approvers_group(user)
    else:
        user.user_permissions.add(_approver_permission())
    key = issue_key(user.username)
    auth = CachedTokenAuthentication()
    cached_user, _ = auth.authenticate_credentials(key.encode())
    assert cached_user.is_staff and _may_approve(cached_user)  # fills its permission cache too
    with django_assert_num_queries(0):
        assert auth.authenticate_credentials(key.encode())[0] is cached_user
    before = auth_generation.current()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        change(key, user)
        assert auth_generation.current() == before, "not before the commit"
    assert callbacks, "the change bumps the generation once it commits"
    assert auth_generation.current() != before
    assert seen(auth, key)


@pytest.mark.django_db
def test_a_login_or_a_new_user_keeps_the_cache(generation_file, django_capture_on_commit_callbacks):
    user = _user("keeps-cache")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        user.save(update_fields=["last_login"])
        _user("brand-new-user")
        issue_key("brand-new-user")
    assert callbacks == []


# --- through a real web server of 4 workers ------------------------------------------------------


class Server:
    """The test's own web server; each request on a new connection, answered by the worker the
    kernel hands it to, which `call` reads back from /proc (who holds the accepted socket)."""

    def __init__(self, base_url: str) -> None:
        self.port = int(base_url.rsplit(":", 1)[1])
        # /health answers once one worker is up: wait for all of them (each listens on a socket of
        # its own), which a loaded machine may take seconds to start.
        deadline = time.monotonic() + 60
        while len(listeners := self._listeners()) < WORKERS:
            assert time.monotonic() < deadline, f"{len(listeners)} of {WORKERS} workers listen"
            time.sleep(0.1)
        self.listeners = listeners

    def _listeners(self) -> set[int]:
        return self._pids_holding(self._inodes(listening=True), _all_pids())

    def call(self, method: str, path: str, key: str, body: Any = None) -> tuple[int, int]:
        """(status, pid of the worker that answered)."""
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            # The worker is read once it has accepted the connection, before the request: after a
            # refusal that left the body unread, the server may close the connection at once.
            client.connect()
            assert client.sock is not None
            worker = self._accepted_by(client.sock.getsockname()[1])
            headers = {"Authorization": f"Token {key}"}
            data = None
            if body is not None:
                headers["Content-Type"] = "application/json"
                data = json.dumps(body)
            client.request(method, path, body=data, headers=headers)
            response = client.getresponse()
            response.read()
            return response.status, worker
        finally:
            client.close()

    def _accepted_by(self, client_port: int) -> int:
        deadline = time.monotonic() + 30
        while True:
            workers = self._pids_holding(self._inodes(client_port=client_port), self.listeners)
            if len(workers) == 1:
                return workers.pop()
            assert time.monotonic() < deadline, f"no worker of {self.listeners} accepted port {client_port}"
            time.sleep(0.001)

    def _inodes(self, *, listening: bool = False, client_port: int | None = None) -> set[str]:
        """Socket inodes on the server's port: listening ones, or the one accepted from client_port."""
        inodes = set()
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].split(":")[1], 16)
            remote_port = int(fields[2].split(":")[1], 16)
            if local_port != self.port:
                continue
            if (listening and fields[3] == "0A") or (client_port is not None and remote_port == client_port):
                inodes.add(fields[9])
        return inodes

    @staticmethod
    def _pids_holding(inodes: set[str], pids: set[int]) -> set[int]:
        wanted = {f"socket:[{inode}]" for inode in inodes}
        holders = set()
        for pid in pids:
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
                if any(os.readlink(f"/proc/{pid}/fd/{fd}") in wanted for fd in fds):
                    holders.add(pid)
            except OSError:  # gone, or an fd closed while we looked
                continue
        return holders


def _all_pids() -> set[int]:
    return {int(name) for name in os.listdir("/proc") if name.isdigit()}


@pytest.fixture(scope="module")
def server_counter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("revocation") / "auth-generation"


@pytest.fixture(scope="module")
def server(
    django_db_setup: Any, server_counter: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """4 workers on the test database, each caching tokens for 10 minutes: only the generation
    can end an entry within this test. Failed authentications are not throttled (every one counts)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DB_CONN_MAX_AGE": "0",
        "API_TOKEN_CACHE_SECONDS": "600",
        "API_AUTH_FAILURE_RATE": "",
        "AUTH_GENERATION_FILE": str(server_counter),
        "CACHE_KEY_PREFIX": f"test-revocation-{uuid.uuid4().hex}",
    }
    with web_server(env, tmp_path_factory.mktemp("revocation-log") / "web.log", workers=WORKERS) as base_url:
        yield Server(base_url)


@pytest.fixture
def shared_counter(settings: Any, server_counter: Path) -> None:
    """This process bumps the counter the server's workers read."""
    settings.AUTH_GENERATION_FILE = server_counter


def _quiet(command: str, *args: str) -> None:
    call_command(command, *args, stdout=io.StringIO())


def _approver(username: str) -> str:
    key = issue_key(username, staff=True)
    _quiet("grant_approver", username)
    return key


def _rounds(
    server: Server, request: Callable[[], tuple[int, int]], *, per_worker: int
) -> list[tuple[int, int]]:
    """Requests until every worker has answered `per_worker` of them (at most 400)."""
    answers: list[tuple[int, int]] = []
    while len(answers) < 400:
        answers.append(request())
        served = Counter(worker for _, worker in answers)
        if len(served) == WORKERS and min(served.values()) >= per_worker:
            break
    assert len({worker for _, worker in answers}) == WORKERS, "the requests reached every worker"
    return answers


@dataclass(frozen=True)
class Revocation:
    key: Callable[[], str]  # a new key (and its user)
    request: tuple[str, str, Any]  # what the key asks: method, path, JSON body
    allowed: int  # the status before
    take_away: Callable[[str], None]
    refused: int  # the status after, from every worker


def _deactivate_by_name(username: str) -> None:
    user = get_user_model().objects.get(username=username)
    user.is_active = False
    user.save()


def _demote(username: str) -> None:
    user = get_user_model().objects.get(username=username)
    user.is_staff = False
    user.save()


def _approvers_group_loses_permission() -> None:
    Group.objects.get(name="approvers").permissions.remove(_approver_permission())


DECIDE = ("POST", f"/approvals/{uuid.uuid4()}/reject", {"reason": "probe"})  # an approver: 404, none such

REVOCATIONS = {
    "token revoked": Revocation(
        lambda: issue_key("leaker"),
        ("GET", "/users/leaker/wallets", None),
        200,
        lambda key: _quiet("revoke_token", key, "--by", "incident-30"),
        401,
    ),
    "user deactivated": Revocation(
        lambda: issue_key("leaver"),
        ("GET", "/users/leaver/wallets", None),
        200,
        lambda key: _deactivate_by_name("leaver"),
        401,
    ),
    "staff removed": Revocation(
        lambda: issue_key("demoted-operator", staff=True),
        ("GET", "/users/some-customer/wallets", None),
        200,
        lambda key: _demote("demoted-operator"),
        403,
    ),
    "approver role removed": Revocation(
        lambda: _approver("former-approver"),
        DECIDE,
        404,
        lambda key: _quiet("grant_approver", "former-approver", "--revoke"),
        403,
    ),
    "approvers group loses the permission": Revocation(
        lambda: _approver("group-approver"),
        DECIDE,
        404,
        lambda key: _approvers_group_loses_permission(),
        403,
    ),
}


@pytest.mark.parametrize("name", list(REVOCATIONS))
@pytest.mark.django_db(transaction=True)
def test_every_worker_refuses_on_the_next_request(name, server, shared_counter):
    revocation = REVOCATIONS[name]
    key = revocation.key()
    bystander = f"bystander-{uuid.uuid4().hex[:8]}"
    other = issue_key(bystander)

    def ask() -> tuple[int, int]:
        return server.call(*revocation.request[:2], key, revocation.request[2])

    warm = _rounds(server, ask, per_worker=3)
    assert {status for status, _ in warm} == {revocation.allowed}, "cached in every worker now"

    revocation.take_away(key)

    after = _rounds(server, ask, per_worker=10)
    assert len(after) >= 40
    statuses = Counter(status for status, _ in after)
    assert statuses == {revocation.refused: len(after)}, f"{name}: every next request, in every worker"
    assert {server.call("GET", f"/users/{bystander}/wallets", other)[0] for _ in range(8)} == {200}
