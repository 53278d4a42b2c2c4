"""The browsable API navigated as a person does (issue #31): the login lands on the API root, links
lead to a wallet and its forms, the forms move money once, POST-only pages open without a 405
block, breadcrumbs name the resources, and a checker approves from the approval's own page.

Currencies: the web server's workers cache a currency's system account id (see conftest.py); CHF
is funded through the server by this module only.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Locator, Page, expect
from rest_framework.test import APIClient

from approvals.models import Approval
from tests.browser.conftest import PASSWORD, log_in
from tests.browser.test_api_forms import html_form, response_panel
from tests.browser.test_approvals import checker  # noqa: F401 -- fixture
from wallets import services
from wallets.models import LedgerEntry, Wallet

pytestmark = pytest.mark.browser


def crumbs(page: Page) -> list[str]:
    return [text.strip() for text in page.locator(".breadcrumb li").all_inner_texts()]


def links_panel(page: Page) -> Locator:
    return page.locator(".links-panel")


def test_the_login_lands_on_the_root_and_links_lead_to_a_wallet_to_fund_and_transfer(page, operator):
    carol = services.wallet_create(user_id="navcarol", currency="CHF")
    dave = services.wallet_create(user_id="navdave", currency="CHF")
    short = str(carol.id)[:8]

    page.goto("/api-auth/login/")
    page.fill("input[name=username]", "browserops")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"^http://[^/]+/$"))
    expect(page.locator("h1")).to_have_text("API")
    for name in ("Pending approvals", "Admin", "Docs", "Create a wallet"):
        expect(links_panel(page).get_by_role("link", name=name, exact=True)).to_be_visible()

    links_panel(page).get_by_role("link", name=f"Wallet {short} (navcarol, CHF)").click()
    expect(page).to_have_url(re.compile(rf"/wallets/{carol.id}$"))
    assert crumbs(page) == ["API", "Wallets", f"Wallet {short}"]
    expect(response_panel(page)).to_contain_text('"balance": "0.0000"')

    links_panel(page).get_by_role("link", name="Fund", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/wallets/{carol.id}/fund$"))
    assert crumbs(page) == ["API", "Wallets", f"Wallet {short}", "Fund"]
    expect(page.locator(".form-page")).to_contain_text(f"POST the form below to fund wallet {short}")
    expect(page.locator(".response-info")).to_have_count(0)
    expect(page.get_by_text("405")).to_have_count(1)  # only the note for API clients
    form = html_form(page)
    form.locator("input[name=amount]").fill("40")
    form.locator("textarea[name=metadata]").fill('{"wire": "W-1"}')
    form.get_by_role("button", name="POST").click()
    expect(response_panel(page)).to_contain_text("HTTP 200 OK")
    expect(response_panel(page)).to_contain_text('"balance": "40.0000"')

    # The id in the answer is a link back to the wallet, whose page links to the transfer form.
    response_panel(page).get_by_role("link", name=str(carol.id)).first.click()
    expect(page).to_have_url(re.compile(rf"/wallets/{carol.id}$"))
    links_panel(page).get_by_role("link", name="Transfer", exact=True).click()
    assert crumbs(page) == ["API", "Wallets", f"Wallet {short}", "Transfer"]
    expect(page.locator(".form-page")).to_contain_text(f"POST the form below to transfer from wallet {short}")
    form = html_form(page)
    form.locator("input[name=to_wallet_id]").fill(str(dave.id))
    form.locator("input[name=amount]").fill("15")
    form.get_by_role("button", name="POST").click()
    expect(response_panel(page)).to_contain_text("HTTP 200 OK")
    expect(response_panel(page)).to_contain_text('"type": "TRANSFER_OUT"')

    # The transfer's ledger transaction links to its wallets and (for staff) its reversal form.
    txn = LedgerEntry.objects.get(wallet=carol, type="TRANSFER_OUT").transaction_id
    response_panel(page).get_by_role("link", name=str(txn)).first.click()
    expect(page).to_have_url(re.compile(rf"/transactions/{txn}$"))
    for name in ("Reverse", f"Wallet {short}", f"Wallet {str(dave.id)[:8]}"):
        expect(links_panel(page).get_by_role("link", name=name, exact=True)).to_be_visible()
    links_panel(page).get_by_role("link", name="Reverse", exact=True).click()
    assert crumbs(page) == ["API", "Transactions", f"Transaction {str(txn)[:8]}", "Reverse"]
    expect(html_form(page).locator("input[name=reason], textarea[name=reason]")).to_have_count(1)

    carol.refresh_from_db()
    dave.refresh_from_db()
    assert (carol.balance, carol.version, dave.balance) == (Decimal("25"), 2, Decimal("15"))


def test_post_only_pages_show_their_form_without_the_405_block(page, operator):
    wallet = services.wallet_create(user_id="navemil")
    log_in(page, "/api-auth/login/?next=/wallets")
    expect(page).to_have_url(re.compile(r"/wallets$"))
    for path, crumb in (
        ("/wallets", "Wallets"),
        (f"/wallets/{wallet.id}/transfer", "Transfer"),
        (f"/wallets/{wallet.id}/withdraw", "Withdraw"),
        ("/transactions", "Transactions"),
        ("/transactions/batch", "Batch"),
    ):
        page.goto(path)
        expect(page.locator("h1")).to_have_text(crumb)
        expect(page.locator(".form-page")).to_contain_text("POST")
        expect(page.locator(".response-info")).to_have_count(0)
        expect(page.locator("#post-object-form form, #post-generic-content-form form").first).to_be_attached()
        page.wait_for_load_state("load")


def test_the_transfer_form_asks_where_and_how_much_first(page, operator):
    wallet = services.wallet_create(user_id="navfay")
    log_in(page, f"/api-auth/login/?next=/wallets/{wallet.id}/transfer")
    form = html_form(page)
    names = form.locator("input:not([type=hidden]), textarea, select").evaluate_all(
        "elements => elements.map(element => element.name)"
    )
    assert names == ["to_wallet_id", "amount", "description", "metadata"]
    expect(form.locator("textarea[name=metadata]")).to_have_attribute("placeholder", '{"order_id": "A-1001"}')
    expect(form).to_contain_text('a JSON object such as {"order_id": "A-1001"}')


def test_a_checker_approves_from_the_approvals_page(page, operator, checker):  # noqa: F811
    payer = services.wallet_create(user_id="navgus", currency="CAD")
    payee = services.wallet_create(user_id="navhal", currency="CAD")
    services.wallet_fund(wallet_id=payer.id, amount=Decimal("3000"), initiated_by="browser-test")
    maker = APIClient()
    maker.force_authenticate(operator)
    asked = maker.post(
        f"/wallets/{payer.id}/transfer", {"to_wallet_id": str(payee.id), "amount": "2500"}, format="json"
    )
    assert asked.status_code == 202, asked.content
    approval = Approval.objects.get()
    short = str(approval.id)[:8]

    # The maker sees the approval without approve or reject forms (four eyes).
    log_in(page, f"/api-auth/login/?next=/approvals/{approval.id}")
    assert crumbs(page) == ["API", "Approvals", f"Approval {short}"]
    expect(page.locator(".action-form")).to_have_count(0)
    page.wait_for_load_state("load")
    page.context.clear_cookies()

    log_in(page, f"/api-auth/login/?next=/approvals/{approval.id}", username="browserchecker")
    expect(page.locator(".action-form")).to_have_count(2)
    reject = page.locator(".action-form", has_text="Reject")
    expect(reject.locator("textarea[name=reason], input[name=reason]")).to_have_count(1)
    approve = page.locator(".action-form", has_text="Approve").first
    approve.locator("textarea[name=reason], input[name=reason]").fill("customer confirmed by phone")
    approve.get_by_role("button", name="Approve").click()
    expect(page).to_have_url(re.compile(rf"/approvals/{approval.id}/approve$"))
    expect(response_panel(page)).to_contain_text("HTTP 200 OK")
    expect(response_panel(page)).to_contain_text('"status": "approved"')
    assert crumbs(page) == ["API", "Approvals", f"Approval {short}", "Approve"]

    page.reload()  # the browser sends the approval again: the first answer, nothing twice
    expect(response_panel(page)).to_contain_text("Idempotent-Replayed")
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by.username, approval.decision_reason) == (
        "approved",
        "browserchecker",
        "customer confirmed by phone",
    )
    assert Wallet.objects.get(id=payee.id).balance == Decimal("2500")
    assert LedgerEntry.objects.filter(wallet=payee).count() == 1
