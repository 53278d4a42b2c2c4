"""Maker-checker in a real browser (issue #23): one operator asks for an adjustment above the
threshold (a fund through the browsable API's form, a reversal through the admin's action), it does
not move; they cannot approve their own; a second operator, holding `approve_adjustment`, approves
it in the admin's approvals list with a reason and follows the link to the movement it made; an
approval's page says what moves and has Approve and Reject with a reason; the Reverse action's
confirmation and messages say what happens; a resubmitted or double-clicked form acts once.

GBP, SEK, NOK: the web server's workers cache a currency's system account id, which the emptied
test database does not keep (see conftest.py); each test that funds through the server has a
currency no other browser test funds through it.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import Page, expect

from approvals import services as approval_services
from approvals.models import Approval
from tests.browser.conftest import PASSWORD, log_in
from tests.browser.test_api_forms import html_form, response_panel
from wallets import services
from wallets.models import LedgerTransaction, Wallet

pytestmark = pytest.mark.browser

SLOW = 15_000  # ms: a decision's page on a loaded machine


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
    page.select_option(
        "select[name=action]", label="Reverse selected transactions (another operator must approve)"
    )
    page.click("button[name=index]")
    # The confirmation says what happens: a pending approval, not a reversal.
    explanation = page.locator("#reverse-explanation")
    expect(explanation).to_contain_text("creates a pending approval")
    expect(explanation).to_contain_text("another operator must approve it")
    page.fill("textarea[name=reason]", "funded the wrong wallet")
    page.get_by_role("button", name="Request reversal (recorded)").click()
    approval = Approval.objects.get()
    message = page.locator(".messagelist .warning")
    expect(message).to_contain_text("1 reversal(s) awaiting approval: nothing moves until another operator")
    expect(message.locator("a.reversal-approval")).to_have_attribute(
        "href", f"/admin/approvals/approval/{approval.id}/change/"
    )
    expect(page.locator(".messagelist .success")).to_have_count(0)  # nothing was reversed: not green
    page.wait_for_load_state("load")
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


def pending_fund(
    requester, amount: str = "2500", currency: str = "GBP", user_id: str = "pgmaker"
) -> Approval:
    """A staff fund above the threshold, waiting for a second operator (as the API records one)."""
    wallet = services.wallet_create(user_id=user_id, currency=currency)
    return approval_services.movement_request(
        wallet_id=wallet.id,
        amount=Decimal(amount),
        withdraw=False,
        note=services.Note("wire 9001", {}),
        requested_by=requester,
        via="api",
    )


def test_an_approvals_page_says_what_moves_and_a_second_operator_approves_it_there(page, operator, checker):
    approval = pending_fund(operator, currency="SEK")  # a currency of its own: see the module's note
    wallet_id = approval.wallet_id

    # The requester sees what it is, and no buttons: four eyes.
    log_in(page, f"/admin/login/?next=/admin/approvals/approval/{approval.id}/change/")
    summary = page.locator("#approval-summary")
    expect(summary.locator("#approval-movement-lines")).to_have_text(
        f"system account → wallet …{str(wallet_id)[-8:]}: 2500.0000 SEK"
    )
    expect(summary.locator("#approval-amount")).to_have_text("2500.0000 SEK")
    expect(summary.locator("#approval-requester")).to_contain_text("browserops")
    expect(page.locator("#approval-no-decision")).to_have_text(
        "You requested this one: another operator must approve or reject it."
    )
    expect(page.get_by_role("button", name=re.compile("^Approve"))).to_have_count(0)
    page.wait_for_load_state("load")
    page.context.clear_cookies()

    log_in(
        page, f"/admin/login/?next=/admin/approvals/approval/{approval.id}/change/", username="browserchecker"
    )
    summary.locator(f"a[title='{wallet_id}']").wait_for()
    page.fill("#id_approve_reason", "wire 9001 is on the statement")
    page.get_by_role("button", name="Approve (runs the movement now)").click()
    expect(page.locator(".messagelist .success")).to_contain_text(
        f"Approved fund {approval.id}: it ran as transaction", timeout=SLOW
    )
    expect(page).to_have_url(re.compile(rf"/admin/approvals/approval/{approval.id}/change/$"))
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by.username) == ("approved", "browserchecker")
    assert approval.decision_reason == "wire 9001 is on the statement"
    assert Wallet.objects.get(id=str(wallet_id)).balance == Decimal("2500")
    expect(summary.locator("h2")).to_contain_text("approved")
    expect(page.locator("#approval-decision")).to_have_count(0)  # decided: no buttons any more


def test_a_second_operator_rejects_with_a_reason_on_the_page_and_nothing_moves(page, operator, checker):
    approval = pending_fund(operator, user_id="pgreject")
    log_in(
        page, f"/admin/login/?next=/admin/approvals/approval/{approval.id}/change/", username="browserchecker"
    )
    reject = page.get_by_role("button", name="Reject (nothing moves)")
    reject.click()  # without a reason: the browser does not send it
    approval.refresh_from_db()
    assert approval.status == "pending"
    page.fill("#id_reject_reason", "no such wire")
    reject.click()
    expect(page.locator(".messagelist .success")).to_have_text(
        f"Rejected fund {approval.id}: nothing moved.", timeout=SLOW
    )
    page.wait_for_load_state("load")
    approval.refresh_from_db()
    assert (approval.status, approval.decision_reason) == ("rejected", "no such wire")
    assert Wallet.objects.get(id=str(approval.wallet_id)).balance == 0


def test_a_resubmitted_or_double_clicked_approval_acts_once(page, operator, checker):
    approval = pending_fund(operator, amount="3000", currency="NOK", user_id="pgtwice")
    log_in(
        page, f"/admin/login/?next=/admin/approvals/approval/{approval.id}/change/", username="browserchecker"
    )
    saved = page.evaluate("() => document.querySelector('#approval-approve-form').outerHTML")
    page.get_by_role("button", name="Approve (runs the movement now)").dblclick()
    page.wait_for_load_state("load")
    expect(page.locator(".messagelist")).to_contain_text(
        re.compile(rf"Approved fund {approval.id}|Already done|already submitted"), timeout=SLOW
    )
    expect(page.locator(".messagelist .error")).to_have_count(0)

    # The same form sent again, as Back and resubmit would: the first outcome, nothing more.
    page.evaluate(
        "(html) => document.querySelector('#content')"
        ".insertAdjacentHTML('afterbegin', `<div id=stale-copy>${html}</div>`)",
        saved,
    )
    page.locator("#stale-copy").get_by_role("button", name="Approve (runs the movement now)").click()
    expect(page.locator(".messagelist .info")).to_contain_text("Already done", timeout=SLOW)
    expect(page.locator(".messagelist .success")).to_contain_text(
        f"Approved fund {approval.id}", timeout=SLOW
    )
    expect(page.locator(".messagelist .error")).to_have_count(0)
    page.wait_for_load_state("load")
    wallet = Wallet.objects.get(id=str(approval.wallet_id))
    assert (wallet.balance, wallet.version) == (Decimal("3000"), 1)  # funded once
    assert approval.events.filter(action="approved").count() == 1
    assert not approval.events.filter(action="failed").exists()


def test_a_resubmitted_reverse_form_requests_one_approval(page, operator):
    wallet = services.wallet_create(user_id="mconce")
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal("40"), initiated_by="browser-test")
    txn = LedgerTransaction.objects.get(entries__wallet=wallet)
    log_in(page, "/admin/login/?next=/admin/wallets/ledgertransaction/")
    page.locator(f"#result_list input[value='{txn.id}']").check()
    page.select_option(
        "select[name=action]", label="Reverse selected transactions (another operator must approve)"
    )
    page.click("button[name=index]")
    page.fill("textarea[name=reason]", "duplicate")
    saved = page.evaluate("() => document.querySelector('#content-main form').outerHTML")
    page.get_by_role("button", name="Request reversal (recorded)").click()
    expect(page.locator(".messagelist .warning")).to_contain_text(
        "1 reversal(s) awaiting approval", timeout=SLOW
    )
    page.wait_for_load_state("load")
    page.evaluate(
        "(html) => document.querySelector('#content')"
        ".insertAdjacentHTML('afterbegin', `<div id=stale-copy>${html}</div>`)",
        saved,
    )
    page.locator("#stale-copy textarea[name=reason]").fill("duplicate")
    page.locator("#stale-copy").get_by_role("button", name="Request reversal (recorded)").click()
    expect(page.locator(".messagelist .info")).to_contain_text("Already done", timeout=SLOW)
    expect(page.locator(".messagelist .warning")).to_contain_text(
        "1 reversal(s) awaiting approval", timeout=SLOW
    )
    expect(page.locator(".messagelist .error")).to_have_count(0)  # not "already waiting": not sent again
    page.wait_for_load_state("load")
    assert Approval.objects.filter(reverses=txn).count() == 1
