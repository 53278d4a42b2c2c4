"""The operators' admin in a real browser: log in, the overview on the index, freeze a wallet with
a reason, the outbox page."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from history.models import ReconcileRun
from kafka_bridge.models import OutboxEvent
from tests.browser.conftest import log_in
from wallets import services
from wallets.models import Wallet, WalletStatusChange

pytestmark = pytest.mark.browser


def funded(user_id: str, amount: str, currency: str = "USD") -> Wallet:
    wallet = services.wallet_create(user_id=user_id, currency=currency)
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal(amount), initiated_by="browser-test")
    wallet.refresh_from_db()
    return wallet


def test_admin_login_refuses_a_wrong_password_and_lets_an_operator_in(page, operator):
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
    page.fill("input[name=username]", "browserops")
    page.fill("input[name=password]", "not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".errornote")).to_contain_text("correct username and password")

    log_in(page, "/admin/login/?next=/admin/")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#user-tools")).to_contain_text("browserops")
    expect(page.locator("#operator-overview")).to_be_visible()


def test_the_overview_shows_the_books_the_relay_the_consumer_and_reconcile(page, operator):
    funded("ovalice", "100.00")
    funded("ovbob", "25.5")
    funded("ovchloe", "7", currency="EUR")
    run = ReconcileRun.objects.create(
        started_at=timezone.now() - timedelta(seconds=3),
        finished_at=timezone.now(),
        ok=False,
        breaches=2,
        checks=[],
        report="two breaches (browser test)",
    )
    pending = OutboxEvent.objects.count()  # every row is pending: the relay deletes published ones
    assert pending == 6  # created and funded, three times; nothing relays the test database's outbox

    log_in(page, "/admin/login/?next=/admin/")
    usd = page.locator("#overview-books tr[data-currency=USD]")
    expect(usd.locator("td")).to_have_text(["2", "125.5000", "its entries"])
    eur = page.locator("#overview-books tr[data-currency=EUR]")
    expect(eur.locator("td")).to_have_text(["1", "7.0000", "its entries"])

    expect(page.locator("#overview-outbox-pending")).to_have_text(f"{pending} pending")
    lag = page.locator("#overview-consumer-lag")
    expect(lag).to_have_text(re.compile(r"\d+ messages? behind|unreadable"))
    reconcile = page.locator("#overview-reconcile td")
    expect(reconcile).to_contain_text("2 breaches")

    # Each figure links to its admin page.
    reconcile.get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/admin/history/reconcilerun/{run.pk}/change/$"))
    expect(page.locator("#content")).to_contain_text("two breaches (browser test)")
    page.go_back()
    usd.get_by_role("link", name="2", exact=True).click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    expect(page.locator("#result_list")).to_contain_text("ovalice")
    page.go_back()
    page.locator("#overview-outbox-pending").click()
    expect(page).to_have_url(re.compile(r"/admin/kafka_bridge/outboxevent/\?status=pending$"))
    expect(page.locator("#result_list tbody tr")).to_have_count(pending)


def test_an_operator_freezes_a_wallet_with_a_reason(page, operator):
    wallet = funded("frzalice", "10")
    other = funded("frzbob", "10")
    log_in(page, "/admin/login/?next=/admin/wallets/wallet/")
    row = page.locator("#result_list tr", has=page.locator(f"input[value='{wallet.id}']"))
    action = "Freeze selected wallets (reason required)"

    # Without a reason nothing changes.
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", label=action)
    page.click("button[name=index]")  # "Go"
    expect(page.locator(".messagelist .error")).to_contain_text("Give a reason")
    wallet.refresh_from_db()
    assert wallet.status == "active"

    reason = "chargeback investigation #77"
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", label=action)
    page.fill("input[name=reason]", reason)
    page.click("button[name=index]")  # "Go"
    expect(page.locator(".messagelist .success")).to_have_text("Froze 1 wallet(s).")
    expect(row).to_contain_text("Frozen")

    wallet.refresh_from_db()
    other.refresh_from_db()
    assert (wallet.status, other.status) == ("frozen", "active")
    change = WalletStatusChange.objects.get()
    assert (change.wallet_id, change.reason, change.changed_by.username) == (wallet.id, reason, "browserops")

    # The wallet's page shows who froze it and why.
    row.get_by_role("link", name=str(wallet.id)).click()
    expect(page.locator("body")).to_contain_text(reason)


def test_the_wallet_page_has_no_save_and_freezes_and_unfreezes_from_itself(page, operator):
    wallet = funded("pgalice", "12")
    log_in(page, f"/admin/login/?next=/admin/wallets/wallet/{wallet.id}/change/")
    expect(page.locator("#content")).to_contain_text("12.0000")
    expect(page.locator("input[name=_save]")).to_have_count(0)
    expect(page.locator("input[name=_continue]")).to_have_count(0)
    expect(page.locator("input[name=_addanother]")).to_have_count(0)

    page.get_by_role("link", name="Freeze").click()
    page.get_by_role("button", name="Freeze (recorded)").click()  # without a reason: not sent
    expect(page).to_have_url(re.compile(rf"/admin/wallets/wallet/{wallet.id}/status/$"))
    assert Wallet.objects.get(id=wallet.id).status == "active"
    page.fill("textarea[name=reason]", "card reported stolen")
    page.get_by_role("button", name="Freeze (recorded)").click()
    expect(page.locator(".messagelist .success")).to_contain_text(f"Froze wallet {wallet.id}.")
    expect(page).to_have_url(re.compile(rf"/admin/wallets/wallet/{wallet.id}/change/$"))
    expect(page.locator("#content")).to_contain_text("card reported stolen")  # its freeze history
    wallet.refresh_from_db()
    assert (wallet.status, wallet.balance, wallet.version) == ("frozen", Decimal("12"), 1)

    page.get_by_role("link", name="Unfreeze").click()
    page.fill("textarea[name=reason]", "card found")
    page.get_by_role("button", name="Unfreeze (recorded)").click()
    expect(page.locator(".messagelist .success")).to_contain_text(f"Unfroze wallet {wallet.id}.")
    page.wait_for_load_state("load")
    wallet.refresh_from_db()
    assert wallet.status == "active"
    changes = list(
        WalletStatusChange.objects.order_by("id").values_list("from_status", "to_status", "reason")
    )
    assert changes == [("active", "frozen", "card reported stolen"), ("frozen", "active", "card found")]


def test_the_outbox_page_shows_the_backlog_and_each_event(page, operator):
    wallet = funded("obalice", "3")
    log_in(page, "/admin/login/?next=/admin/kafka_bridge/outboxevent/")
    expect(page.locator(".messagelist")).to_contain_text(
        re.compile(r"Relay (ok|stalled).*Backlog: 2 pending \(0 failing\)")
    )
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("WALLET_FUNDED")
    expect(rows.nth(0)).to_contain_text("pending")
    expect(rows.nth(1)).to_contain_text("WALLET_CREATED")

    page.fill("#searchbar", str(wallet.id))
    page.keyboard.press("Enter")
    expect(rows).to_have_count(2)
    rows.nth(0).locator("th a, td a").first.click()
    expect(page.locator("body")).to_contain_text(f'"wallet_id": "{wallet.id}"')
