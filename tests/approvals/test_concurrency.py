"""Exactly once, with real threads and connections: operators approving one approval at the same
moment (and the expiry sweep racing them) execute its movement once; the others are told it is no
longer pending. Committed data (`transactional_db`), as in tests/wallets/test_concurrency.py."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from approvals.models import Approval, ApprovalEvent
from approvals.services import approvals_expire_due
from kafka_bridge.models import OutboxEvent
from tests.conftest import make_approver, make_client
from tests.wallets.test_concurrency import new_wallet, run_in_threads
from wallets.models import LedgerTransaction

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_approvals_execute_the_movement_once():
    approvers = 8
    wallet = new_wallet("alice")
    maker = make_client("maker", staff=True)
    requested = maker.post(f"/wallets/{wallet.id}/fund", {"amount": "2500.5"}, format="json")
    assert requested.status_code == 202, requested.content
    approval_id = requested.json()["data"]["approval_id"]
    clients = [make_approver(f"checker{i}") for i in range(approvers)]
    answers: list[tuple[int, str | None]] = []

    def work(index: int, barrier: threading.Barrier) -> None:
        barrier.wait()
        response = clients[index].post(f"/approvals/{approval_id}/approve", {}, format="json")
        answers.append((response.status_code, response.json().get("code")))

    run_in_threads(approvers, work)

    assert sorted(answers, key=str) == sorted(
        [(200, None)] + [(409, "approval_not_pending")] * (approvers - 1), key=str
    )
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.version) == (Decimal("2500.5000"), 1)
    assert LedgerTransaction.objects.filter(kind="FUND").count() == 1
    assert OutboxEvent.objects.filter(type="WALLET_FUNDED", aggregateid=str(wallet.id)).count() == 1
    approval = Approval.objects.get(id=approval_id)
    assert approval.status == "approved"
    assert list(
        ApprovalEvent.objects.filter(approval=approval).values_list("action", flat=True).order_by("id")
    ) == [
        "requested",
        "approved",
    ]


def test_concurrent_approve_and_reject_decide_once():
    wallet = new_wallet("bob", Decimal("3000"))
    maker = make_client("maker", staff=True)
    approval_id = maker.post(f"/wallets/{wallet.id}/withdraw", {"amount": "2000"}, format="json").json()[
        "data"
    ]["approval_id"]
    clients = [make_approver("yes"), make_approver("no")]
    answers: dict[str, int] = {}

    def work(index: int, barrier: threading.Barrier) -> None:
        verb, body = ("approve", {}) if index == 0 else ("reject", {"reason": "looks wrong"})
        barrier.wait()
        answers[verb] = (
            clients[index].post(f"/approvals/{approval_id}/{verb}", body, format="json").status_code
        )

    run_in_threads(2, work)

    assert sorted(answers.values()) == [200, 409]
    approval = Approval.objects.get(id=approval_id)
    wallet.refresh_from_db()
    if approval.status == "approved":
        assert wallet.balance == Decimal("1000") and answers["approve"] == 200
    else:
        assert (
            approval.status == "rejected" and wallet.balance == Decimal("3000") and answers["reject"] == 200
        )


def test_the_expiry_sweep_never_expires_an_approval_being_approved():
    wallet = new_wallet("carol")
    maker = make_client("maker", staff=True)
    approval_id = maker.post(f"/wallets/{wallet.id}/fund", {"amount": "5000"}, format="json").json()["data"][
        "approval_id"
    ]
    checker = make_approver("checker")
    soon = timezone.now() + timedelta(seconds=1)
    Approval.objects.filter(id=approval_id).update(expires_at=soon)
    outcome: dict[str, object] = {}

    def work(index: int, barrier: threading.Barrier) -> None:
        barrier.wait()
        if index == 0:
            outcome["approve"] = checker.post(
                f"/approvals/{approval_id}/approve", {}, format="json"
            ).status_code
        else:
            outcome["expired"] = approvals_expire_due(now=soon + timedelta(seconds=1))

    run_in_threads(2, work)

    approval = Approval.objects.get(id=approval_id)
    wallet.refresh_from_db()
    if approval.status == "approved":
        assert outcome["approve"] == 200 and wallet.balance == Decimal("5000")
    else:
        assert approval.status == "expired" and wallet.balance == 0 and outcome["approve"] == 409
