"""Wallet events as ../shared/spec/events.md defines them: one per wallet touched, one per wallet
version (with ../shared/spec/holds.md's additions: schema version 2).

`leg_index` (issue #22) is an addition to version 2 that every event carries: the leg of a
MULTI_LEG transaction (or of its reversal) the event belongs to, null for every other movement. A
consumer of version 2 ignores keys it does not know (events.md), so it is not a new version.

An event's id is one the ledger already holds, so the history can be rebuilt from the ledger with
the ids Kafka carried (`history/ledger_rebuild.py`): a movement's event has its ledger entry's id, a
WALLET_CREATED its wallet's, a HOLD_CREATED its hold's, and a HOLD_RELEASED its hold's id with the
version nibble 8 (`release_event_id`; RFC 9562's custom version, which no other id has).

Built here, written as outbox rows (`kafka_bridge.outbox`) by `ledger_writes` in the same statement
as the change they describe, published by `kafka_bridge`, consumed by `history`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from common.ids import new_id
from common.times import format_timestamp
from kafka_bridge.outbox import OutboxMessage

from .money import format_money

SCHEMA_VERSION = 2  # what this producer writes
SCHEMA_VERSIONS = (1, 2)  # what consumers accept: version 1 events lack the keys version 2 added
AGGREGATE_TYPE = "wallet"

WALLET_CREATED = "WALLET_CREATED"
WALLET_FUNDED = "WALLET_FUNDED"
WALLET_WITHDRAWN = "WALLET_WITHDRAWN"
TRANSFER_OUT = "TRANSFER_OUT"
TRANSFER_IN = "TRANSFER_IN"
HOLD_CREATED = "HOLD_CREATED"  # the sender's; amount held, balance unchanged, no transaction
HOLD_RELEASED = "HOLD_RELEASED"  # the sender's; amount released (void, expiry, a capture's rest)
REVERSAL_OUT = "REVERSAL_OUT"  # each user wallet a reversal debits
REVERSAL_IN = "REVERSAL_IN"  # each user wallet a reversal credits
EVENT_TYPES = (
    WALLET_CREATED,
    WALLET_FUNDED,
    WALLET_WITHDRAWN,
    TRANSFER_OUT,
    TRANSFER_IN,
    HOLD_CREATED,
    HOLD_RELEASED,
    REVERSAL_OUT,
    REVERSAL_IN,
)


RELEASE_ID_VERSION = 8


def release_event_id(hold_id: uuid.UUID) -> uuid.UUID:
    """The id of a hold's HOLD_RELEASED: the hold's id with version nibble 8 (the SQL twin is in
    history/ledger_rebuild.py)."""
    return uuid.UUID(int=(hold_id.int & ~(0xF << 76)) | (RELEASE_ID_VERSION << 76))


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
    held_after: Decimal = Decimal(0)
    hold_id: uuid.UUID | None = None
    reverses_transaction_id: uuid.UUID | None = None
    description: str | None = None
    metadata: dict[str, str] | None = None
    leg_index: int | None = None  # the leg of a MULTI_LEG transaction (or its reversal), from 0

    def ledger_id(self, entry_id: uuid.UUID | None = None) -> uuid.UUID:
        """The event's id: given, else its entry's (`entry_id`, a movement's), else its wallet's or
        hold's (module note); a new one only for an event the ledger does not hold."""
        if self.event_id is not None:
            return self.event_id
        if entry_id is not None:
            return entry_id
        if self.event_type == WALLET_CREATED:
            return self.wallet_id
        if self.hold_id is not None and self.event_type == HOLD_CREATED:
            return self.hold_id
        if self.hold_id is not None and self.event_type == HOLD_RELEASED:
            return release_event_id(self.hold_id)
        return new_id()

    def outbox_message(self, entry_id: uuid.UUID | None = None) -> OutboxMessage:
        """This event as the outbox stores it: keyed by wallet, so a wallet's events stay in order."""
        event_id = self.ledger_id(entry_id)
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
            "held_after": format_money(self.held_after),
            "hold_id": str(self.hold_id) if self.hold_id else None,
            "reverses_transaction_id": str(self.reverses_transaction_id)
            if self.reverses_transaction_id
            else None,
            "description": self.description,
            "metadata": self.metadata or {},
            "leg_index": self.leg_index,
        }
