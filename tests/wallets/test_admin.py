"""The operators' admin: read-only money, recorded freezes, search by id or user."""

import pytest

from tests.conftest import as_rendered
from wallets.models import Wallet, WalletStatusChange

pytestmark = pytest.mark.django_db


def test_wallet_list_search_and_filters(operator_browser, make_wallet):
    carol = make_wallet("carol", "12.50")
    make_wallet("dave", "1", currency="EUR")
    page = operator_browser.get("/admin/wallets/wallet/", {"q": "carol"})
    assert page.status_code == 200
    assert str(carol.id) in page.content.decode()
    assert "dave" not in page.content.decode()
    by_id = operator_browser.get("/admin/wallets/wallet/", {"q": str(carol.id)})
    assert str(carol.id) in by_id.content.decode()
    assert operator_browser.get("/admin/wallets/wallet/", {"currency": "EUR"}).status_code == 200


def test_wallet_page_is_read_only_and_shows_recent_entries(operator_browser, make_wallet):
    wallet = make_wallet("erin", "40.00")
    page = operator_browser.get(f"/admin/wallets/wallet/{wallet.id}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Recent ledger entries" in html
    assert "40.0000" in html
    assert 'name="balance"' not in html, "the balance must not be an editable field"
    # Posting a balance changes nothing.
    operator_browser.post(f"/admin/wallets/wallet/{wallet.id}/change/", {"balance": "1000000"})
    wallet.refresh_from_db()
    assert wallet.balance == 40


def test_nothing_can_be_added_or_deleted(operator_browser, make_wallet):
    wallet = make_wallet("frank")
    assert operator_browser.get("/admin/wallets/wallet/add/").status_code == 403
    assert operator_browser.get(f"/admin/wallets/wallet/{wallet.id}/delete/").status_code == 403
    assert operator_browser.get("/admin/wallets/ledgerentry/add/").status_code == 403


def test_freeze_action_needs_a_reason_and_is_recorded(operator_browser, make_wallet):
    wallet = make_wallet("gina", "5")
    url = "/admin/wallets/wallet/"
    operator_browser.post(
        url, as_rendered({"action": "freeze_wallets", "_selected_action": [str(wallet.id)], "reason": ""})
    )
    wallet.refresh_from_db()
    assert wallet.status == "active"
    assert not WalletStatusChange.objects.exists()

    reason = "chargeback investigation #42"
    operator_browser.post(
        url, as_rendered({"action": "freeze_wallets", "_selected_action": [str(wallet.id)], "reason": reason})
    )
    wallet.refresh_from_db()
    assert wallet.status == "frozen"
    change = WalletStatusChange.objects.get()
    assert (change.from_status, change.to_status, change.reason) == ("active", "frozen", reason)
    assert change.changed_by.username == "opsadmin"

    operator_browser.post(
        url, as_rendered({"action": "unfreeze_wallets", "_selected_action": [str(wallet.id)], "reason": "ok"})
    )
    wallet.refresh_from_db()
    assert wallet.status == "active"
    assert WalletStatusChange.objects.count() == 2
    assert Wallet.objects.get(id=wallet.id).version == 1, "freezing is not a balance change"


def test_ledger_pages_render(operator_browser, make_wallet):
    wallet = make_wallet("hank", "3")
    entry = wallet.entries.get()
    assert operator_browser.get("/admin/wallets/ledgerentry/", {"q": str(wallet.id)}).status_code == 200
    assert (
        operator_browser.get(f"/admin/wallets/ledgertransaction/{entry.transaction_id}/change/").status_code
        == 200
    )
    assert operator_browser.get("/admin/wallets/walletstatuschange/").status_code == 200


def test_a_multi_leg_transaction_shows_its_legs_above_its_entries(operator_browser, make_wallet):
    from decimal import Decimal

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from wallets import multi_leg, services

    buyer, seller, platform = make_wallet("gina", "100"), make_wallet("sam"), make_wallet("platform")
    legs = [
        multi_leg.Leg(buyer.id, seller.id, Decimal("95")),
        multi_leg.Leg(buyer.id, platform.id, Decimal("5"), services.Note("fee", {"kind": "fee"})),
    ]
    result = multi_leg.transaction_create(legs=legs, initiated_by="gina")
    with CaptureQueriesContext(connection) as queries:
        page = operator_browser.get(f"/admin/wallets/ledgertransaction/{result.transaction_id}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "MULTI_LEG" in html
    legs_part = html.split("Transaction legs", 1)[1].split("Ledger entries", 1)[0]
    assert "95.0000" in legs_part and "5.0000" in legs_part and "fee" in legs_part
    assert str(seller.id) in legs_part and str(platform.id) in legs_part
    assert 'name="legs-0-amount"' not in html, "legs are read-only"
    assert len(queries) < 40, "the legs' wallets are read with the legs, not one query each"
    listed = operator_browser.get("/admin/wallets/ledgertransaction/", {"kind__exact": "MULTI_LEG"})
    assert str(result.transaction_id) in listed.content.decode()
