"""The history event as the API shows it (../shared/spec/api.md, "History event").

`history_event_data` builds responses (cheap, no serializer on the hot path); `HistoryEventOutput`
describes the same shape for the OpenAPI schema, and a test checks the two agree.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from common.times import format_timestamp
from history.event_types import EVENT_TYPES
from wallets.money import format_money

V1_NULL = " Null in events recorded from schema_version 1 messages (before API v1.1)."


class HistoryEventOutput(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField(help_text="The history row's number; event_id is the event's identity.")
    event_id = serializers.UUIDField()
    event_type = serializers.ChoiceField(choices=list(EVENT_TYPES))
    wallet_id = serializers.UUIDField()
    user_id = serializers.CharField()
    amount = serializers.CharField(help_text='Four decimal places, unsigned: "30.0000".')
    currency = serializers.CharField()
    balance_after = serializers.CharField()
    wallet_version = serializers.IntegerField(help_text="The wallet's version after this event.")
    transaction_id = serializers.UUIDField(allow_null=True, help_text="Links both legs of a transfer.")
    counterparty_wallet_id = serializers.UUIDField(allow_null=True)
    held_after = serializers.CharField(
        allow_null=True, help_text="The wallet's held amount after this event, like balance_after." + V1_NULL
    )
    hold_id = serializers.UUIDField(
        allow_null=True, help_text="The hold of a HOLD_* event, or of the capture a transfer is."
    )
    reverses_transaction_id = serializers.UUIDField(
        allow_null=True, help_text="For REVERSAL_OUT and REVERSAL_IN: the transaction reversed."
    )
    description = serializers.CharField(allow_null=True, max_length=255)
    metadata = serializers.DictField(
        child=serializers.CharField(max_length=500),
        allow_null=True,
        help_text="The movement's or hold's own references ({} when none)." + V1_NULL,
    )
    leg_index = serializers.IntegerField(
        allow_null=True, help_text="The leg of a MULTI_LEG transaction (or of its reversal), from 0."
    )
    created_at = serializers.DateTimeField(help_text="When it happened.")
    recorded_at = serializers.DateTimeField(help_text="When the history service stored it.")


def history_event_data(event: Any) -> dict[str, Any]:
    return {
        "id": event.id,
        "event_id": str(event.event_id),
        "event_type": event.event_type,
        "wallet_id": str(event.wallet_id),
        "user_id": event.user_id,
        "amount": format_money(event.amount),
        "currency": event.currency,
        "balance_after": format_money(event.balance_after),
        "wallet_version": event.wallet_version,
        "transaction_id": str(event.transaction_id) if event.transaction_id else None,
        "counterparty_wallet_id": str(event.counterparty_wallet_id) if event.counterparty_wallet_id else None,
        "held_after": None if event.held_after is None else format_money(event.held_after),
        "hold_id": str(event.hold_id) if event.hold_id else None,
        "reverses_transaction_id": str(event.reverses_transaction_id)
        if event.reverses_transaction_id
        else None,
        "description": event.description,
        "metadata": event.metadata,
        "leg_index": event.leg_index,
        "created_at": format_timestamp(event.occurred_at),
        "recorded_at": format_timestamp(event.recorded_at),
    }
