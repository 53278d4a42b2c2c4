"""The browsable API's forms cannot move money twice (common/browsable.py, wallets/api/idempotency.py):
each POST form carries an idempotency key made when the page was rendered; a browser's resubmission
(the same fields, a new multipart boundary, a new CSRF mask) replays the first answer; other
fields under the same key are 422; the header wins over the field; the field is never part of the
body; API clients are served as before. Also the pages around the forms: the 405 a browser no longer
sees, the breadcrumbs, the field order, the links, the API root and where the login lands.

(The same in a real browser: tests/browser/test_api_forms.py, tests/browser/test_api_navigation.py.)
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from html import unescape
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.test.client import encode_multipart

from approvals.models import Approval
from common.browsable import FORM_KEY
from tests.conftest import make_approver
from wallets import holds
from wallets.models import IdempotencyRecord, LedgerEntry, LedgerTransaction, Wallet

pytestmark = pytest.mark.django_db

HTML = {"HTTP_ACCEPT": "text/html"}
KEY_INPUT = re.compile(rf'<input type="hidden" name="{FORM_KEY}" value="([^"]+)">')


def browser_for(username: str, *, staff: bool = True) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.create_user(username, is_staff=staff))
    return client


@pytest.fixture
def browser() -> Client:
    return browser_for("formops")


def html_form(html: str) -> str:
    return html.split('id="post-object-form"', 1)[1].split("</form>", 1)[0]


def form_of(client: Client, path: str) -> dict[str, str]:
    """The CSRF token and the idempotency key of the HTML form on `path`, as a browser reads them."""
    form = html_form(client.get(path, **HTML).content.decode())
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    key = KEY_INPUT.search(form)
    assert token and key, "the form has no CSRF token or no idempotency key"
    return {"csrfmiddlewaretoken": token.group(1), FORM_KEY: key.group(1)}


def post_form(client: Client, path: str, fields: dict[str, str], boundary: str, **extra: Any) -> Any:
    """A multipart form post with its own boundary, as a browser sends one (each submit a new one)."""
    return client.post(
        path,
        encode_multipart(boundary, fields),
        content_type=f"multipart/form-data; boundary={boundary}",
        **extra,
    )


def transfers_out() -> int:
    return LedgerEntry.objects.filter(type="TRANSFER_OUT").count()


def test_each_render_makes_a_new_key_in_the_html_and_the_raw_data_form(browser, make_wallet):
    wallet = make_wallet("formuser")
    path = f"/wallets/{wallet.id}/transfer"
    first, second = form_of(browser, path), form_of(browser, path)
    assert first[FORM_KEY] != second[FORM_KEY]
    assert re.fullmatch(r"form-[0-9a-f-]{36}", first[FORM_KEY])
    html = browser.get(path, **HTML).content.decode()
    raw = unescape(html.split('id="post-generic-content-form"', 1)[1].split("</form>", 1)[0])
    content = json.loads(_raw_content(raw))
    assert content[FORM_KEY].startswith("form-") and content[FORM_KEY] != first[FORM_KEY]
    assert set(content) == {"to_wallet_id", "amount", FORM_KEY}


def _raw_content(raw_form: str) -> str:
    match = re.search(r'<textarea name="_content"[^>]*>(.*?)</textarea>', raw_form, re.S)
    assert match, raw_form
    return match.group(1)


def test_a_resubmitted_form_with_a_new_boundary_and_csrf_mask_replays_the_first_answer(browser, make_wallet):
    alice, bob = make_wallet("formalice", "100.00"), make_wallet("formbob")
    path = f"/wallets/{alice.id}/transfer"
    form = form_of(browser, path)
    fields = {"to_wallet_id": str(bob.id), "amount": "12.50", "description": "rent", **form}
    first = post_form(browser, path, fields, "----first", **HTML)
    assert first.status_code == 200, first.content
    assert "TRANSFER_OUT" in first.content.decode()
    assert first["Content-Type"].startswith("text/html")  # the page, not the stored bytes

    # Back and resubmit: the same fields, a new boundary, the page's CSRF token masked anew.
    again_fields = {**fields, "csrfmiddlewaretoken": form_of(browser, path)["csrfmiddlewaretoken"]}
    again = post_form(browser, path, again_fields, "----second-boundary", **HTML)
    assert again.status_code == 200, again.content
    assert again["Idempotent-Replayed"] == "true"
    assert "TRANSFER_OUT" in again.content.decode()

    # The JSON answer of a replay is the stored bytes.
    as_json = post_form(browser, path, fields, "----third")
    assert as_json["Idempotent-Replayed"] == "true"
    assert as_json.json()["data"][0]["type"] == "TRANSFER_OUT"
    assert as_json.content == bytes(IdempotencyRecord.objects.get(key=form[FORM_KEY]).response_body)

    alice.refresh_from_db()
    assert (alice.balance, alice.version, transfers_out()) == (Decimal("87.5"), 2, 1)


def test_other_fields_under_the_same_form_key_are_422_and_move_nothing(browser, make_wallet):
    alice, bob = make_wallet("formalice", "100.00"), make_wallet("formbob")
    path = f"/wallets/{alice.id}/transfer"
    form = form_of(browser, path)
    fields = {"to_wallet_id": str(bob.id), "amount": "12.50", **form}
    assert post_form(browser, path, fields, "----a").status_code == 200
    changed = post_form(browser, path, {**fields, "amount": "13.50"}, "----b")
    assert changed.status_code == 422, changed.content
    assert changed.json()["code"] == "idempotency_key_reused"
    alice.refresh_from_db()
    assert (alice.balance, transfers_out()) == (Decimal("87.5"), 1)


def test_a_new_render_is_a_new_key_so_a_second_transfer_moves_again(browser, make_wallet):
    alice, bob = make_wallet("formalice", "100.00"), make_wallet("formbob")
    path = f"/wallets/{alice.id}/transfer"
    for _ in range(2):
        fields = {"to_wallet_id": str(bob.id), "amount": "10", **form_of(browser, path)}
        assert post_form(browser, path, fields, "----x").status_code == 200
    alice.refresh_from_db()
    assert (alice.balance, transfers_out()) == (Decimal("80"), 2)


def test_the_header_wins_over_the_field(browser, make_wallet):
    wallet = make_wallet("formfrank")
    path = f"/wallets/{wallet.id}/fund"
    form = form_of(browser, path)
    fields = {"amount": "5", **form}
    first = post_form(browser, path, fields, "----1", HTTP_IDEMPOTENCY_KEY="header-key-1")
    assert first.status_code == 200
    # Another field key, the same header: the header's record answers.
    other = {**fields, FORM_KEY: "form-some-other-key"}
    again = post_form(browser, path, other, "----2", HTTP_IDEMPOTENCY_KEY="header-key-1")
    assert again["Idempotent-Replayed"] == "true"
    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"header-key-1"}
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("5")


def test_the_key_field_is_not_part_of_the_body_and_a_bad_one_is_400(browser, make_wallet):
    wallet = make_wallet("formgina")
    path = f"/wallets/{wallet.id}/fund"
    form = form_of(browser, path)
    bad = post_form(browser, path, {"amount": "5", **form, FORM_KEY: " spaced"}, "----1")
    assert bad.status_code == 400
    assert FORM_KEY in bad.json()["error"]
    ok = post_form(browser, path, {"amount": "5", "metadata": '{"order_id": "A-1"}', **form}, "----2")
    assert ok.status_code == 200, ok.content
    txn = LedgerTransaction.objects.get(kind="FUND")
    assert txn.metadata == {"order_id": "A-1"}  # the key went nowhere but the idempotency record


def test_a_raw_data_json_post_from_the_browser_is_replayed_by_its_key(browser, make_wallet):
    source, target = make_wallet("formuser", "10"), make_wallet("other")
    token = form_of(browser, "/wallets")["csrfmiddlewaretoken"]
    body = {
        "legs": [{"from_wallet_id": str(source.id), "to_wallet_id": str(target.id), "amount": "2.5"}],
        FORM_KEY: "form-raw-1",
    }
    for _ in range(2):
        response = browser.post(
            "/transactions", body, content_type="application/json", HTTP_X_CSRFTOKEN=token, **HTML
        )
        assert response.status_code == 201, response.content
    assert response["Idempotent-Replayed"] == "true"
    assert Wallet.objects.get(id=target.id).balance == Decimal("2.5")


def test_api_clients_are_served_as_before(operator, make_wallet):
    """A token client's JSON: no header, no idempotency (a body member named like the form's key
    is ignored, as any unknown member); with the header, the stored bytes."""
    wallet = make_wallet("apiuser")
    for _ in range(2):
        response = operator.post(f"/wallets/{wallet.id}/fund", {"amount": "1", FORM_KEY: "k1"}, format="json")
        assert response.status_code == 200
        assert "Idempotent-Replayed" not in response
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("2")
    assert not IdempotencyRecord.objects.exists()
    response = operator.get(f"/wallets/{wallet.id}/fund")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "POST" in response["Allow"]


MONEY_FORMS = [
    "/wallets",
    "/wallets/{wallet}/fund",
    "/wallets/{wallet}/withdraw",
    "/wallets/{wallet}/transfer",
    "/wallets/{wallet}/holds",
    "/holds/{hold}/capture",
    "/holds/{hold}/void",
    "/transactions/{txn}/reverse",
    "/approvals/{approval}/approve",
    "/approvals/{approval}/reject",
]


@pytest.fixture
def world(make_wallet: Any, browser: Client) -> dict[str, str]:
    payer, payee = make_wallet("formpayer", "100"), make_wallet("formpayee")
    hold = holds.hold_create(
        from_wallet_id=payer.id, to_wallet_id=payee.id, amount=Decimal("1"), initiated_by="test"
    )
    txn = LedgerTransaction.objects.filter(kind="FUND").first()
    assert txn is not None
    maker = browser_for("formmaker")
    token = form_of(maker, "/wallets")["csrfmiddlewaretoken"]
    pending = maker.post(
        f"/wallets/{payer.id}/fund",
        {"amount": "5000"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert pending.status_code == 202, pending.content
    return {
        "wallet": str(payer.id),
        "hold": str(hold.id),
        "txn": str(txn.id),
        "approval": pending.json()["data"]["approval_id"],
    }


@pytest.mark.parametrize("template", MONEY_FORMS)
def test_every_money_form_carries_a_key_and_opens_without_the_405_block(browser, world, template):
    page = browser.get(template.format(**world), **HTML)
    html = page.content.decode()
    assert KEY_INPUT.search(html_form(html)), template
    if template.endswith("/holds"):  # a listing too: its page is the GET's answer
        assert page.status_code == 200 and "HTTP 200 OK" in html
        return
    assert page.status_code == 405  # what it is, for anything that reads the status
    assert 'class="response-info"' not in html and "HTTP 405" not in html
    assert 'class="panel panel-info form-page"' in html and "POST the form below" in html


@pytest.mark.parametrize("path", ["/transactions", "/transactions/batch"])
def test_the_leg_forms_carry_a_key_in_their_json(browser, path):
    html = browser.get(path, **HTML).content.decode()
    content = json.loads(unescape(_raw_content(html)))
    assert content[FORM_KEY].startswith("form-")
    assert 'class="response-info"' not in html


def test_an_approvals_page_offers_approve_and_reject_to_a_checker_only(browser, world):
    path = f"/approvals/{world['approval']}"
    assert "action-form" not in browser.get(path, **HTML).content.decode()  # may not decide
    checker = browser_for("formchecker")
    make_approver("formchecker")
    html = checker.get(path, **HTML).content.decode()
    forms = re.findall(r'<form action="([^"]+)" method="POST"[^>]*>(.*?)</form>', html, re.S)
    actions = {action: body for action, body in forms if "/approve" in action or "/reject" in action}
    assert set(actions) == {f"{path}/approve", f"{path}/reject"}
    for body in actions.values():
        assert 'name="reason"' in body and KEY_INPUT.search(body)
    approve = actions[f"{path}/approve"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', approve)
    key = KEY_INPUT.search(approve)
    assert token and key
    fields = {"reason": "checked", "csrfmiddlewaretoken": token.group(1), FORM_KEY: key.group(1)}
    for boundary in ("----1", "----2"):
        response = post_form(checker, f"{path}/approve", fields, boundary)
        assert response.status_code == 200, response.content
    assert response["Idempotent-Replayed"] == "true"
    approval = Approval.objects.get(id=world["approval"])
    assert (approval.status, approval.decided_by.username) == ("approved", "formchecker")
    assert Wallet.objects.get(id=world["wallet"]).balance == Decimal("5100")


def test_breadcrumbs_and_titles_name_the_resources(browser, make_wallet):
    wallet = make_wallet("formuser")
    html = browser.get(f"/wallets/{wallet.id}/transfer", **HTML).content.decode()
    crumbs = html.split('<ul class="breadcrumb">', 1)[1].split("</ul>", 1)[0]
    names = [unescape(name).strip() for name in re.findall(r"<a [^>]*>([^<]*)</a>", crumbs)]
    assert names == ["API", "Wallets", f"Wallet {str(wallet.id)[:8]}", "Transfer"]
    assert "<h1>Transfer</h1>" in html


def test_the_transfer_form_asks_where_and_how_much_first(browser, make_wallet):
    wallet = make_wallet("formuser")
    form = html_form(browser.get(f"/wallets/{wallet.id}/transfer", **HTML).content.decode())
    names = re.findall(r'name="(to_wallet_id|amount|description|metadata)"', form)
    assert names == ["to_wallet_id", "amount", "description", "metadata"]
    assert re.search(r'<textarea name="metadata"', form)
    assert "{&quot;order_id&quot;: &quot;A-1001&quot;}" in form  # the example, in its help text


def test_a_wallets_page_links_to_its_forms_and_related_pages(browser, make_wallet):
    wallet = make_wallet("formuser", "3")
    html = browser.get(f"/wallets/{wallet.id}", **HTML).content.decode()
    panel = html.split('class="panel panel-default links-panel"', 1)[1].split("</ul>", 1)[0]
    hrefs = re.findall(r'href="([^"]+)"', panel)
    base = f"/wallets/{wallet.id}"
    for suffix in ("/fund", "/withdraw", "/transfer", "/transactions", "/holds", "/history"):
        assert base + suffix in hrefs, suffix
    assert "/users/formuser/wallets" in hrefs
    transactions = browser.get(f"{base}/transactions", **HTML).content.decode()
    txn = LedgerEntry.objects.get(wallet=wallet).transaction_id
    assert f'<a href="/transactions/{txn}">{txn}</a>' in transactions  # the JSON's id, a link


def test_the_root_lists_what_the_user_may_use_and_answers_json(alice, operator, make_wallet):
    mine = make_wallet("alice")
    body = alice.get("/").json()["data"]
    assert body["user"] == "alice" and [w["id"] for w in body["wallets"]] == [str(mine.id)]
    assert "admin" not in body["links"] and "approvals" not in body["links"]
    staff = operator.get("/").json()["data"]
    assert {"approvals", "admin", "docs"} <= set(staff["links"])
    assert str(mine.id) in [w["id"] for w in staff["newest_wallets"]]


def test_the_login_lands_on_the_root_unless_next_says_otherwise(client):
    get_user_model().objects.create_user("landing", password="pw-landing-1")
    response = client.post("/api-auth/login/", {"username": "landing", "password": "pw-landing-1"})
    assert (response.status_code, response["Location"]) == (302, "/")
    client.logout()
    response = client.post(
        "/api-auth/login/?next=/wallets", {"username": "landing", "password": "pw-landing-1"}
    )
    assert response["Location"] == "/wallets"
