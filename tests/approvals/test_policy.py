"""One policy for staff money (approvals/policy.py): every staff route of a customer's money waits
above the threshold and past the rolling limits; one operator alone cannot move a customer's
money out; an end user never meets the gate."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from approvals.models import Approval, UnapprovedStaffMovement
from tests.approvals.conftest import post
from tests.conftest import make_approver, make_client
from wallets import holds
from wallets.models import Hold, LedgerTransaction, Wallet

pytestmark = pytest.mark.django_db


def balance(wallet: Wallet) -> Decimal:
    return Wallet.objects.get(id=wallet.id).balance


def test_one_operator_alone_cannot_move_a_customers_money_out(maker, make_wallet):
    """The bypass: funds at the threshold three times, a transfer of all of it, a withdrawal from
    the receiver; then the same transfer in pieces at the threshold."""
    payer, payee = make_wallet("carol", "5000"), make_wallet("dave")
    answers = [post(maker, f"/wallets/{payer.id}/fund", {"amount": "1000"}).status_code for _ in range(3)]
    assert answers == [200, 200, 202]  # the third passes the wallet's 24-hour limit (2,000)
    assert (
        post(
            maker, f"/wallets/{payer.id}/transfer", {"to_wallet_id": str(payee.id), "amount": "3000"}
        ).status_code
        == 202
    )
    for _ in range(3):  # in pieces: the wallet's limit is already reached
        piece = post(
            maker, f"/wallets/{payer.id}/transfer", {"to_wallet_id": str(payee.id), "amount": "1000"}
        )
        assert piece.status_code == 202
    withdrawal = post(maker, f"/wallets/{payee.id}/withdraw", {"amount": "1000"})
    assert (withdrawal.status_code, withdrawal.json()["code"]) == (400, "insufficient_funds")
    assert balance(payer) == Decimal("7000")  # its own 5,000 and the two funds: nothing left it
    assert balance(payee) == 0
    pending = Approval.objects.filter(status="pending").order_by("requested_at")
    assert [approval.kind for approval in pending] == ["fund", "transfer", "transfer", "transfer", "transfer"]


@pytest.fixture
def routes(make_wallet: Any) -> dict[str, Any]:
    """Every staff movement route, each above the threshold (1,000), with what it would move."""
    payer, payee, third = make_wallet("carol", "9000"), make_wallet("dave", "10"), make_wallet("erin")
    hold = holds.hold_create(
        from_wallet_id=payer.id, to_wallet_id=payee.id, amount=Decimal("1500"), initiated_by="carol"
    )
    fund = LedgerTransaction.objects.filter(entries__wallet=payee).get()
    leg = {"from_wallet_id": str(payer.id), "to_wallet_id": str(payee.id), "amount": "600"}
    other_leg = {**leg, "to_wallet_id": str(third.id)}
    return {
        "wallets": (payer, payee, third),
        "hold": hold,
        "requests": {
            "fund": (f"/wallets/{payee.id}/fund", {"amount": "1000.0001"}),
            "withdraw": (f"/wallets/{payer.id}/withdraw", {"amount": "1500"}),
            "transfer": (f"/wallets/{payer.id}/transfer", {"to_wallet_id": str(payee.id), "amount": "1200"}),
            "split": ("/transactions", {"legs": [leg, other_leg]}),
            "batch": ("/transactions/batch", {"transfers": [leg, other_leg], "atomic": False}),
            "hold_create": (f"/wallets/{payer.id}/holds", {"to_wallet_id": str(payee.id), "amount": "1100"}),
            "hold_capture": (f"/holds/{hold.id}/capture", {}),
            "reverse": (f"/transactions/{fund.id}/reverse", {"reason": "wrong wallet"}),
        },
    }


def _snapshot() -> dict[str, Any]:
    return {
        "balances": dict(Wallet.objects.values_list("id", "balance")),
        "held": dict(Wallet.objects.values_list("id", "held")),
        "holds": dict(Hold.objects.values_list("id", "status")),
        "transactions": LedgerTransaction.objects.count(),
    }


@pytest.mark.parametrize(
    "kind", ["fund", "withdraw", "transfer", "split", "batch", "hold_create", "hold_capture", "reverse"]
)
def test_every_staff_route_above_the_threshold_waits_then_runs_once_approved(maker, checker, routes, kind):
    path, body = routes["requests"][kind]
    before = _snapshot()
    answer = post(maker, path, body)
    assert answer.status_code == 202, answer.json()
    approval = answer.json()["data"]
    assert (approval["kind"], approval["status"]) == (kind, "pending")
    assert _snapshot() == before, "nothing moved while it waits"
    own = post(maker, f"/approvals/{approval['approval_id']}/approve")
    assert own.status_code == 403  # never the requester (who may not approve at all here)
    approved = post(checker, f"/approvals/{approval['approval_id']}/approve")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["data"]["status"] == "approved"
    assert _snapshot() != before, "the movement ran on approval"
    again = post(checker, f"/approvals/{approval['approval_id']}/approve")
    assert again.status_code == 409  # once


def test_a_rejected_staff_transfer_moves_nothing(maker, checker, routes):
    path, body = routes["requests"]["transfer"]
    before = _snapshot()
    approval = post(maker, path, body).json()["data"]
    assert post(checker, f"/approvals/{approval['approval_id']}/reject", {"reason": "no"}).status_code == 200
    assert _snapshot() == before


def test_the_operators_rolling_limit_holds_back_movements_on_many_wallets(maker, make_wallet, settings):
    settings.APPROVAL_OPERATOR_LIMIT_DEFAULT = Decimal("2500")
    wallets = [make_wallet(f"user{n}", "1000") for n in range(4)]
    sink = make_wallet("sink")
    answers = [
        post(
            maker, f"/wallets/{wallet.id}/transfer", {"to_wallet_id": str(sink.id), "amount": "900"}
        ).status_code
        for wallet in wallets
    ]
    assert answers == [200, 200, 202, 202]  # 900 + 900 + 900 would pass 2,500
    assert balance(sink) == Decimal("1800")
    totals = UnapprovedStaffMovement.objects.filter(wallet__isnull=True).values_list("amount", flat=True)
    assert sorted(totals) == [Decimal("900"), Decimal("900")]


def test_the_wallets_rolling_limit_counts_what_it_received_and_sent(maker, make_wallet):
    target, other = make_wallet("carol", "3000"), make_wallet("dave", "3000")
    assert post(maker, f"/wallets/{target.id}/withdraw", {"amount": "1000"}).status_code == 200
    # 1,000 sent by staff; receiving 1,000.0001 more passes its 2,000.
    late = post(
        maker, f"/wallets/{other.id}/transfer", {"to_wallet_id": str(target.id), "amount": "1000.0001"}
    )
    assert late.status_code == 202
    assert (
        post(
            maker, f"/wallets/{other.id}/transfer", {"to_wallet_id": str(target.id), "amount": "1000"}
        ).status_code
        == 200
    )
    assert balance(target) == Decimal("3000")


def test_an_operators_own_wallets_are_not_gated_and_an_end_user_never_meets_the_gate(maker, make_wallet):
    own, also_own = make_wallet("maker", "5000"), make_wallet("maker")
    moved = post(maker, f"/wallets/{own.id}/transfer", {"to_wallet_id": str(also_own.id), "amount": "4000"})
    assert moved.status_code == 200
    alice = make_client("alice")
    mine, theirs = make_wallet("alice", "5000"), make_wallet("bob")
    paid = post(alice, f"/wallets/{mine.id}/transfer", {"to_wallet_id": str(theirs.id), "amount": "4000"})
    assert paid.status_code == 200
    assert not Approval.objects.exists() and not UnapprovedStaffMovement.objects.exists()


def test_an_approver_cannot_approve_their_own_staff_movement_on_any_route(routes):
    both = make_approver("both")
    for kind in ("transfer", "split", "hold_create"):
        path, body = routes["requests"][kind]
        approval = post(both, path, body).json()["data"]
        own = post(both, f"/approvals/{approval['approval_id']}/approve")
        assert (own.status_code, own.json()["code"]) == (403, "own_approval"), kind
        assert Approval.objects.get(id=approval["approval_id"]).status == "pending"


def test_the_admin_refuses_an_approvers_own_staff_transfer(routes, client):
    both = make_approver("both")
    path, body = routes["requests"]["transfer"]
    approval = post(both, path, body).json()["data"]
    call_command("issue_token", "both", "--operator", stdout=open("/dev/null", "w"))  # noqa: SIM115
    client.force_login(get_user_model().objects.get(username="both"))
    client.post(
        "/admin/approvals/approval/",
        {"action": "approve_approvals", "_selected_action": [approval["approval_id"]], "reason": ""},
    )
    assert Approval.objects.get(id=approval["approval_id"]).status == "pending"


def test_the_admin_shows_a_pending_split_and_batch_with_their_requests(maker, routes, client):
    ids = [
        post(maker, *routes["requests"][kind]).json()["data"]["approval_id"] for kind in ("split", "batch")
    ]
    call_command("issue_token", "viewer", "--operator", stdout=open("/dev/null", "w"))  # noqa: SIM115
    client.force_login(get_user_model().objects.get(username="viewer"))
    listed = client.get("/admin/approvals/approval/")
    assert listed.status_code == 200
    assert "split of 2 movement(s)" in listed.content.decode()
    for approval_id in ids:
        page = client.get(f"/admin/approvals/approval/{approval_id}/change/")
        assert page.status_code == 200
        assert str(routes["wallets"][2].id) in page.content.decode()  # the request's legs


@pytest.mark.django_db(transaction=True)
def test_two_operators_at_once_cannot_both_fit_under_a_wallets_limit(settings, make_wallet):
    """The advisory locks: of two concurrent 1,500 transfers into one wallet (limit 2,000), one
    runs and one waits, however they interleave."""
    import threading

    from django.db import connection

    settings.APPROVAL_THRESHOLD_DEFAULT = Decimal("100000")
    target = make_wallet("carol")
    senders = [make_wallet(f"payer{n}", "1500") for n in range(2)]
    operators = [make_client(f"ops{n}", staff=True) for n in range(2)]
    start, answers = threading.Barrier(2), []

    def transfer(n: int) -> None:
        try:
            start.wait(5)
            body = {"to_wallet_id": str(target.id), "amount": "1500"}
            answers.append(post(operators[n], f"/wallets/{senders[n].id}/transfer", body).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=transfer, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answers) == [200, 202]
    assert balance(target) == Decimal("1500")
