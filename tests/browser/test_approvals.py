"""Maker-checker in a real browser (issue #23): one operator asks for an adjustment above the
threshold (a fund through the browsable API's form, a reversal through the admin's action), it does
not move; they cannot approve their own; a second operator, holding `approve_adjustment`, approves
it in the admin's approvals list with a reason and follows the link to the movement it made.

GBP: the web server's workers cache a currency's system account id, which the emptied test
database does not keep (see conftest.py); no other browser test funds in GBP through the server.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import Page, expect

from approvals.models import Approval
from tests.browser.conftest import PASSWORD, log_in
from tests.browser.test_api_forms import html_form, response_panel
from wallets import services
from wallets.models import LedgerTransaction, Wallet

pytestmark = pytest.mark.browser


@pytest.fixture
def checker(operator):
    """A second operator who may approve (issue_token --operator, then grant_approver), with a password."""
    with open(os.devnull, "w") as quiet:
        call_command("issue_token", "browserchecker", "--operator", stdout=quiet)
        call_command("grant_approver", "browserchecker", stdout=quiet)
    user = get_user_model().objects.get(username="browserchecker")
    user.set_password(PASSWORD)
    user.save()
    return user


def approve_in_admin(
    page: Page, approval: Approval, reason: str, action: str = "Approve selected (runs the movement now)"
) -> None:
    page.wait_for_load_state("load")  # the page being left: its images and scripts
    page.goto("/admin/approvals/approval/?status__exact=pending")
    row = page.locator("#result_list tr", has=page.locator(f"input[value='{approval.id}']"))
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", label=action)
    page.fill("input[name=reason]", reason)
    page.click("button[name=index]")  # "Go"


def test_a_fund_above_the_threshold_waits_for_a_second_operators_approval_in_the_admin(
    page, operator, checker
):
    wallet = services.wallet_create(user_id="mcalice", currency="GBP")

    # The maker asks for 2,500 through the browsable API's form: 202, nothing moves.
    log_in(page, "/api-auth/login/?next=/wallets")
    page.goto(f"/wallets/{wallet.id}/fund")
    form = html_form(page)
    form.locator("input[name=amount]").fill("2500")
    form.locator("input[name=description]").fill("wire 4711")
    form.get_by_role("button", name="POST").click()
    expect(response_panel(page)).to_contain_text("HTTP 202 Accepted")
    expect(response_panel(page)).to_contain_text('"status": "pending"')
    page.wait_for_load_state("load")  # its scripts, before leaving the page
    approval = Approval.objects.get()
    wallet.refresh_from_db()
    assert wallet.balance == 0

    # The maker (logged in by the same session) sees it in the admin, without an approve action.
    page.goto("/admin/approvals/approval/")
    expect(page.locator("#result_list")).to_contain_text("2500.0000")
    expect(page.locator("select[name=action] option", has_text="Approve selected")).to_have_count(0)
    page.wait_for_load_state("load")  # its images and scripts, before leaving the page
    page.context.clear_cookies()

    # The checker approves it with a reason, and sees the movement.
    log_in(page, "/admin/login/?next=/admin/", username="browserchecker")
    expect(page.locator("#overview-approvals-pending")).to_have_text("1 pending")
    page.locator("#overview-approvals-pending").click()
    expect(page).to_have_url(re.compile(r"/admin/approvals/approval/\?status__exact=pending$"))
    row = page.locator("#result_list tr", has=page.locator(f"input[value='{approval.id}']"))
    expect(row).to_contain_text("browserops")
    expect(row).to_contain_text("2500.0000")
    approve_in_admin(page, approval, "wire 4711 is on the statement")
    expect(page.locator(".messagelist .success")).to_have_text("Approved 1 approval(s).")
    page.wait_for_load_state("load")

    approval.refresh_from_db()
    assert (approval.status, approval.decided_by.username) == ("approved", "browserchecker")
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.version) == (Decimal("2500.0000"), 1)

    page.goto(f"/admin/approvals/approval/{approval.id}/change/")
    expect(page.locator("#content")).to_contain_text("wire 4711 is on the statement")
    page.wait_for_load_state("load")
    page.locator("a.approval-movement").click()
    expect(page).to_have_url(
        re.compile(rf"/admin/wallets/ledgertransaction/{approval.transaction_id}/change/$")
    )
    expect(page.locator("#content")).to_contain_text("FUND")
    expect(page.locator("#content")).to_contain_text("wire 4711")
    page.wait_for_load_state("load")
    page.goto(f"/admin/wallets/wallet/{wallet.id}/change/")
    expect(page.locator("#content")).to_contain_text("2500.0000")


def test_a_reversal_in_the_admin_is_requested_refused_to_its_requester_and_approved_by_another(
    page, operator, checker
):
    wallet = services.wallet_create(user_id="mcbob")
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal("40"), initiated_by="browser-test")
    txn = LedgerTransaction.objects.get(entries__wallet=wallet)

    # The maker reverses the fund in the admin: it waits.
    log_in(page, "/admin/login/?next=/admin/wallets/ledgertransaction/")
    row = page.locator("#result_list tr", has=page.locator(f"input[value='{txn.id}']"))
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", label="Reverse selected transactions (reason required)")
    page.click("button[name=index]")
    page.fill("textarea[name=reason]", "funded the wrong wallet")
    page.get_by_role("button", name="Reverse (recorded)").click()
    expect(page.locator(".messagelist .warning")).to_contain_text("waits for a second operator's approval")
    page.wait_for_load_state("load")
    approval = Approval.objects.get()
    assert not LedgerTransaction.objects.filter(reverses=txn).exists()

    # Even holding the permission, the maker cannot approve their own.
    call_command("grant_approver", "browserops", stdout=open(os.devnull, "w"))  # noqa: SIM115
    approve_in_admin(page, approval, "mine")
    expect(page.locator(".messagelist .error")).to_contain_text("another operator must approve")
    page.wait_for_load_state("load")
    approval.refresh_from_db()
    assert approval.status == "pending"
    page.context.clear_cookies()

    log_in(page, "/admin/login/?next=/admin/", username="browserchecker")
    approve_in_admin(page, approval, "agreed with the customer")
    expect(page.locator(".messagelist .success")).to_have_text("Approved 1 approval(s).")
    reversal = LedgerTransaction.objects.get(reverses=txn)
    assert (reversal.initiated_by, reversal.reason) == ("browserops", "funded the wrong wallet")
    assert Wallet.objects.get(id=wallet.id).balance == 0
    page.wait_for_load_state("load")
    page.goto(f"/admin/approvals/approval/{approval.id}/change/")
    page.wait_for_load_state("load")
    page.locator("a.approval-movement").click()
    expect(page.locator("#content")).to_contain_text("REVERSAL")
    expect(page.locator("#content")).to_contain_text("funded the wrong wallet")


def test_a_staff_transfer_above_the_threshold_waits_and_runs_once_another_operator_approves(
    page, operator, checker
):
    payer = services.wallet_create(user_id="mccarol", currency="GBP")
    payee = services.wallet_create(user_id="mcdave", currency="GBP")
    services.wallet_fund(wallet_id=payer.id, amount=Decimal("3000"), initiated_by="browser-test")

    # The maker transfers 2,500 of a customer's money through the browsable API's form: it waits.
    log_in(page, "/api-auth/login/?next=/wallets")
    page.goto(f"/wallets/{payer.id}/transfer")
    form = html_form(page)
    form.locator("input[name=to_wallet_id]").fill(str(payee.id))
    form.locator("input[name=amount]").fill("2500")
    form.get_by_role("button", name="POST").click()
    expect(response_panel(page)).to_contain_text("HTTP 202 Accepted")
    expect(response_panel(page)).to_contain_text('"kind": "transfer"')
    page.wait_for_load_state("load")
    approval = Approval.objects.get()
    assert Wallet.objects.get(id=payee.id).balance == 0
    page.context.clear_cookies()

    log_in(page, "/admin/login/?next=/admin/", username="browserchecker")
    approve_in_admin(page, approval, "customer confirmed by phone")
    expect(page.locator(".messagelist .success")).to_have_text("Approved 1 approval(s).")
    page.wait_for_load_state("load")
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by.username) == ("approved", "browserchecker")
    assert Wallet.objects.get(id=payee.id).balance == Decimal("2500")
    assert approval.transaction_id is not None
    assert LedgerTransaction.objects.get(id=approval.transaction_id).initiated_by == "browserops"
