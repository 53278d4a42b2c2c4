"""Real-browser tests: Playwright for Python drives Debian's chromium against the real web server (granian).

Why a web server of the tests' own, and neither `scripts/stack start web` nor pytest-django's
`live_server`: it is the server the stack runs (granian via walletproject.serve, whitenoise serving what
`collectstatic` collected, so a docs asset missing from the collection fails here), on a free port
and on the pytest database (`DATABASE_URL`), so each test sets up its data through the ORM and the
services, leaves nothing in the live `wallet` database, and runs the code of this checkout even when
the stack's web server was started from older code. `live_server` would serve static files from
the apps' folders (not the collected ones) in a thread of this process.

The tests use `transactional_db`: their rows are committed, so the web server sees them, and emptied after
each test. A web worker caches a currency's system account id, which does not survive that
emptying: fund and withdraw through the browser in one test only, or in the test process.

Playwright's own browser download cannot work here: chromium is Debian's (`scripts/stack setup`
installs it), launched headless through `executable_path`. Playwright's sync API runs an asyncio
loop in this thread while it is started, which Django's ORM takes for an async context; the
browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for as long as the browser runs (the ORM calls here are
plain synchronous ones between page actions). A failed test leaves a screenshot and the page's HTML
in `.stack/browser-artifacts/` (git-ignored), with the web server's log; BROWSER_SCREENSHOTS=all keeps
them for every test, to look at the pages.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from common.postgresql.url import database_url
from tests.conftest import ROOT, web_server

ARTIFACTS = ROOT / ".stack" / "browser-artifacts"
PASSWORD = "browser-test-password-1"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)  # read by the `page` fixture for screenshots
    return report


@dataclass
class Server:
    base: str
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="package")
def server(django_db_setup: Any) -> Iterator[Server]:
    """The web server as the stack runs it, on the pytest database, with freshly collected static files."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in [*ARTIFACTS.glob("*.png"), *ARTIFACTS.glob("*.html")]:  # a previous run's failures
        old.unlink()
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "walletproject.settings",
        "DATABASE_URL": database_url(),
        "DB_CONN_MAX_AGE": "0",  # no connection left open on the test database when it is dropped
        "API_TOKEN_CACHE_SECONDS": "0",
    }
    # What `scripts/stack up` does before the web server starts (app_setup).
    call_command("collectstatic", "--noinput", verbosity=0)
    log = ARTIFACTS / "web.log"
    log.write_bytes(b"")
    with web_server(env, log) as base_url:
        yield Server(base_url, log)


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, for the browser tests of this package."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "chromium is missing: `make setup` installs it "
            "(apt-get install -y --no-install-recommends chromium)"
        )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, headless=True)
            try:
                yield browser
            finally:
                browser.close()


@dataclass
class Traffic:
    """Every request a page made: none may go to another host, none may fail. A request the page's
    own Content-Security-Policy refused never left the browser: it is listed in `blocked`, and
    allowed only where the test expects it (`expected_blocked`)."""

    origin: str
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    expected_blocked: set[str] = field(default_factory=set)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    def on_request(self, request: Any) -> None:
        self.requests.append(request.url)

    def on_failed(self, request: Any) -> None:
        if request.failure == "csp":
            self.blocked.append(request.url)
        elif request.failure == "net::ERR_ABORTED" and request.resource_type != "document":
            # The browser cancelled it: the test navigated on while the page still fetched (an
            # icon its stylesheet names). Not an answer of the server's; a missing asset is a 404,
            # seen by on_response, and a request to another host is in `foreign` whatever came of it.
            self.cancelled.append(request.url)
        else:
            self.failed.append(f"{request.method} {request.url}: {request.failure}")

    def on_response(self, response: Any) -> None:
        # A page (a navigation) may answer an error on purpose (e.g. 405 for GET on a POST-only
        # endpoint, 400 for a refused form); what it loads must not.
        if response.status >= 400 and response.request.resource_type != "document":
            self.failed.append(f"{response.request.method} {response.url}: {response.status}")

    @property
    def foreign(self) -> list[str]:
        """Requests sent to another host (data: and blob: URLs are the page's own)."""
        sent = [url for url in self.requests if url not in self.blocked]
        return [
            url
            for url in sent
            if (parts := urlsplit(url)).scheme in {"http", "https", "ws", "wss"}
            and f"{parts.scheme}://{parts.netloc}" != self.origin
        ]


@pytest.fixture
def traffic(server: Server) -> Traffic:
    return Traffic(server.base)


@pytest.fixture
def page(request: pytest.FixtureRequest, chromium: Any, server: Server, traffic: Traffic) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page; after the test, no request may have gone to
    another host or failed. A failed test leaves a screenshot and the page's HTML."""
    context = chromium.new_context(base_url=server.base)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.on("request", traffic.on_request)
    page.on("requestfailed", traffic.on_failed)
    page.on("response", traffic.on_response)
    try:
        yield page
        report = getattr(request.node, "report_call", None)
        if report is not None and report.passed:
            assert traffic.foreign == [], f"requests to other hosts: {traffic.foreign}"
            assert traffic.failed == [], f"failed requests: {traffic.failed}"
            unexpected = [url for url in traffic.blocked if url not in traffic.expected_blocked]
            assert unexpected == [], f"requests refused by the page's policy: {unexpected}"
    finally:
        report = getattr(request.node, "report_call", None)
        if report is None or report.failed or os.environ.get("BROWSER_SCREENSHOTS") == "all":
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
            try:
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                (ARTIFACTS / f"{name}.html").write_text(page.content())
            except Exception as exc:  # the page may be gone; the test's own failure says more
                print(f"no screenshot of {name}: {exc}")
        context.close()


@pytest.fixture
def operator(transactional_db: Any) -> Any:
    """A staff user in the `operators` group (as `issue_token --operator` makes one) with a password."""
    call_command("issue_token", "browserops", "--operator", stdout=open(os.devnull, "w"))  # noqa: SIM115
    user = get_user_model().objects.get(username="browserops")
    user.set_password(PASSWORD)
    user.save()
    return user


def log_in(page: Any, path: str, username: str = "browserops") -> None:
    """Log in through a login form (the admin's or the browsable API's) at `path`."""
    page.goto(path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
