"""Every approval step emits one event (issue #23): an outbox row of aggregatetype `approval`, keyed
by the approval's id, written in the transaction of the step's audit row, so a step that rolls
back leaves neither. What the relays do with the rows (their own topic, never the wallet topic):
tests/kafka_bridge/test_approval_events.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from approvals import services
from approvals.models import Approval, ApprovalEvent
from common.times import format_timestamp
from kafka_bridge.models import OutboxEvent
from kafka_bridge.outbox import OutboxMessage
from wallets import services as wallet_services

from .conftest import post

pytestmark = pytest.mark.django_db

STEP_TYPES = {
    "requested": "APPROVAL_REQUESTED",
    "approved": "APPROVAL_APPROVED",
    "rejected": "APPROVAL_REJECTED",
    "expired": "APPROVAL_EXPIRED",
    "failed": "APPROVAL_FAILED",
}


def approval_rows(approval_id: Any = None) -> list[OutboxEvent]:
    rows = OutboxEvent.objects.filter(aggregatetype="approval")
    if approval_id is not None:
        rows = rows.filter(aggregateid=str(approval_id))
    return list(rows.order_by("id"))


def steps(approval_id: Any) -> list[ApprovalEvent]:
    return list(ApprovalEvent.objects.filter(approval_id=approval_id).order_by("id"))


def expected(approval: Approval, step: ApprovalEvent, row: OutboxEvent, **changes: Any) -> dict[str, Any]:
    """The payload the step's row must hold: the approval's identity and the audit row's facts."""
    payload = {
        "event_id": str(row.event_id),
        "event_type": STEP_TYPES[step.action],
        "schema_version": 1,
        "occurred_at": format_timestamp(step.at),
        "approval_id": str(approval.id),
        "kind": approval.kind,
        "status": approval.status,
        "wallet_id": str(approval.wallet_id) if approval.wallet_id else None,
        "reverses_transaction_id": str(approval.reverses_id) if approval.reverses_id else None,
        "currency": approval.currency,
        "amount": f"{approval.amount:.4f}",
        "requested_by": approval.requested_by.get_username(),
        "actor": step.actor,
        "via": step.via,
        "reason": step.note or None,
        "error_code": None,
        "error": None,
        "transaction_id": str(step.transaction_id) if step.transaction_id else None,
    }
    return {**payload, **changes}


def assert_one_event_per_step(approval_id: Any, **changes_by_action: dict[str, Any]) -> None:
    """The approval's outbox rows are its audit rows, one each, in order, with the exact payload."""
    approval = Approval.objects.select_related("requested_by").get(id=approval_id)
    audit, rows = steps(approval_id), approval_rows(approval_id)
    assert [row.type for row in rows] == [STEP_TYPES[step.action] for step in audit]
    for step, row in zip(audit, rows, strict=True):
        assert (row.aggregatetype, row.aggregateid, row.created_at) == ("approval", str(approval.id), step.at)
        assert row.payload["event_id"] == str(row.event_id)
        # `status` is the approval's after the step: pending until it is decided or expired.
        status = approval.status if step.action in ("approved", "rejected", "expired") else "pending"
        want = expected(approval, step, row, status=status, **changes_by_action.get(step.action, {}))
        assert row.payload == want, step.action


def test_a_request_and_its_approval_each_write_one_event_beside_the_wallet_event(maker, checker, make_wallet):
    wallet = make_wallet("alice", "10")
    body = {"amount": "2500", "description": "wire 4711", "metadata": {"ticket": "OPS-9"}}
    response = post(maker, f"/wallets/{wallet.id}/fund", body)
    assert response.status_code == 202
    approval_id = response.json()["data"]["approval_id"]
    (requested,) = approval_rows(approval_id)
    assert requested.payload["reason"] == "wire 4711"  # the request's description, as its audit row
    wallet_rows = OutboxEvent.objects.filter(aggregatetype="wallet").count()

    approved = post(checker, f"/approvals/{approval_id}/approve", {"reason": "wire seen"})
    assert approved.status_code == 200
    assert_one_event_per_step(approval_id)
    last = approval_rows(approval_id)[-1].payload
    assert (last["event_type"], last["status"], last["actor"], last["requested_by"], last["reason"]) == (
        "APPROVAL_APPROVED",
        "approved",
        "checker",
        "maker",
        "wire seen",
    )
    assert last["transaction_id"] == approved.json()["data"]["transaction_id"]
    # The movement wrote its wallet event as any fund does, to the wallet aggregate.
    assert OutboxEvent.objects.filter(aggregatetype="wallet").count() == wallet_rows + 1
    assert not OutboxEvent.objects.filter(aggregatetype="wallet", type__startswith="APPROVAL_").exists()


