"""Wallet events as ../shared/spec/events.md defines them: one per wallet touched.

Built here, written as outbox rows (`kafka_bridge.outbox`) by `ledger_writes` in the same statement
as the change they describe, published by `kafka_bridge`, consumed by `history`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from common.times import format_timestamp
from kafka_bridge.outbox import OutboxMessage

from .money import format_money

SCHEMA_VERSION = 1
AGGREGATE_TYPE = "wallet"

WALLET_CREATED = "WALLET_CREATED"
WALLET_FUNDED = "WALLET_FUNDED"
WALLET_WITHDRAWN = "WALLET_WITHDRAWN"
TRANSFER_OUT = "TRANSFER_OUT"
TRANSFER_IN = "TRANSFER_IN"
EVENT_TYPES = (WALLET_CREATED, WALLET_FUNDED, WALLET_WITHDRAWN, TRANSFER_OUT, TRANSFER_IN)


@dataclass(frozen=True)
class WalletEvent:
    event_type: str
    occurred_at: datetime
    wallet_id: uuid.UUID
    user_id: str
    currency: str
    amount: Decimal
    balance_after: Decimal
    wallet_version: int
    transaction_id: uuid.UUID | None = None
    counterparty_wallet_id: uuid.UUID | None = None
    counterparty_user_id: str | None = None
    event_id: uuid.UUID | None = None

    def outbox_message(self) -> OutboxMessage:
        """This event as the outbox stores it: keyed by wallet, so a wallet's events stay in order."""
        event_id = self.event_id or uuid.uuid4()
        return OutboxMessage(
            event_id=event_id,
            aggregatetype=AGGREGATE_TYPE,
            aggregateid=str(self.wallet_id),
            type=self.event_type,
            payload=self.payload(event_id),
        )

    def payload(self, event_id: uuid.UUID) -> dict[str, Any]:
        return {
            "event_id": str(event_id),
            "event_type": self.event_type,
            "schema_version": SCHEMA_VERSION,
            "occurred_at": format_timestamp(self.occurred_at),
            "wallet_id": str(self.wallet_id),
            "user_id": self.user_id,
            "currency": self.currency,
            "amount": format_money(self.amount),
            "balance_after": format_money(self.balance_after),
            "wallet_version": self.wallet_version,
            "transaction_id": str(self.transaction_id) if self.transaction_id else None,
            "counterparty_wallet_id": str(self.counterparty_wallet_id)
            if self.counterparty_wallet_id
            else None,
            "counterparty_user_id": self.counterparty_user_id,
        }
