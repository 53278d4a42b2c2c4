"""The browsable API in a real browser: the session login link, and the HTML forms of create, fund,
withdraw and transfer moving real money (posted as forms by the logged-in browser, with its CSRF
token; see common/api.py)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import PASSWORD
from wallets import services
from wallets.models import LedgerEntry, Wallet

pytestmark = pytest.mark.browser


def html_form(page: Page) -> Locator:
    """The POST form of the "HTML form" tab (not the raw-data one)."""
    page.get_by_role("link", name="HTML form").click()
    return page.locator("#post-object-form form")


def response_panel(page: Page) -> Locator:
    return page.locator(".response-info")


def test_the_transfer_form_makes_a_real_transfer(page, operator):
    alice = services.wallet_create(user_id="formalice")
    services.wallet_fund(wallet_id=alice.id, amount=Decimal("100.00"), initiated_by="browser-test")
    bob = services.wallet_create(user_id="formbob")
    path = f"/wallets/{alice.id}/transfer"

    # Logged out, the page offers the session login, which comes back to it.
    page.goto(path)
    login = page.get_by_role("link", name="Log in")
    expect(login).to_have_attribute("href", f"/api-auth/login/?next={path}")
    login.click()
    page.fill("input[name=username]", "browserops")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    expect(page.locator(".navbar")).to_contain_text("browserops")

    form = html_form(page)
    form.locator("input[name=to_wallet_id]").fill(str(bob.id))
    form.locator("input[name=amount]").fill("12.3456")
    form.get_by_role("button", name="POST").click()

    panel = response_panel(page)
    expect(panel).to_contain_text("HTTP 200 OK")
    expect(panel).to_contain_text('"type": "TRANSFER_OUT"')
    expect(panel).to_contain_text('"balance_after": "87.6544"')
    alice.refresh_from_db()
    bob.refresh_from_db()
    assert (alice.balance, bob.balance) == (Decimal("87.6544"), Decimal("12.3456"))
    into, out = LedgerEntry.objects.filter(type__in=["TRANSFER_OUT", "TRANSFER_IN"]).order_by("type")
    assert (into.type, into.amount, out.type, out.amount) == (
        "TRANSFER_IN",
        Decimal("12.3456"),
        "TRANSFER_OUT",
        Decimal("-12.3456"),
    )
    assert out.transaction_id == into.transaction_id

    # A refused transfer is answered on the page and moves nothing.
    form = html_form(page)
    form.locator("input[name=to_wallet_id]").fill(str(bob.id))
    form.locator("input[name=amount]").fill("1000")
    form.get_by_role("button", name="POST").click()
    expect(response_panel(page)).to_contain_text("HTTP 400 Bad Request")
    expect(response_panel(page)).to_contain_text("insufficient_funds")
    alice.refresh_from_db()
    assert alice.balance == Decimal("87.6544")


def test_create_fund_and_withdraw_through_their_forms(page, operator):
    page.goto("/api-auth/login/?next=/wallets")
    page.fill("input[name=username]", "browserops")
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/wallets$"))

    form = html_form(page)
    form.locator("input[name=user_id]").fill("formcarol")
    form.locator("select[name=currency]").select_option("EUR")
    form.get_by_role("button", name="POST").click()
    expect(response_panel(page)).to_contain_text("HTTP 201 Created")
    wallet = Wallet.objects.get(user_id="formcarol")
    assert (wallet.currency, wallet.balance) == ("EUR", Decimal("0"))

    page.goto(f"/wallets/{wallet.id}/fund")
    form = html_form(page)
    form.locator("input[name=amount]").fill("50.05")
    form.get_by_role("button", name="POST").click()
    expect(response_panel(page)).to_contain_text('"balance": "50.0500"')

    page.goto(f"/wallets/{wallet.id}/withdraw")
    form = html_form(page)
    form.locator("input[name=amount]").fill("0.0001")
    form.get_by_role("button", name="POST").click()
    expect(response_panel(page)).to_contain_text('"balance": "50.0499"')
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.version) == (Decimal("50.0499"), 2)


def _transfer_form_page(page: Page, operator_name: str = "browserops") -> tuple[Wallet, Wallet, str]:
    payer = services.wallet_create(user_id="onceamy")
    services.wallet_fund(wallet_id=payer.id, amount=Decimal("100.00"), initiated_by="browser-test")
    payee = services.wallet_create(user_id="oncebea")
    path = f"/wallets/{payer.id}/transfer"
    page.goto(f"/api-auth/login/?next={path}")
    page.fill("input[name=username]", operator_name)
    page.fill("input[name=password]", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    payer.refresh_from_db()
    return payer, payee, path


def _fill_transfer(page: Page, payee: Wallet, amount: str) -> Locator:
    form = html_form(page)
    form.locator("input[name=to_wallet_id]").fill(str(payee.id))
    form.locator("input[name=amount]").fill(amount)
    return form


def _one_transfer(payer: Wallet, version: int, balance: str) -> None:
    payer.refresh_from_db()
    assert LedgerEntry.objects.filter(type="TRANSFER_OUT").count() == 1
    assert (payer.version, payer.balance) == (version + 1, Decimal(balance))


def test_reloading_a_transfers_result_or_resubmitting_it_moves_money_once(page, operator):
    payer, payee, path = _transfer_form_page(page)
    version = payer.version
    _fill_transfer(page, payee, "12.5").get_by_role("button", name="POST").click()
    expect(response_panel(page)).to_contain_text("HTTP 200 OK")
    expect(response_panel(page)).to_contain_text('"type": "TRANSFER_OUT"')
    _one_transfer(payer, version, "87.5")

    # Reload: Chromium sends the same POST again (same boundary); the first answer comes back.
    page.reload()
    expect(response_panel(page)).to_contain_text("HTTP 200 OK")
    expect(response_panel(page)).to_contain_text("Idempotent-Replayed")
    expect(response_panel(page)).to_contain_text('"type": "TRANSFER_OUT"')
    _one_transfer(payer, version, "87.5")

    # Back to the form and submit it again: the same fields, a new multipart boundary.
    page.go_back()
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    _fill_transfer(page, payee, "12.5").get_by_role("button", name="POST").click()
    expect(response_panel(page)).to_contain_text("Idempotent-Replayed")
    _one_transfer(payer, version, "87.5")

    # Back again and change the amount: the form's key was used for another transfer, so 422.
    page.go_back()
    _fill_transfer(page, payee, "13").get_by_role("button", name="POST").click()
    expect(response_panel(page)).to_contain_text("HTTP 422")
    expect(response_panel(page)).to_contain_text("idempotency_key_reused")
    _one_transfer(payer, version, "87.5")
    page.wait_for_load_state("load")


def test_a_double_click_on_post_moves_money_once(page, operator):
    payer, payee, _ = _transfer_form_page(page)
    version = payer.version
    _fill_transfer(page, payee, "3").get_by_role("button", name="POST").dblclick()
    expect(response_panel(page)).to_contain_text("HTTP 200 OK")
    expect(response_panel(page)).to_contain_text('"type": "TRANSFER_OUT"')
    page.wait_for_load_state("load")
    _one_transfer(payer, version, "97")
