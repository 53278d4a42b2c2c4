"""The approvals' events (issue #23): one per step, for Kafka, on a topic of their own.

Each step (requested, approved, rejected, expired, and an approval whose movement was refused:
failed) is written as an outbox row (`kafka_bridge.outbox`, aggregatetype `approval`, key the
approval's id) in the transaction that writes its `ApprovalEvent` audit row, so it is published
exactly when the step committed, and never lost. The relay sends these rows to
KAFKA_APPROVALS_TOPIC, never to the wallet topic: its consumer, the history, takes wallet events
only. The movement an approval runs writes its own wallet events as any movement does.

The value (schema version 1; README, Maker-checker approvals):

    {"event_id": "uuid", "event_type": "APPROVAL_APPROVED", "schema_version": 1,
     "occurred_at": "2026-01-01T12:00:00.000000Z", "approval_id": "uuid", "kind": "fund",
     "status": "approved", "wallet_id": "uuid", "reverses_transaction_id": null,
     "currency": "USD", "amount": "2500.0000", "requested_by": "ops", "actor": "checker",
     "via": "api", "reason": "wire seen", "error_code": null, "error": null,
     "transaction_id": "uuid"}
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from common.ids import new_id
from common.times import format_timestamp
from kafka_bridge.outbox import OutboxMessage, enqueue
from wallets.money import format_money

from .models import Approval, ApprovalEvent

SCHEMA_VERSION = 1
AGGREGATE_TYPE = "approval"

APPROVAL_REQUESTED = "APPROVAL_REQUESTED"
APPROVAL_APPROVED = "APPROVAL_APPROVED"
APPROVAL_REJECTED = "APPROVAL_REJECTED"
APPROVAL_EXPIRED = "APPROVAL_EXPIRED"
APPROVAL_FAILED = "APPROVAL_FAILED"  # the movement was refused; the approval stays pending

EVENT_TYPES = {
    ApprovalEvent.Action.REQUESTED: APPROVAL_REQUESTED,
    ApprovalEvent.Action.APPROVED: APPROVAL_APPROVED,
    ApprovalEvent.Action.REJECTED: APPROVAL_REJECTED,
    ApprovalEvent.Action.EXPIRED: APPROVAL_EXPIRED,
    ApprovalEvent.Action.FAILED: APPROVAL_FAILED,
}


def _text(value: str) -> str | None:
    return value or None


def _uuid(value: Any) -> str | None:
    return str(value) if value is not None else None


def message(approval: Approval, step: ApprovalEvent) -> OutboxMessage:
    """The outbox row of one step (`step`, its audit row) of `approval` (as it is after the step)."""
    event_id = new_id()
    event_type = EVENT_TYPES[ApprovalEvent.Action(step.action)]
    failed = step.action == ApprovalEvent.Action.FAILED
    payload = {
        "event_id": str(event_id),
        "event_type": event_type,
        "schema_version": SCHEMA_VERSION,
        "occurred_at": format_timestamp(step.at),
        "approval_id": str(approval.id),
        "kind": approval.kind,
        "status": approval.status,
        "wallet_id": _uuid(approval.wallet_id),
        "reverses_transaction_id": _uuid(approval.reverses_id),
        "currency": approval.currency,
        "amount": format_money(approval.amount),
        "requested_by": approval.requested_by.get_username(),
        "actor": step.actor,
        "via": step.via,
        "reason": None if failed else _text(step.note),
        "error_code": _text(step.error_code) if failed else None,
        "error": _text(step.note) if failed else None,
        "transaction_id": _uuid(step.transaction_id),
    }
    return OutboxMessage(
        event_id=event_id,
        aggregatetype=AGGREGATE_TYPE,
        aggregateid=str(approval.id),
        type=event_type,
        payload=payload,
    )


def emit(steps: Iterable[tuple[Approval, ApprovalEvent]], at: datetime) -> None:
    """Write the steps' events now, in the current transaction (the one writing their audit rows)."""
    messages = [message(approval, step) for approval, step in steps]
    if messages:
        enqueue(messages, at)
