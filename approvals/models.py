"""Maker-checker approvals (issue #23): a staff fund, withdrawal or reversal over the threshold is
recorded here as a pending approval instead of being executed, until another operator approves it
(then it runs, once) or rejects it, or it expires.

`Approval` is the request exactly as it was made (what, on which wallet or transaction, how much,
its description, metadata or reason, who asked and when) and its decision (who, when, why, the
ledger transaction it made). `ApprovalEvent` is the audit: one row per step (requested, approved,
rejected, expired, and each execution that failed), written in the same transaction as the step.

PostgreSQL holds the rules whatever code writes: a valid kind and status, the target that suits the
kind, decided fields present exactly when a decision was made, a positive amount, and the decider
never the requester (`approval_decider_not_requester`). The one-pending-reversal-per-transaction
rule is a partial unique index. The pending approvals have a partial index of their own, so the
count and the oldest one's age (`/metrics`, the admin overview) and the expiry sweep read only them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from wallets.models import LedgerTransaction, MoneyField, Wallet
from wallets.staff_gate import KINDS

# The kinds run from their recorded request (everything but the first three, issue #23's).
REQUEST_KINDS = ["transfer", "split", "batch", "hold_create", "hold_capture"]


class Approval(models.Model):
    class Kind(models.TextChoices):  # wallets.staff_gate.KINDS
        FUND = "fund"
        WITHDRAW = "withdraw"
        REVERSE = "reverse"
        TRANSFER = "transfer"
        SPLIT = "split"
        BATCH = "batch"
        HOLD_CREATE = "hold_create"
        HOLD_CAPTURE = "hold_capture"

    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"
        EXPIRED = "expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    wallet = models.ForeignKey(
        Wallet,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="the wallet funded, withdrawn from or sending (fund, withdraw, transfer, holds)",
    )
    reverses = models.ForeignKey(
        LedgerTransaction,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # approval_one_pending_reversal, and approval_reverses_idx
        help_text="the ledger transaction to reverse (reverse)",
    )
    currency = models.CharField(max_length=3)
    amount = MoneyField(help_text="the amount to move; for a reversal, the original's")
    description = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 -- null: none given
    metadata = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True, default="", help_text="a reversal's reason, as requested")
    request = models.JSONField(
        default=dict, blank=True, help_text="the movement as requested, run on approval (wallets.staff_gate)"
    )
    result = models.JSONField(
        default=dict, blank=True, help_text="what the approved movement made besides its transaction"
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True, help_text="approved, rejected or expired at")
    decision_reason = models.TextField(blank=True, default="")
    transaction = models.OneToOneField(
        LedgerTransaction,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approval",
        help_text="the ledger transaction the approval made",
    )
    last_error_code = models.CharField(
        max_length=50, blank=True, default="", help_text="the last failed execution's error code"
    )
    last_error = models.TextField(blank=True, default="", help_text="the last failed execution's error")

    class Meta:
        permissions = [
            ("approve_adjustment", "Can approve or reject another operator's fund, withdrawal or reversal")
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=KINDS), name="approval_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "approved", "rejected", "expired"]),
                name="approval_status_valid",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="approval_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=["fund", "withdraw"], wallet__isnull=False, reverses__isnull=True)
                | Q(kind="reverse", wallet__isnull=True, reverses__isnull=False)
                | Q(kind__in=REQUEST_KINDS, reverses__isnull=True),
                name="approval_target_suits_kind",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("requested_at")), name="approval_expires_after_request"
            ),
            # Decided fields exactly when decided: an approval names who and the transaction it
            # made; a rejection who and why; an expiry only when.
            models.CheckConstraint(
                condition=Q(
                    status="pending",
                    decided_by__isnull=True,
                    decided_at__isnull=True,
                    transaction__isnull=True,
                    decision_reason="",
                )
                | (
                    Q(status="approved", decided_by__isnull=False, decided_at__isnull=False)
                    & (Q(transaction__isnull=False) | Q(kind__in=["batch", "hold_create"]))
                )
                | (
                    Q(status="rejected", decided_by__isnull=False, decided_at__isnull=False)
                    & Q(transaction__isnull=True)
                    & ~Q(decision_reason="")
                )
                | Q(
                    status="expired",
                    decided_by__isnull=True,
                    decided_at__isnull=False,
                    transaction__isnull=True,
                ),
                name="approval_decision_consistent",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="approval_decider_not_requester",
            ),
            # Two pending reversals of one transaction could never both run.
            models.UniqueConstraint(
                fields=["reverses"], condition=Q(status="pending"), name="approval_one_pending_reversal"
            ),
        ]
        indexes = [
            models.Index(fields=["-requested_at", "-id"], name="approval_requested_idx"),
            models.Index(fields=["reverses"], name="approval_reverses_idx"),
            # The pending ones only: their count and oldest (metrics, overview) and the expiry sweep.
            models.Index(fields=["requested_at"], condition=Q(status="pending"), name="approval_pending_idx"),
            models.Index(
                fields=["expires_at"], condition=Q(status="pending"), name="approval_pending_expiry_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} ({self.status}) {self.id}"


class UnapprovedStaffMovement(models.Model):
    """What staff moved without a second operator, for the rolling limits (approvals/policy.py):
    per movement one row without a wallet (the operator's total, per currency) and one per wallet
    it debited or credited. Written in the movement's own transaction; append-only in practice."""

    operator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    currency = models.CharField(max_length=3)
    amount = MoneyField()
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="staff_movement_amount_positive")
        ]
        indexes = [
            models.Index(
                fields=["operator", "currency", "at"],
                condition=Q(wallet__isnull=True),
                name="staff_movement_operator_idx",
            ),
            models.Index(
                fields=["wallet", "at"], condition=Q(wallet__isnull=False), name="staff_movement_wallet_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operator_id} moved {self.amount} {self.currency} at {self.at}"


class StaffMovementMinute(models.Model):
    """What staff moved without a second operator, summed per minute: one row per operator, currency
    and minute (no wallet) and one per customer wallet and minute (no operator). The policy's window
    sums read at most the window's minutes of these, not every movement (approvals/policy.py); the
    row is added to in the movement's own transaction, beside its `UnapprovedStaffMovement` rows."""

    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # the unique (operator, currency, minute) serves it
    )
    wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    currency = models.CharField(max_length=3)
    minute = models.DateTimeField(help_text="the start of the minute its movements were made in")
    # A sum of money amounts, each up to DECIMAL(19,4)'s largest: exact, four places, wider.
    amount = MoneyField(max_digits=38)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="staff_minute_amount_positive"),
            models.CheckConstraint(
                condition=Q(operator__isnull=True) ^ Q(wallet__isnull=True),
                name="staff_minute_operator_or_wallet",
            ),
            models.UniqueConstraint(
                fields=["operator", "currency", "minute"],
                condition=Q(wallet__isnull=True),
                name="staff_minute_operator_unique",
            ),
            models.UniqueConstraint(
                fields=["wallet", "minute"],
                condition=Q(wallet__isnull=False),
                name="staff_minute_wallet_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operator_id or self.wallet_id} moved {self.amount} {self.currency} in {self.minute}"


class ApprovalEvent(models.Model):
    """The audit of one step of an approval: who did what, when, through what, and why.

    `actor` is text (a username, or `beat` for the expiry), like the token audit: the record
    outlives whatever it names. A `failed` row is an approval whose movement was refused (its error
    code and message): the approval stayed pending and the ledger unchanged.
    """

    class Action(models.TextChoices):
        REQUESTED = "requested"
        APPROVED = "approved"
        REJECTED = "rejected"
        EXPIRED = "expired"
        FAILED = "failed"

    class Via(models.TextChoices):
        API = "api"
        ADMIN = "admin"
        BEAT = "beat"

    approval = models.ForeignKey(Approval, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=10, choices=Action.choices)
    actor = models.CharField(max_length=150, help_text="a username, or beat for the expiry")
    via = models.CharField(max_length=10, choices=Via.choices)
    at = models.DateTimeField()
    note = models.TextField(blank=True, default="", help_text="the reason given, or the error")
    error_code = models.CharField(max_length=50, blank=True, default="")
    transaction_id = models.UUIDField(null=True, blank=True, help_text="the ledger transaction made")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=["requested", "approved", "rejected", "expired", "failed"]),
                name="approval_event_action_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.approval_id} by {self.actor}"
