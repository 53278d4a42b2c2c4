"""The approvals in the admin (issue #23): the ledger's Reverse action records a pending approval;
an operator with `approvals.approve_adjustment` approves or rejects (with a reason) from the
approvals' list, never their own; the overview shows the pending ones and the oldest's age."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from approvals.models import Approval, ApprovalEvent
from tests.conftest import as_rendered
from wallets.models import LedgerTransaction, Wallet

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/approvals/approval/"


def operator(username: str, *, approver: bool = False) -> Client:
    call_command("issue_token", username, "--operator", stdout=io.StringIO())
    if approver:
        call_command("grant_approver", username, stdout=io.StringIO())
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def reverse_in_admin(client: Client, txn: LedgerTransaction, reason: str = "customer refund") -> Any:
    return client.post(
        "/admin/wallets/ledgertransaction/",
        as_rendered(
            {
                "action": "reverse_transactions",
                "_selected_action": [str(txn.id)],
                "apply": "1",
                "reason": reason,
            }
        ),
        follow=True,
    )


def decide(client: Client, approval: Approval, action: str, reason: str = "") -> Any:
    return client.post(
        CHANGELIST,
        as_rendered(
            {"action": action, "_selected_action": [str(approval.id)], "reason": reason, "index": "0"}
        ),
        follow=True,
    )


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_reversal_in_the_admin_waits_for_another_operator_who_approves_it(make_wallet):
    maker, checker = operator("adm-maker"), operator("adm-checker", approver=True)
    wallet = make_wallet("fay", "25")
    txn = LedgerTransaction.objects.get(entries__wallet=wallet)
    page = reverse_in_admin(maker, txn)
    approval = Approval.objects.get()
    assert (approval.kind, approval.reverses_id, approval.reason, approval.status) == (
        "reverse",
        txn.id,
        "customer refund",
        "pending",
    )
    assert any("1 reversal(s) awaiting approval" in text for text in messages_of(page)), messages_of(page)
    assert not LedgerTransaction.objects.filter(reverses=txn).exists()
    assert Wallet.objects.get(id=wallet.id).balance == Decimal("25")

    # The maker sees it but has no approve action; the checker has.
    assert 'value="approve_approvals"' not in maker.get(CHANGELIST).content.decode()
    assert 'value="approve_approvals"' in checker.get(CHANGELIST).content.decode()

    done = decide(checker, approval, "approve_approvals", "checked the refund ticket")
    assert "Approved 1 approval(s)." in messages_of(done)
    approval.refresh_from_db()
    reversal = LedgerTransaction.objects.get(reverses=txn)
    assert (approval.status, approval.decided_by.username, approval.transaction_id) == (
        "approved",
        "adm-checker",
        reversal.id,
    )
    assert (reversal.initiated_by, reversal.reason) == ("adm-maker", "customer refund")
    assert Wallet.objects.get(id=wallet.id).balance == 0
    audit = list(ApprovalEvent.objects.filter(approval=approval).order_by("id").values_list("action", "via"))
    assert audit == [("requested", "admin"), ("approved", "admin")]
    detail = checker.get(f"{CHANGELIST}{approval.id}/change/").content.decode()
    assert str(reversal.id) in detail and "checked the refund ticket" in detail


def test_the_requester_cannot_approve_their_own_in_the_admin(make_wallet):
    both = operator("adm-both", approver=True)
    wallet = make_wallet("gus", "5")
    reverse_in_admin(both, LedgerTransaction.objects.get(entries__wallet=wallet))
    approval = Approval.objects.get()
    page = decide(both, approval, "approve_approvals")
    assert any("another operator must approve" in text for text in messages_of(page))
    assert "Approved 0 approval(s)." in messages_of(page)
    approval.refresh_from_db()
    assert approval.status == "pending"
    assert Wallet.objects.get(id=wallet.id).balance == Decimal("5")


def test_a_rejection_in_the_admin_needs_a_reason(make_wallet):
    maker, checker = operator("adm-maker"), operator("adm-checker", approver=True)
    wallet = make_wallet("hal", "5")
    reverse_in_admin(maker, LedgerTransaction.objects.get(entries__wallet=wallet))
    approval = Approval.objects.get()
    assert any("Give a reason" in text for text in messages_of(decide(checker, approval, "reject_approvals")))
    approval.refresh_from_db()
    assert approval.status == "pending"
    decide(checker, approval, "reject_approvals", "not a refund")
    approval.refresh_from_db()
    assert (approval.status, approval.decision_reason) == ("rejected", "not a refund")


def test_a_failed_approval_in_the_admin_names_the_movements_error_and_stays_pending(make_wallet):
    maker, checker = operator("adm-maker"), operator("adm-checker", approver=True)
    payer, payee = make_wallet("ida", "40"), make_wallet("jon")
    from wallets import services

    result = services.transfer_create(
        from_wallet_id=payer.id, to_wallet_id=payee.id, amount=Decimal("40"), initiated_by="t"
    )
    txn = LedgerTransaction.objects.get(id=result.transaction_id)
    reverse_in_admin(maker, txn)
    services.wallet_withdraw(wallet_id=payee.id, amount=Decimal("30"), initiated_by="t")  # jon spent it
    approval = Approval.objects.get()
    page = decide(checker, approval, "approve_approvals")
    assert any("does not hold enough money" in text for text in messages_of(page))
    approval.refresh_from_db()
    assert (approval.status, approval.last_error_code) == ("pending", "insufficient_funds")
    assert not LedgerTransaction.objects.filter(reverses=txn).exists()


def test_the_overview_shows_the_pending_approvals_and_the_oldest_age(make_wallet):
    maker = operator("adm-maker")
    assert "0 pending" in maker.get("/admin/").content.decode().split('id="overview-approvals"')[1]
    for name in ("kim", "lee"):
        reverse_in_admin(maker, LedgerTransaction.objects.get(entries__wallet=make_wallet(name, "5")))
    Approval.objects.filter(id=Approval.objects.order_by("requested_at").first().id).update(
        requested_at=timezone.now() - timedelta(hours=3)
    )
    block = maker.get("/admin/").content.decode().split('id="overview-approvals"')[1].split("</div>")[0]
    assert f'href="{CHANGELIST}?status__exact=pending"' in block
    assert "2 pending" in block and "3\xa0hours" in block
    assert 'id="overview-approvals-oldest">108' in block  # 10,8xx seconds
