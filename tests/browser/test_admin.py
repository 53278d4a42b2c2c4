"""The operators' admin in a real browser: log in, the overview on the index, branding and no Save
on read-only pages, freeze a wallet with a reason from the list and from its own page, a resubmitted
form acting once, the wallet's links to its filtered lists, the ledger transactions' columns and
date filter, every list fitting 1366 by 768, the outbox page."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from approvals import services as approval_services
from history.models import DeadLetter, HistoryEvent, ReconcileRun, VersionGap
from kafka_bridge.models import OutboxEvent, RelayStats
from tests.browser.conftest import PASSWORD, log_in
from wallets import holds, services
from wallets.models import IdempotencyRecord, LedgerEntry, LedgerTransaction, Wallet, WalletStatusChange
from webhooks import services as webhook_services
from webhooks.models import Delivery, delivery_id

pytestmark = pytest.mark.browser


def short(value: object) -> str:
    """An id as the lists show it: its last 8 hex characters (the full id is the link's title)."""
    return f"…{str(value)[-8:]}"


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

    # The wallet's page shows who froze it and why: its short id links there, the full id as its title.
    link = row.locator(f"a[title='{wallet.id}']")
    expect(link).to_have_text(short(wallet.id))
    link.click()
    expect(page.locator("body")).to_contain_text(reason)
    expect(page.locator("body")).to_contain_text(str(wallet.id))


def test_the_admin_is_branded_and_read_only_pages_have_no_save(page, operator):
    wallet = funded("brandalice", "12")
    txn = LedgerTransaction.objects.get(entries__wallet=wallet)
    log_in(page, "/admin/login/?next=/admin/")
    expect(page).to_have_title(re.compile(r"Wallet operations$"))
    expect(page.locator("#site-name")).to_have_text("Wallet operations")
    expect(page.locator("#content h1")).to_have_text("Wallet operations")
    expect(page.locator("#user-tools").get_by_role("link", name="View site")).to_have_attribute("href", "/")

    for path, title in [
        ("/admin/wallets/ledgertransaction/", "Ledger transactions"),
        ("/admin/wallets/wallet/", "Wallets"),
        (f"/admin/wallets/wallet/{wallet.id}/change/", "View wallet"),
        (f"/admin/wallets/ledgertransaction/{txn.id}/change/", "View ledger transaction"),
        ("/admin/kafka_bridge/outboxevent/", "Outbox events"),
    ]:
        page.goto(path)
        expect(page.locator("#content h1")).to_have_text(title)
        for name in ("_save", "_continue", "_addanother"):
            expect(page.locator(f"[name={name}]")).to_have_count(0)
        expect(page.get_by_role("button", name=re.compile(r"^Save"))).to_have_count(0)
        page.wait_for_load_state("load")
    # The wallet's page names Django's change log for what it is, or leaves it out: no "History".
    page.goto(f"/admin/wallets/wallet/{wallet.id}/change/")
    expect(page.locator(".object-tools").get_by_role("link", name="History", exact=True)).to_have_count(0)
    expect(page.locator(".object-tools").get_by_role("link", name="Money history")).to_be_visible()


def test_the_wallet_page_has_no_save_and_freezes_and_unfreezes_from_itself(page, operator):
    wallet = funded("pgalice", "12")
    log_in(page, f"/admin/login/?next=/admin/wallets/wallet/{wallet.id}/change/")
    expect(page.locator("#content")).to_contain_text("12.0000")
    expect(page.locator("input[name=_save]")).to_have_count(0)

    status_form = page.locator("#wallet-status-form")
    expect(status_form.locator("h2")).to_have_text("Freeze this wallet")
    status_form.get_by_role("button", name="Freeze (recorded)").click()  # without a reason: not sent
    expect(page).to_have_url(re.compile(rf"/admin/wallets/wallet/{wallet.id}/change/$"))
    assert Wallet.objects.get(id=wallet.id).status == "active"
    status_form.locator("textarea[name=reason]").fill("card reported stolen")
    status_form.get_by_role("button", name="Freeze (recorded)").click()
    expect(page.locator(".messagelist .success")).to_have_text(f"Froze wallet {wallet.id}.")
    expect(page).to_have_url(re.compile(rf"/admin/wallets/wallet/{wallet.id}/change/$"))
    expect(page.locator("#content")).to_contain_text("card reported stolen")  # its freeze history
    wallet.refresh_from_db()
    assert (wallet.status, wallet.balance, wallet.version) == ("frozen", Decimal("12"), 1)

    expect(status_form.locator("h2")).to_have_text("Unfreeze this wallet")
    status_form.locator("textarea[name=reason]").fill("card found")
    status_form.get_by_role("button", name="Unfreeze (recorded)").click()
    expect(page.locator(".messagelist .success")).to_have_text(f"Unfroze wallet {wallet.id}.")
    page.wait_for_load_state("load")
    wallet.refresh_from_db()
    assert wallet.status == "active"
    changes = list(
        WalletStatusChange.objects.order_by("id").values_list("from_status", "to_status", "reason")
    )
    assert changes == [("active", "frozen", "card reported stolen"), ("frozen", "active", "card found")]


def test_a_resubmitted_freeze_form_does_not_act_twice(page, operator):
    wallet = funded("onceal", "5")
    log_in(page, f"/admin/login/?next=/admin/wallets/wallet/{wallet.id}/change/")
    form = page.locator("#wallet-status-form")
    form.locator("textarea[name=reason]").fill("fraud check")
    saved = page.evaluate("() => document.querySelector('#wallet-status-form').outerHTML")
    form.get_by_role("button", name="Freeze (recorded)").click()
    expect(page.locator(".messagelist .success")).to_have_text(f"Froze wallet {wallet.id}.")
    page.reload()  # the result page came by a redirect: a reload sends nothing again
    expect(page.locator(".messagelist")).to_have_count(0)

    # Unfreeze it meanwhile, then send the first (freeze) form again, as Back and resubmit would.
    services.wallet_unfreeze(wallet_id=wallet.id, reason="released", actor=operator)
    page.evaluate(
        "(html) => document.querySelector('#content')"
        ".insertAdjacentHTML('afterbegin', `<div id=stale-copy>${html}</div>`)",
        saved,
    )
    stale = page.locator("#stale-copy form")
    stale.locator("textarea[name=reason]").fill("fraud check")
    stale.get_by_role("button", name="Freeze (recorded)").click()
    expect(page.locator(".messagelist .info")).to_contain_text("Already done")
    expect(page.locator(".messagelist .success")).to_have_text(
        f"Froze wallet {wallet.id}."
    )  # the first outcome
    page.wait_for_load_state("load")
    assert Wallet.objects.get(id=wallet.id).status == "active"  # not frozen a second time
    assert WalletStatusChange.objects.filter(to_status="frozen").count() == 1


def test_the_wallet_page_lists_its_newest_entries_and_links_to_its_filtered_lists(page, operator):
    wallet = funded("lnkalice", "50")
    other = funded("lnkbob", "9")
    services.transfer_create(
        from_wallet_id=wallet.id, to_wallet_id=other.id, amount=Decimal("20"), initiated_by="t"
    )
    hold = holds.hold_create(
        from_wallet_id=wallet.id, to_wallet_id=other.id, amount=Decimal("5"), initiated_by="t"
    )
    newest = LedgerEntry.objects.get(wallet=wallet, wallet_version=2).transaction_id

    log_in(page, f"/admin/login/?next=/admin/wallets/wallet/{wallet.id}/change/")
    entries = page.locator("tr.recent-entry")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_contain_text("TRANSFER_OUT")  # newest first
    expect(entries.nth(1)).to_contain_text("FUND")
    link = entries.nth(0).locator(f"a[title='{newest}']")
    expect(link).to_have_text(short(newest))
    link.click()
    expect(page).to_have_url(re.compile(rf"/admin/wallets/ledgertransaction/{newest}/change/$"))
    expect(page.locator("#content h1")).to_have_text("View ledger transaction")
    expect(page.locator("#content")).to_contain_text(str(newest))  # the full id on the page it opens

    rows = page.locator("#result_list tbody tr")
    for css, expected_rows, also in [
        ("wallet-entries", 2, "Transfer Out"),
        ("wallet-transactions", 2, "Transfer"),
        ("wallet-holds", 1, short(hold.id)),
        ("wallet-approvals", 0, "0 approvals"),
    ]:
        page.wait_for_load_state("load")
        page.goto(f"/admin/wallets/wallet/{wallet.id}/change/")
        page.locator(f".object-tools a.{css}").click()
        expect(page).to_have_url(re.compile(rf"\?wallet={wallet.id}$"))
        expect(page.locator("a.id-filter")).to_have_text(f"wallet {short(wallet.id)}")
        expect(rows).to_have_count(expected_rows)
        expect(page.locator("#changelist")).to_contain_text(also)
        expect(page.locator("#changelist")).not_to_contain_text("lnkbob")  # the other wallet's rows
    # The money history: the history admin filtered to the wallet (empty here: no consumer runs on
    # the test database), and its "All" link drops the filter.
    page.wait_for_load_state("load")
    page.goto(f"/admin/wallets/wallet/{wallet.id}/change/")
    page.locator(".object-tools a.wallet-history").click()
    expect(page).to_have_url(re.compile(rf"/admin/history/historyevent/\?wallet={wallet.id}$"))
    expect(page.locator("a.id-filter")).to_have_text(f"wallet {short(wallet.id)}")


def test_ledger_transactions_show_kind_amount_currency_wallets_newest_first_and_filter_by_date(
    page, operator
):
    alice = funded("txalice", "40")
    bob = funded("txbob", "1", currency="EUR")
    carol = services.wallet_create(user_id="txcarol")
    services.transfer_create(
        from_wallet_id=alice.id, to_wallet_id=carol.id, amount=Decimal("7.5"), initiated_by="t"
    )
    log_in(page, "/admin/login/?next=/admin/wallets/ledgertransaction/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(3)
    first = rows.nth(0)  # the transfer, the newest
    expect(first.locator("td.field-kind")).to_have_text("Transfer")
    expect(first.locator("td.field-amount")).to_have_text("7.5000")
    expect(first.locator("td.field-currency")).to_have_text("USD")
    expect(first.locator("td.field-wallets")).to_have_text(f"{short(alice.id)} → {short(carol.id)}")
    expect(first.locator(f"td.field-wallets a[title='{carol.id}']")).to_have_attribute(
        "href", f"/admin/wallets/wallet/{carol.id}/change/"
    )
    expect(rows.nth(1).locator("td.field-wallets")).to_have_text(f"system → {short(bob.id)}")
    expect(rows.nth(1).locator("td.field-currency")).to_have_text("EUR")
    expect(rows.nth(2).locator("td.field-amount")).to_have_text("40.0000")
    times = rows.locator("td.field-created").all_inner_texts()
    assert times == sorted(times, reverse=True), times

    # The date range: today has all three, a range ending yesterday none.
    today = timezone.now().date()
    page.get_by_role("link", name="Today").click()
    expect(rows).to_have_count(3)
    dates = page.locator("form.date-range-filter")
    dates.locator("input[name=created_at__from]").fill((today - timedelta(days=10)).isoformat())
    dates.locator("input[name=created_at__to]").fill((today - timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Filter dates").click()
    expect(page).to_have_url(re.compile(r"created_at__to="))
    expect(page.locator("#result_list tbody tr")).to_have_count(0)
    expect(page.locator("#changelist")).to_contain_text("0 ledger transactions")


def everything_listed(operator: Any) -> None:
    """At least one row in every table the admin lists, with the longest values they take."""
    alice = funded("fitalice-with-a-long-user-id-0001", "100")
    bob = funded("fitbob", "20")
    services.transfer_create(
        from_wallet_id=alice.id, to_wallet_id=bob.id, amount=Decimal("1"), initiated_by="t"
    )
    holds.hold_create(from_wallet_id=alice.id, to_wallet_id=bob.id, amount=Decimal("2"), initiated_by="t")
    services.wallet_freeze(
        wallet_id=bob.id, reason="a reason of a fair length for a list " * 3, actor=operator
    )
    approval_services.movement_request(
        wallet_id=alice.id,
        amount=Decimal("5000"),
        withdraw=False,
        note=services.Note("wire", {}),
        requested_by=operator,
        via="admin",
    )
    IdempotencyRecord.objects.create(
        principal=operator, key="k" * 64, fingerprint="f" * 64, status_code=201, response_body=b"{}"
    )
    now = timezone.now()
    HistoryEvent.objects.create(
        event_id=uuid.uuid4(),
        event_type="TRANSFER_IN",
        wallet_id=alice.id,
        user_id="fitalice-with-a-long-user-id-0001",
        currency="USD",
        amount=Decimal("1234567.1234"),
        balance_after=Decimal("1234567.1234"),
        wallet_version=1,
        transaction_id=uuid.uuid4(),
        hold_id=uuid.uuid4(),
        description="a description",
        occurred_at=now,
        recorded_at=now,
        payload={},
        topic="wallet-events",
        partition=0,
        offset=1,
    )
    VersionGap.objects.create(
        wallet_id=alice.id,
        first_missing=2,
        last_missing=3,
        seen_event_id=uuid.uuid4(),
        topic="wallet-events",
        partition=0,
        offset=5,
        detected_at=now,
    )
    DeadLetter.objects.create(
        topic="wallet-events",
        partition=0,
        offset=9,
        key=str(alice.id),
        error="bad payload: " + "x" * 80,
        dead_lettered_at=now,
    )
    ReconcileRun.objects.create(started_at=now, finished_at=now, ok=True, breaches=0, checks=[], report="ok")
    RelayStats.objects.get_or_create(id=1, defaults={"published_total": 12, "last_published_at": now})
    axes = {"user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/140", "ip_address": "127.0.0.1"}
    axes |= {"username": "browserops", "http_accept": "text/html", "path_info": "/admin/login/"}
    AccessAttempt.objects.create(**axes, attempt_time=now, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**axes, attempt_time=now)
    AccessFailureLog.objects.create(**axes, attempt_time=now)
    endpoint = webhook_services.endpoint_create(
        owner="fitalice-with-a-long-user-id-0001",
        url="https://hooks.example.com/a/rather/long/path/for/the/wallet/events",
        event_types=["TRANSFER_IN", "TRANSFER_OUT", "WALLET_FUNDED"],
        description="the shop's back office, a description of a fair length",
        actor="fitroot",
    )
    event_id = uuid.uuid4()
    Delivery.objects.create(
        id=delivery_id(endpoint.id, event_id),
        endpoint=endpoint,
        event_id=event_id,
        event_type="TRANSFER_IN",
        wallet_id=alice.id,
        wallet_version=3,
        payload="{}",
        status="pending",
        next_attempt_at=now,
    )


def test_every_list_fits_a_1366_by_768_screen(page, operator):
    everything_listed(operator)
    get_user_model().objects.create_superuser("fitroot", password=PASSWORD)
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, "/admin/login/?next=/admin/", username="fitroot")
    too_wide, empty = {}, []
    for model in admin.site._registry:
        opts = model._meta
        page.goto(f"/admin/{opts.app_label}/{opts.model_name}/")
        page.wait_for_load_state("load")
        if page.locator("#result_list tbody tr").count() == 0:
            empty.append(opts.label)
        # The page, and the list's own box (Django's `.results` scrolls sideways by itself).
        width, inner, table, box = page.evaluate(
            """() => {
                const results = document.querySelector(".results");
                return [document.documentElement.scrollWidth, window.innerWidth,
                        results.scrollWidth, results.clientWidth];
            }"""
        )
        if width > inner or table > box:
            too_wide[opts.label] = (width, table, box)
    assert empty == [], f"lists without rows (nothing measured): {empty}"
    assert too_wide == {}, f"wider than the window (1366 px): {too_wide}"


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
