"""Only the ledger writes a balance (migration 0011): PostgreSQL refuses a wallet's or a hold's
money state that no ledger write made, at once or at commit, and the admin offers no Save.

The deferred checks run at commit; these tests run inside the test's transaction, so they make
PostgreSQL run them at once with `SET CONSTRAINTS ... IMMEDIATE`, which checks every change made
so far exactly as a commit would.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction

from tests.conftest import as_rendered
from wallets import holds, services
from wallets.models import Hold, Wallet, WalletRowReadOnly, WalletStatusChange

pytestmark = pytest.mark.django_db

AT_COMMIT = "SET CONSTRAINTS wallet_money_explained, hold_money_explained IMMEDIATE"


def sql(statement: str, *params: object) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, list(params))


def refused(statement: str, *params: object, match: str) -> None:
    """`statement`, then the commit's checks, refused with `match`; nothing stays changed."""
    with pytest.raises(IntegrityError, match=match), transaction.atomic():
        sql(statement, *params)
        sql(AT_COMMIT)


@pytest.mark.parametrize(
    ("update", "match"),
    [
        ("balance = balance + 1", "only through the ledger's write"),
        ("held = held + 1", "only through the ledger's write"),
        ("version = version - 1", "only through the ledger's write"),
        ("balance = balance + 1, version = version + 1", "not what the ledger wrote"),
        ("held = 1, version = version + 1", "not what the ledger wrote"),
        ("version = version + 1", "not what the ledger wrote"),
        ("user_id = 'mallory'", "never change"),
        ("currency = 'EUR'", "never change"),
    ],
)
def test_raw_sql_cannot_write_a_wallets_money_state(make_wallet, update, match):
    wallet = make_wallet("alice", "10")
    refused(f"UPDATE wallets_wallet SET {update} WHERE id = %s", wallet.id, match=match)  # noqa: S608
    after = Wallet.objects.get(id=wallet.id)
    assert (after.balance, after.held, after.version, after.user_id) == (Decimal("10"), 0, 1, "alice")


def test_an_orm_save_of_a_wallet_is_refused_and_a_stale_write_too(make_wallet):
    wallet = make_wallet("alice", "10")
    stale = Wallet.objects.get(id=wallet.id)
    wallet.status = Wallet.Status.FROZEN
    with pytest.raises(WalletRowReadOnly):
        wallet.save()
    other = make_wallet("bob")
    services.transfer_create(
        from_wallet_id=wallet.id, to_wallet_id=other.id, amount=Decimal("4"), initiated_by="alice"
    )
    # What Model.save() would write from the read taken before the transfer: refused.
    refused(
        "UPDATE wallets_wallet SET balance = %s, held = %s, version = %s, status = %s WHERE id = %s",
        stale.balance,
        stale.held,
        stale.version,
        stale.status,
        wallet.id,
        match="only through the ledger's write",
    )
    current = Wallet.objects.get(id=wallet.id)
    assert (current.balance, current.version, current.status) == (Decimal("6"), 2, "active")


def test_a_system_accounts_row_never_changes_its_money_columns(make_wallet):
    make_wallet("alice", "10")
    system = Wallet.objects.get(kind=Wallet.Kind.SYSTEM, currency="USD")
    refused(
        "UPDATE wallets_wallet SET balance = balance - 1, version = version + 1 WHERE id = %s",
        system.id,
        match="only through the ledger's write",
    )


def test_a_wallet_with_a_history_is_never_deleted(make_wallet):
    wallet = make_wallet("alice", "10")
    refused("DELETE FROM wallets_wallet WHERE id = %s", wallet.id, match="never deleted")
    assert Wallet.objects.filter(id=wallet.id).exists()


def test_every_ledger_write_passes_the_commit_check(make_wallet):
    payer, payee = make_wallet("alice", "100"), make_wallet("bob", "5")
    services.transfer_create(
        from_wallet_id=payer.id, to_wallet_id=payee.id, amount=Decimal("10"), initiated_by="alice"
    )
    hold = holds.hold_create(
        from_wallet_id=payer.id, to_wallet_id=payee.id, amount=Decimal("30"), initiated_by="alice"
    )
    holds.hold_capture(hold=hold, amount=Decimal("12"), initiated_by="alice")  # and a release
    voided = holds.hold_create(
        from_wallet_id=payer.id, to_wallet_id=payee.id, amount=Decimal("7"), initiated_by="alice"
    )
    holds.hold_void(hold=voided, initiated_by="alice")
    services.wallet_withdraw(wallet_id=payee.id, amount=Decimal("1"), initiated_by="ops")
    sql(AT_COMMIT)  # every change above, checked as a commit checks it
    assert Wallet.objects.get(id=payer.id).balance == Decimal("78")


