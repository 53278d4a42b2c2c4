"""The history event as the API shows it (../shared/spec/api.md, "History event").

`history_event_data` builds responses (cheap, no serializer on the hot path); `HistoryEventOutput`
describes the same shape for the OpenAPI schema, and a test checks the two agree.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from common.times import format_timestamp
from wallets.events import EVENT_TYPES
from wallets.money import format_money


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
        "created_at": format_timestamp(event.occurred_at),
        "recorded_at": format_timestamp(event.recorded_at),
    }
