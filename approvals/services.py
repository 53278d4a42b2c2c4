"""Writes of the maker-checker flow (issue #23): request, approve, reject, record a failed
execution, expire. HackSoft-style: keyword-only arguments, one transaction each.

Request: the adjustment's own rules are checked at once, without a lock or a write to the ledger
(the wallet exists and is active, a withdrawal is covered by what is available, a fund stays under
the largest balance; a reversal's transaction exists, may be reversed and was not), so an operator
never approves what was impossible from the start; then the exact request is recorded as pending,
with its audit row.

Approve: the approval row is locked (`select_for_update`) in the caller's durable transaction, the
same one the movement runs in (`transaction.atomic(savepoint=False)`, as the wallets' services):
a second approver waits for the lock, then finds it no longer pending (409 `approval_not_pending`),
so the movement runs exactly once. The movement is the wallets' own service, so every rule is
checked again under the wallets' locks at that moment. If it is refused, nothing commits
(`MovementRefused` carries the movement's error out of the transaction, which rolls back) and
**the approval stays pending** (*choice*: funds may arrive or a wallet be unfrozen, and an
operator can then approve it again, or reject it, or let it expire); `failures_recorded` then
records the attempt (a `failed` audit row and the approval's `last_error`) in a transaction of its
own and re-raises the movement's error, which the API answers with its own status and envelope.
The ledger is unchanged either way.

Events: each step is an `ApprovalEvent` row (the audit) and an event for Kafka (`events.py`: an
outbox row of aggregatetype `approval`, keyed by the approval's id, relayed to
KAFKA_APPROVALS_TOPIC), both in the step's own transaction (`_record`): a step that rolls back
leaves neither. The movement an approval runs writes its usual wallet events, through the outbox,
to the wallet topic, as any.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import ApplicationError, ValidationFailed
from wallets import reversals, staff_gate
from wallets import services as wallet_services
from wallets.errors import AlreadyReversed, NotReversible, TransactionNotFound, WalletFrozen, WalletNotFound
from wallets.models import LedgerEntry, LedgerTransaction, Wallet

from . import events
from .errors import (
    ApprovalAlreadyPending,
    ApprovalExpired,
    ApprovalNotFound,
    ApprovalNotPending,
    MayNotApprove,
    OwnApproval,
)
from .models import REQUEST_KINDS, Approval, ApprovalEvent

PERMISSION = "approvals.approve_adjustment"
EXPIRY_BATCH = 500


class MovementRefused(Exception):
    """The movement an approval ran was refused with `error`; raised out of the transaction so that
    it rolls back, then caught by `failures_recorded`."""

    def __init__(self, approval_id: uuid.UUID, error: ApplicationError) -> None:
        self.approval_id = approval_id
        self.error = error
        super().__init__(error.message)


def may_decide(user: Any) -> bool:
    """Whether a user may approve or reject (someone else's) adjustments."""
    return bool(getattr(user, "is_staff", False)) and bool(user.has_perm(PERMISSION))


def _audit(
    approval: Approval,
    action: str,
    *,
    actor: str,
    via: str,
    at: datetime,
    note: str = "",
    error_code: str = "",
    transaction_id: uuid.UUID | None = None,
) -> ApprovalEvent:
    return ApprovalEvent(
        approval=approval,
        action=action,
        actor=actor,
        via=via,
        at=at,
        note=note,
        error_code=error_code,
        transaction_id=transaction_id,
    )


def _record(approval: Approval, step: ApprovalEvent) -> None:
    """Save a step's audit row and write its event, in the current transaction."""
    step.save()
    events.emit([(approval, step)], step.at)


def _expiry(now: datetime) -> datetime:
    return now + timedelta(hours=float(settings.APPROVAL_EXPIRY_HOURS))


# --- request -----------------------------------------------------------------------------------------


def movement_request(
    *,
    wallet_id: uuid.UUID,
    amount: Decimal,
    withdraw: bool,
    note: wallet_services.Note,
    requested_by: Any,
    via: str,
) -> Approval:
    """Record a staff fund or withdrawal as pending, its rules checked now (see the module)."""
    wallet = Wallet.objects.filter(id=wallet_id, kind=Wallet.Kind.USER).first()
    if wallet is None:
        raise WalletNotFound()
    if wallet.status != Wallet.Status.ACTIVE:
        raise WalletFrozen()
    probe = copy.copy(wallet)  # the movement's own steps, on a copy: nothing is written
    now = timezone.now()
    if withdraw:
        wallet_services.debit(probe, amount, now)
    else:
        wallet_services.credit(probe, amount, now)
    return _requested(
        Approval(
            kind=Approval.Kind.WITHDRAW if withdraw else Approval.Kind.FUND,
            wallet=wallet,
            currency=wallet.currency,
            amount=amount,
            description=note.description,
            metadata=note.metadata,
            requested_by=requested_by,
            requested_at=now,
            expires_at=_expiry(now),
        ),
        via=via,
    )


def _requested(approval: Approval, *, via: str) -> Approval:
    """Save a new pending approval with its `requested` step (the description as its note)."""
    with transaction.atomic(savepoint=False):
        approval.save(force_insert=True)
        _record(
            approval,
            _audit(
                approval,
                ApprovalEvent.Action.REQUESTED,
                actor=approval.requested_by.get_username(),
                via=via,
                at=approval.requested_at,
                note=approval.description or "",
            ),
        )
    return approval


def staff_request(
    *,
    kind: str,
    request: dict[str, Any],
    wallet_id: uuid.UUID | None,
    currency: str,
    amount: Decimal,
    requested_by: Any,
    via: str,
) -> Approval:
    """Record a staff transfer, split, batch or hold movement as pending, exactly as requested
    (`request`, run by `wallets.staff_gate.execute` on approval). Its rules are checked when it
    runs, under the wallets' locks: a refusal then leaves it pending, its last error recorded."""
    now = timezone.now()
    return _requested(
        Approval(
            kind=kind,
            wallet_id=wallet_id,
            currency=currency,
            amount=amount,
            description=request.get("description"),
            metadata=request.get("metadata") or {},
            request=request,
            requested_by=requested_by,
            requested_at=now,
            expires_at=_expiry(now),
        ),
        via=via,
    )


def reversed_amount(original: LedgerTransaction) -> tuple[str, Decimal]:
    """A ledger transaction's currency and the amount a reversal of it moves (its largest leg)."""
    legs = list(LedgerEntry.objects.filter(transaction=original).values_list("currency", "amount"))
    if not legs:
        raise TransactionNotFound()
    return legs[0][0], max(abs(amount) for _, amount in legs)


def reversal_request(*, original: LedgerTransaction, reason: str, requested_by: Any, via: str) -> Approval:
    """Record a staff reversal as pending, its rules checked now (see the module)."""
    if original.kind not in reversals.REVERSIBLE:
        raise NotReversible()
    if LedgerTransaction.objects.filter(reverses=original).exists():
        raise AlreadyReversed()
    currency, amount = reversed_amount(original)
    now = timezone.now()
    approval = Approval(
        kind=Approval.Kind.REVERSE,
        reverses=original,
        currency=currency,
        amount=amount,
        reason=reason,
        requested_by=requested_by,
        requested_at=now,
        expires_at=_expiry(now),
    )
    try:
        with transaction.atomic(savepoint=False):
            if Approval.objects.filter(reverses=original, status=Approval.Status.PENDING).exists():
                raise ApprovalAlreadyPending()
            approval.save(force_insert=True)
            _record(
                approval,
                _audit(
                    approval,
                    ApprovalEvent.Action.REQUESTED,
                    actor=requested_by.get_username(),
                    via=via,
                    at=now,
                    note=reason,
                ),
            )
    except IntegrityError as exc:  # approval_one_pending_reversal: one made meanwhile
        if "approval_one_pending_reversal" in str(exc):
            raise ApprovalAlreadyPending() from exc
        raise
    return approval


# --- decide ------------------------------------------------------------------------------------------


def _lock_pending(approval_id: uuid.UUID, decider: Any, now: datetime) -> Approval:
    """The approval, locked, if `decider` may decide it now."""
    approval = (
        Approval.objects.select_for_update(of=("self",))
        .select_related("requested_by")
        .filter(id=approval_id)
        .first()
    )
    if approval is None:
        raise ApprovalNotFound()
    if approval.requested_by_id == decider.pk:
        raise OwnApproval()
    if approval.status != Approval.Status.PENDING:
        raise ApprovalNotPending()
    if approval.expires_at <= now:
        raise ApprovalExpired()  # the expiry sweep marks it
    return approval


def _execute(approval: Approval) -> uuid.UUID | None:
    """Run the movement the approval describes, as its requester asked it; the ledger transaction
    (none for a hold's creation or a batch of separate transfers: `approval.result` names theirs)."""
    initiated_by = approval.requested_by.get_username()
    if approval.kind in REQUEST_KINDS:
        executed = staff_gate.execute(approval.kind, approval.request, initiated_by=initiated_by)
        approval.result = executed.result
        return executed.transaction_id
    if approval.kind == Approval.Kind.REVERSE:
        assert approval.reverses_id is not None
        result = reversals.transaction_reverse(
            transaction_id=approval.reverses_id, reason=approval.reason, initiated_by=initiated_by
        )
    else:
        assert approval.wallet_id is not None
        result = wallet_services.system_movement(
            wallet_id=approval.wallet_id,
            amount=approval.amount,
            initiated_by=initiated_by,
            withdraw=approval.kind == Approval.Kind.WITHDRAW,
            note=wallet_services.Note(approval.description, approval.metadata or {}),
        )
    return result.transaction_id


def approval_approve(*, approval_id: uuid.UUID, approver: Any, reason: str = "", via: str) -> Approval:
    """Approve and execute, once (call inside a durable transaction: see the module)."""
    if not may_decide(approver):
        raise MayNotApprove()
    with transaction.atomic(savepoint=False):
        now = timezone.now()
        approval = _lock_pending(approval_id, approver, now)
        try:
            transaction_id = _execute(approval)
        except ApplicationError as refusal:
            raise MovementRefused(approval.id, refusal) from refusal
        approval.transaction_id = transaction_id
        _decide(approval, Approval.Status.APPROVED, approver=approver, reason=reason, via=via, at=now)
    return approval


def approval_reject(*, approval_id: uuid.UUID, approver: Any, reason: str, via: str) -> Approval:
    """Reject: nothing moves; the reason is required and recorded."""
    if not may_decide(approver):
        raise MayNotApprove()
    if not reason.strip():
        raise ValidationFailed("Give a reason: it is recorded with the rejection.", details={"reason": ""})
    with transaction.atomic(savepoint=False):
        now = timezone.now()
        approval = _lock_pending(approval_id, approver, now)
        _decide(approval, Approval.Status.REJECTED, approver=approver, reason=reason, via=via, at=now)
    return approval


def _decide(approval: Approval, status: str, *, approver: Any, reason: str, via: str, at: Any) -> None:
    """Close a locked pending approval as approved or rejected, with its audit row (the approval's
    `transaction_id`, set by an approval, goes into both)."""
    approval.status = status
    approval.decided_by = approver
    approval.decided_at = at
    approval.decision_reason = reason
    approval.save(
        update_fields=["status", "decided_by", "decided_at", "decision_reason", "transaction", "result"]
    )
    action = (
        ApprovalEvent.Action.APPROVED if status == Approval.Status.APPROVED else ApprovalEvent.Action.REJECTED
    )
    _record(
        approval,
        _audit(
            approval,
            action,
            actor=approver.get_username(),
            via=via,
            at=at,
            note=reason,
            transaction_id=approval.transaction_id,
        ),
    )


def approval_record_failure(*, approval_id: uuid.UUID, actor: str, via: str, error: ApplicationError) -> None:
    """Record an approval whose movement was refused (after its transaction rolled back): a
    `failed` audit row and the approval's last error. Its status stays as it was (pending)."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        approval = (
            Approval.objects.select_for_update(of=("self",))
            .select_related("requested_by")
            .filter(id=approval_id)
            .first()
        )
        if approval is None:
            return
        approval.last_error_code = error.code
        approval.last_error = error.message
        approval.save(update_fields=["last_error_code", "last_error"])
        _record(
            approval,
            _audit(
                approval,
                ApprovalEvent.Action.FAILED,
                actor=actor,
                via=via,
                at=now,
                note=error.message,
                error_code=error.code,
            ),
        )


@contextmanager
def failures_recorded(*, actor: str, via: str) -> Iterator[None]:
    """Around the durable transaction of an approval: a refused movement is recorded, then answered
    with the movement's own error."""
    try:
        yield
    except MovementRefused as failure:
        approval_record_failure(approval_id=failure.approval_id, actor=actor, via=via, error=failure.error)
        raise failure.error from None


# --- expire ------------------------------------------------------------------------------------------


def approvals_expire_due(*, now: datetime | None = None, limit: int = EXPIRY_BATCH) -> int:
    """Mark pending approvals past `expires_at` as expired (oldest first, up to `limit` a run), with
    their audit rows and events, in one transaction. One being decided right now (locked) is left
    to it."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        due = list(
            Approval.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("requested_by")
            .filter(status=Approval.Status.PENDING, expires_at__lte=now)
            .order_by("expires_at")[:limit]
        )
        if not due:
            return 0
        Approval.objects.filter(id__in=[approval.id for approval in due]).update(
            status=Approval.Status.EXPIRED, decided_at=now
        )
        steps = []
        for approval in due:
            approval.status, approval.decided_at = Approval.Status.EXPIRED, now
            steps.append(
                (approval, _audit(approval, ApprovalEvent.Action.EXPIRED, actor="beat", via="beat", at=now))
            )
        ApprovalEvent.objects.bulk_create(step for _approval, step in steps)
        events.emit(steps, now)
    return len(due)