def test_a_reversal_request_and_its_rejection_each_write_one_event(maker, checker, alice, make_wallet):
    payer, payee = make_wallet("alice", "100"), make_wallet("bob")
    legs = post(alice, f"/wallets/{payer.id}/transfer", {"to_wallet_id": str(payee.id), "amount": "3"}).json()
    original = legs["data"][0]["reference_id"]
    approval_id = post(maker, f"/transactions/{original}/reverse", {"reason": "duplicate"}).json()["data"][
        "approval_id"
    ]
    rejected = post(checker, f"/approvals/{approval_id}/reject", {"reason": "not a duplicate"})
    assert rejected.status_code == 200
    assert_one_event_per_step(approval_id)
    requested, decided = (row.payload for row in approval_rows(approval_id))
    assert (requested["kind"], requested["wallet_id"], requested["reverses_transaction_id"]) == (
        "reverse",
        None,
        original,
    )
    assert (requested["amount"], requested["reason"]) == ("3.0000", "duplicate")
    assert (decided["event_type"], decided["reason"], decided["transaction_id"]) == (
        "APPROVAL_REJECTED",
        "not a duplicate",
        None,
    )


def test_a_refused_movement_writes_a_failed_event_and_no_approved_one(maker, checker, make_wallet):
    wallet = make_wallet("alice", "3000")
    approval_id = post(maker, f"/wallets/{wallet.id}/withdraw", {"amount": "2500"}).json()["data"][
        "approval_id"
    ]
    wallet_services.wallet_withdraw(wallet_id=wallet.id, amount=Decimal("1000"), initiated_by="script")
    wallet_rows = OutboxEvent.objects.filter(aggregatetype="wallet").count()

    refused = post(checker, f"/approvals/{approval_id}/approve")
    assert (refused.status_code, refused.json()["code"]) == (400, "insufficient_funds")
    message = refused.json()["error"]
    assert_one_event_per_step(
        approval_id, failed={"reason": None, "error_code": "insufficient_funds", "error": message}
    )
    assert [row.type for row in approval_rows(approval_id)] == ["APPROVAL_REQUESTED", "APPROVAL_FAILED"]
    assert OutboxEvent.objects.filter(aggregatetype="wallet").count() == wallet_rows  # nothing moved


def test_expiry_writes_one_event_per_expired_approval(maker, make_wallet):
    wallet = make_wallet("alice")
    ids = [
        post(maker, f"/wallets/{wallet.id}/fund", {"amount": amount}).json()["data"]["approval_id"]
        for amount in ("2000", "3000", "4000")
    ]
    past = timezone.now() - timedelta(seconds=1)
    Approval.objects.filter(id__in=ids[:2]).update(requested_at=past - timedelta(hours=1), expires_at=past)

    assert services.approvals_expire_due() == 2
    for approval_id in ids[:2]:
        assert_one_event_per_step(approval_id)
        expired = approval_rows(approval_id)[-1].payload
        assert (expired["event_type"], expired["status"], expired["actor"], expired["via"]) == (
            "APPROVAL_EXPIRED",
            "expired",
            "beat",
            "beat",
        )
    assert [row.type for row in approval_rows(ids[2])] == ["APPROVAL_REQUESTED"]  # not due
    assert services.approvals_expire_due() == 0
    assert len(approval_rows()) == 5


class Boom(Exception):
    pass


def test_a_step_that_rolls_back_writes_no_event(maker, checker, make_wallet):
    wallet = make_wallet("alice")
    requester = get_user_model().objects.get(username="maker")
    approver = get_user_model().objects.get(username="checker")
    before = len(approval_rows())

    with pytest.raises(Boom), transaction.atomic():
        services.movement_request(
            wallet_id=wallet.id,
            amount=Decimal("2000"),
            withdraw=False,
            note=wallet_services.Note("rolled back"),
            requested_by=requester,
            via="api",
        )
        raise Boom
    assert (len(approval_rows()), Approval.objects.count(), ApprovalEvent.objects.count()) == (before, 0, 0)

    approval = services.movement_request(
        wallet_id=wallet.id,
        amount=Decimal("2000"),
        withdraw=False,
        note=wallet_services.Note(),
        requested_by=requester,
        via="api",
    )
    with pytest.raises(Boom), transaction.atomic():
        services.approval_reject(approval_id=approval.id, approver=approver, reason="no", via="api")
        raise Boom
    with pytest.raises(Boom), transaction.atomic():
        services.approval_approve(approval_id=approval.id, approver=approver, via="api")
        raise Boom
    assert [row.type for row in approval_rows(approval.id)] == ["APPROVAL_REQUESTED"]
    assert [step.action for step in steps(approval.id)] == ["requested"]
    assert Approval.objects.get(id=approval.id).status == "pending"
    assert_one_event_per_step(approval.id)


def test_the_outbox_refuses_an_aggregate_type_without_a_topic():
    with pytest.raises(ValueError, match="no topic for aggregatetype 'hold'"):
        OutboxMessage(event_id=uuid.uuid4(), aggregatetype="hold", aggregateid="x", type="X", payload={})
