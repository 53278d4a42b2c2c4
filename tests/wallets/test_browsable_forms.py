"""The browsable API's HTML forms: rendered from the input serializers, postable as a form by a
logged-in browser with its CSRF token, and by nobody else; amounts stay exact decimals.

(The same forms driven by a real browser: tests/browser/test_api_forms.py.)
"""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.test import Client

from wallets.models import LedgerTransaction, Wallet

pytestmark = pytest.mark.django_db

HTML = {"HTTP_ACCEPT": "text/html"}


@pytest.fixture
def browser():
    """A logged-in operator's browser session; Django checks its CSRF token, as a browser's."""
    user = get_user_model().objects.create_user("formops", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def csrf_token(client: Client, path: str) -> str:
    page = client.get(path, **HTML)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/wallets", ['name="user_id"', '<select class="form-control" name="currency"']),
        ("/wallets/{id}/fund", ['name="amount"']),
        ("/wallets/{id}/withdraw", ['name="amount"']),
        ("/wallets/{id}/transfer", ['name="to_wallet_id"', 'name="amount"']),
    ],
)
def test_each_money_endpoint_offers_an_html_form(browser, make_wallet, path, fields):
    wallet = make_wallet("formuser")
    html = browser.get(path.format(id=wallet.id), **HTML).content.decode()
    form = html.split('id="post-object-form"', 1)[1].split("</form>", 1)[0]
    assert 'enctype="multipart/form-data"' in form
    for field in fields:
        assert field in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert "Django REST framework" not in html  # branded, and links nowhere but the app
    assert "https://" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/', "")


def test_logged_out_pages_show_the_login_link(client, make_wallet):
    wallet = make_wallet("formuser")
    html = client.get(f"/wallets/{wallet.id}/transfer", **HTML).content.decode()
    assert f"href='/api-auth/login/?next=/wallets/{wallet.id}/transfer'>Log in</a>" in html


def test_a_form_transfer_moves_exact_amounts(browser, make_wallet):
    alice, bob = make_wallet("formalice", "100.00"), make_wallet("formbob")
    path = f"/wallets/{alice.id}/transfer"
    token = csrf_token(browser, path)
    response = browser.post(
        path, {"csrfmiddlewaretoken": token, "to_wallet_id": str(bob.id), "amount": "12.3456"}, **HTML
    )
    assert response.status_code == 200, response.content
    assert "TRANSFER_OUT" in response.content.decode()
    alice.refresh_from_db()
    bob.refresh_from_db()
    assert (alice.balance, bob.balance) == (Decimal("87.6544"), Decimal("12.3456"))


def test_form_fields_are_text_and_go_through_the_amount_rules(browser, make_wallet):
    wallet = make_wallet("formcarol", "10")
    path = f"/wallets/{wallet.id}/withdraw"
    token = csrf_token(browser, path)
    for amount in ("1e1", "0.00001", "-1", " 1", "NaN", ""):
        response = browser.post(path, {"csrfmiddlewaretoken": token, "amount": amount})
        assert response.status_code == 400, amount
        assert response.json()["code"] == "invalid_amount", amount
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("10")
    response = browser.post(
        path,
        "amount=0.1&csrfmiddlewaretoken=" + token,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content
    assert response.json()["data"]["balance"] == "9.9000"


def test_a_form_without_the_csrf_token_is_refused(browser, make_wallet):
    alice, bob = make_wallet("formalice", "100.00"), make_wallet("formbob")
    response = browser.post(f"/wallets/{alice.id}/transfer", {"to_wallet_id": str(bob.id), "amount": "1"})
    assert response.status_code == 403, response.content
    assert not LedgerTransaction.objects.filter(kind="TRANSFER").exists()


@pytest.mark.parametrize("form_format", ["multipart", "urlencoded"])
def test_token_clients_still_must_send_json(operator, make_wallet, form_format):
    wallet = make_wallet("formdave")
    if form_format == "multipart":
        response = operator.post(f"/wallets/{wallet.id}/fund", {"amount": "5"}, format="multipart")
    else:
        response = operator.post(
            f"/wallets/{wallet.id}/fund", "amount=5", content_type="application/x-www-form-urlencoded"
        )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    wallet.refresh_from_db()
    assert wallet.balance == 0


def test_a_session_may_still_post_json(browser, make_wallet):
    path = "/wallets"
    token = csrf_token(browser, path)
    response = browser.post(
        path,
        {"user_id": "formerin", "currency": "EUR"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 201, response.content
    assert Wallet.objects.get(user_id="formerin").currency == "EUR"


def test_a_multipart_form_with_an_idempotency_key_is_replayed(browser, make_wallet):
    wallet = make_wallet("formfrank")
    path = f"/wallets/{wallet.id}/fund"
    token = csrf_token(browser, path)
    body = {"csrfmiddlewaretoken": token, "amount": "7.25"}
    first = browser.post(path, body, HTTP_IDEMPOTENCY_KEY="form-fund-1")
    again = browser.post(path, body, HTTP_IDEMPOTENCY_KEY="form-fund-1")
    assert first.status_code == again.status_code == 200, first.content
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("7.25")


def test_the_schema_offers_json_bodies_only(operator):
    schema = yaml.safe_load(operator.get("/api/schema/").content)
    bodies = [
        operation["requestBody"]
        for item in schema["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "requestBody" in operation
    ]
    assert len(bodies) >= 4
    for body in bodies:
        assert set(body["content"]) == {"application/json"}


@pytest.mark.parametrize(
    ("path", "key"), [("/transactions", '"legs"'), ("/transactions/batch", '"transfers"')]
)
def test_the_leg_endpoints_offer_a_json_form_to_fill_in(browser, path, key):
    """DRF's HTML forms cannot hold a list of legs: these pages offer the raw JSON form only,
    filled in with an example to edit, and it posts as JSON with the session's CSRF token."""
    html = browser.get(path, **HTML).content.decode()
    assert 'id="post-object-form"' not in html
    form = html.split('id="post-generic-content-form"', 1)[1].split("</form>", 1)[0]
    assert key in unescape(form) and "from_wallet_id" in form
    assert '<option value="application/json" selected>' in form


def test_a_split_posted_from_the_browser_session_moves_money(browser, make_wallet):
    source, target = make_wallet("formuser", "10"), make_wallet("other")
    body = {"legs": [{"from_wallet_id": str(source.id), "to_wallet_id": str(target.id), "amount": "2.5"}]}
    token = csrf_token(browser, "/transactions")
    response = browser.post(
        "/transactions", body, content_type="application/json", HTTP_X_CSRFTOKEN=token, **HTML
    )
    assert response.status_code == 201
    assert Wallet.objects.get(id=target.id).balance == Decimal("2.5")
