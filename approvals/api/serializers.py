"""Approvals over HTTP: the bodies of approve and reject, the approval object, and the function
that renders it (`approval_data`; `ApprovalOutput` describes the same shape for the schema, and a
test holds the two together)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from approvals.models import Approval
from common.times import format_timestamp
from wallets import metadata as notes
from wallets.money import format_money

REASON_MAX_LENGTH = 500


def _checked_reason(value: str) -> str:
    try:
        return notes.check_text(value, "reason") if value else value
    except notes.InvalidNote as exc:
        raise serializers.ValidationError(str(exc)) from None


class ApproveInput(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.RegexField(
        r"^[^\x00]*$",
        max_length=REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="Optional: why, recorded with the approval (up to 500 characters, no NUL).",
    )

    def validate_reason(self, value: str) -> str:
        return _checked_reason(value)


class RejectInput(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.RegexField(
        r"^[^\x00]*[^\x00\s][^\x00]*$",  # something besides spaces
        max_length=REASON_MAX_LENGTH,
        trim_whitespace=False,
        help_text="Why: recorded with the rejection (1-500 characters, not only spaces, no NUL).",
        error_messages={"invalid": "Give a reason (not only spaces): it is recorded with the rejection."},
    )

    def validate_reason(self, value: str) -> str:
        return _checked_reason(value)


class ApprovalOutput(serializers.Serializer):  # type: ignore[type-arg]
    approval_id = serializers.UUIDField(help_text="The approval's id: GET /approvals/{approval_id}.")
    kind = serializers.ChoiceField(choices=Approval.Kind.values)
    status = serializers.ChoiceField(choices=Approval.Status.values)
    wallet_id = serializers.UUIDField(
        allow_null=True,
        help_text="The wallet funded or withdrawn from, or the sending wallet of a transfer or hold.",
    )
    reverses = serializers.UUIDField(allow_null=True, help_text="The ledger transaction a reversal reverses.")
    currency = serializers.CharField()
    amount = serializers.CharField(
        help_text="What moves (a split's or batch's total); for a reversal, the reversed transaction's."
    )
    request = serializers.DictField(
        help_text="A transfer, split, batch or hold movement exactly as requested (its legs, wallets, "
        "amounts): what an approval runs. Empty for a fund, withdrawal or reversal (the fields above)."
    )
    result = serializers.DictField(
        help_text="What an approved movement made besides transaction_id: a hold's hold_id, a batch's items."
    )
    description = serializers.CharField(allow_null=True)
    metadata = serializers.DictField(child=serializers.CharField())
    reason = serializers.CharField(allow_null=True, help_text="A reversal's reason, as requested.")
    requested_by = serializers.CharField()
    requested_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    decided_by = serializers.CharField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True, help_text="When approved, rejected or expired.")
    decision_reason = serializers.CharField(allow_null=True)
    transaction_id = serializers.UUIDField(
        allow_null=True, help_text="The ledger transaction the approval made: GET /transactions/{id}."
    )
    last_error_code = serializers.CharField(
        allow_null=True, help_text="The last approval attempt the movement refused: its error code."
    )
    last_error = serializers.CharField(allow_null=True)


def approval_data(approval: Approval) -> dict[str, Any]:
    return {
        "approval_id": str(approval.id),
        "kind": approval.kind,
        "status": approval.status,
        "wallet_id": str(approval.wallet_id) if approval.wallet_id else None,
        "reverses": str(approval.reverses_id) if approval.reverses_id else None,
        "currency": approval.currency,
        "amount": format_money(approval.amount),
        "description": approval.description,
        "metadata": approval.metadata or {},
        "request": approval.request or {},
        "result": approval.result or {},
        "reason": approval.reason if approval.kind == Approval.Kind.REVERSE else None,
        "requested_by": approval.requested_by.get_username(),
        "requested_at": format_timestamp(approval.requested_at),
        "expires_at": format_timestamp(approval.expires_at),
        "decided_by": approval.decided_by.get_username() if approval.decided_by else None,
        "decided_at": format_timestamp(approval.decided_at) if approval.decided_at else None,
        "decision_reason": approval.decision_reason or None,
        "transaction_id": str(approval.transaction_id) if approval.transaction_id else None,
        "last_error_code": approval.last_error_code or None,
        "last_error": approval.last_error or None,
    }
