"""The API docs are served by the app itself: Swagger UI (/api/docs/) and Redoc (/api/redoc/) from
drf-spectacular-sidecar's static files, collected and served by the web server (whitenoise under
granian), with no request to any other host (the `page` fixture fails a test whose page made one,
or whose request failed)."""

from __future__ import annotations

import re
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from playwright.sync_api import expect

from tests.conftest import ROOT

pytestmark = pytest.mark.browser

# Every operation of the document the project publishes (clients/openapi.yaml, which
# tests/test_client.py keeps equal to the live schema), /metrics apart (a text page, not JSON).
OPERATIONS = [
    (method, path)
    for path, item in yaml.safe_load((ROOT / "clients" / "openapi.yaml").read_text())["paths"].items()
    for method in item
    if path != "/metrics"
]


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value:
                self.urls.append(value)


def with_path(path: str) -> str:
    """Swagger UI's element naming an operation's path (the schema may write it with a final /)."""
    return f'[data-path="{path}"], [data-path="{path}/"]'


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_html_references_only_the_apps_own_assets_and_each_is_served(server, path):
    status, body = get(server.base + path)
    assert status == 200
    html = body.decode()
    references = _References()
    references.feed(html)
    assets = [urljoin(server.base + path, url) for url in references.urls]
    assert assets, "the page loads nothing?"
    for asset in assets:
        assert urlsplit(asset).netloc == urlsplit(server.base).netloc, f"{asset} is on another host"
        assert "/static/drf_spectacular_sidecar/" in asset, f"{asset} is not the sidecar's"
        asset_status, asset_body = get(asset)
        source = finders.find(urlsplit(asset).path.removeprefix(settings.STATIC_URL))
        assert asset_status == 200 and source is not None, asset
        assert asset_body == Path(source).read_bytes(), f"{asset} is not served as the sidecar ships it"
    # Nor does any inline script or style name another host.
    assert re.findall(r"https?://[^\s\"'<>]+", html) == []


def test_swagger_ui_renders_every_operation(page, traffic):
    page.goto("/api/docs/")
    for method, path in OPERATIONS:
        operation = page.locator(f".opblock-{method}", has=page.locator(with_path(path)))
        expect(operation).to_have_count(1)
    # Swagger UI fetched the schema and its own assets from the app.
    assert any(url.endswith("/api/schema/") for url in traffic.requests)
    assert any(url.endswith("/swagger-ui-dist/swagger-ui-bundle.js") for url in traffic.requests)

    # An operation opens and shows its request body.
    transfer = page.locator(".opblock-post", has=page.locator(with_path("/wallets/{wallet_id}/transfer")))
    transfer.locator(".opblock-summary").first.click()
    expect(page.locator(".opblock.is-open")).to_contain_text("to_wallet_id")


REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def test_redoc_renders_every_operation(page, server, traffic):
    page.goto("/api/redoc/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Wallet API")
    operations = page.locator("[data-section-id^='operation/']")
    expect(operations).to_have_count(len(OPERATIONS) + 1)  # and /metrics
    for path in {path for _, path in OPERATIONS}:
        endpoint = page.get_by_text(re.compile(rf"^{re.escape(server.base + path)}/?$"))
        expect(endpoint).to_have_count(sum(1 for _, other in OPERATIONS if other == path))  # one per method
    assert any(url.endswith("/redoc/bundles/redoc.standalone.js") for url in traffic.requests)
    # Redoc's sidebar asks for its logo from its own host: the page's policy refuses it in the
    # browser, so it is never sent (and Redoc shows no logo).
    assert traffic.blocked == [REDOC_LOGO]
    traffic.expected_blocked.add(REDOC_LOGO)