def test_a_holds_state_changes_only_with_its_wallet(make_wallet):
    payer, payee = make_wallet("alice", "100"), make_wallet("bob")
    hold = holds.hold_create(
        from_wallet_id=payer.id, to_wallet_id=payee.id, amount=Decimal("30"), initiated_by="alice"
    )
    # Released without the wallet's held going down: the sender no longer agrees at commit.
    refused(
        "UPDATE wallets_hold SET status = 'voided', released_version = 3 WHERE id = %s",
        hold.id,
        match="not what the ledger wrote",
    )
    refused("UPDATE wallets_hold SET amount = 1 WHERE id = %s", hold.id, match="terms never change")
    refused("DELETE FROM wallets_hold WHERE id = %s", hold.id, match="never deleted")
    holds.hold_void(hold=hold, initiated_by="alice")
    refused("UPDATE wallets_hold SET status = 'pending' WHERE id = %s", hold.id, match="never changes again")
    assert Hold.objects.get(id=hold.id).status == "voided"
    assert Wallet.objects.get(id=payer.id).held == 0


def test_the_admin_offers_no_save_and_refuses_a_posted_one(operator_browser, make_wallet):
    wallet = make_wallet("erin", "40.00")
    page = operator_browser.get(f"/admin/wallets/wallet/{wallet.id}/change/").content.decode()
    assert 'name="_save"' not in page and 'name="_continue"' not in page
    posted = operator_browser.post(
        f"/admin/wallets/wallet/{wallet.id}/change/", {"status": "frozen", "_save": "Save"}
    )
    assert posted.status_code == 403
    entry = wallet.entries.get()
    page = operator_browser.get(f"/admin/wallets/ledgertransaction/{entry.transaction_id}/change/")
    assert 'name="_save"' not in page.content.decode()
    posted = operator_browser.post(
        f"/admin/wallets/ledgertransaction/{entry.transaction_id}/change/", {"_save": "Save"}
    )
    assert posted.status_code == 403  # was a 500: the append-only trigger refused the save
    current = Wallet.objects.get(id=wallet.id)
    assert (current.balance, current.version, current.status) == (Decimal("40"), 1, "active")


@pytest.mark.django_db(transaction=True)
def test_a_freeze_queued_behind_a_transfer_keeps_the_transfer_and_its_audit_true(make_wallet):
    """A freeze that waits for the wallet's lock while a transfer holds it: the transfer's balance
    and version stay, the wallet ends frozen, and the audit row says what happened."""
    wallet, other = make_wallet("alice", "10"), make_wallet("bob")
    actor = get_user_model().objects.create(username="ops", is_staff=True)
    locked = threading.Event()
    release = threading.Event()

    def transfer_holding_the_lock() -> None:
        try:
            with transaction.atomic():
                services.transfer_create(
                    from_wallet_id=wallet.id, to_wallet_id=other.id, amount=Decimal("3"), initiated_by="alice"
                )
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    def freeze() -> None:
        try:
            services.wallet_freeze(wallet_id=wallet.id, reason="chargeback", actor=actor)
        finally:
            connection.close()

    mover = threading.Thread(target=transfer_holding_the_lock)
    mover.start()
    assert locked.wait(10)
    freezer = threading.Thread(target=freeze)
    freezer.start()
    time.sleep(0.3)  # the freeze now waits for the lock
    assert freezer.is_alive()
    release.set()
    mover.join(10)
    freezer.join(10)
    current = Wallet.objects.get(id=wallet.id)
    assert (current.balance, current.version, current.status) == (Decimal("7"), 2, "frozen")
    change = WalletStatusChange.objects.get(wallet_id=wallet.id)
    assert (change.from_status, change.to_status) == ("active", "frozen")


def test_the_wallet_page_freezes_with_a_reason_through_the_service(operator_browser, make_wallet):
    wallet = make_wallet("erin", "5")
    url = f"/admin/wallets/wallet/{wallet.id}/status/"
    page = operator_browser.get(f"/admin/wallets/wallet/{wallet.id}/change/").content.decode()
    assert f'action="{url}"' in page and 'value="Freeze (recorded)"' in page
    assert (
        operator_browser.post(url, as_rendered({"to_status": "frozen", "reason": ""})).status_code == 200
    )  # asked again
    assert Wallet.objects.get(id=wallet.id).status == "active"
    done = operator_browser.post(url, as_rendered({"to_status": "frozen", "reason": "fraud review"}))
    assert (done.status_code, done["Location"]) == (302, f"/admin/wallets/wallet/{wallet.id}/change/")
    assert Wallet.objects.get(id=wallet.id).status == "frozen"
    again = operator_browser.post(url, as_rendered({"to_status": "frozen", "reason": "twice"}), follow=True)
    assert "was already frozen" in again.content.decode()
    assert list(WalletStatusChange.objects.values_list("to_status", "reason")) == [("frozen", "fraud review")]
