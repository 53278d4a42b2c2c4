"""The event types the history accepts: the wallets' own, plus those of API v1.1 (holds, reversals).

Why a list of its own: the consumer must accept every type of the contract (../shared/spec/events.md
and holds.md) whether or not this build's wallets app already emits it, so a history deployed first
never dead-letters a newer producer's events. It is the wallets' `EVENT_TYPES` followed by the v1.1
types they do not list yet, so once they do, both lists are the same, in the wallets' order.
"""

from __future__ import annotations

from wallets.events import EVENT_TYPES as WALLET_EVENT_TYPES
from wallets.events import TRANSFER_IN, TRANSFER_OUT, WALLET_CREATED, WALLET_FUNDED, WALLET_WITHDRAWN

__all__ = [
    "BALANCE_CREDITS",
    "BALANCE_DEBITS",
    "EVENT_TYPES",
    "HOLD_CREATED",
    "HOLD_RELEASED",
    "HOLD_TYPES",
    "REVERSAL_IN",
    "REVERSAL_OUT",
    "REVERSAL_TYPES",
    "SCHEMA_V1_TYPES",
    "TRANSFER_IN",
    "TRANSFER_OUT",
    "WALLET_CREATED",
    "WALLET_FUNDED",
    "WALLET_WITHDRAWN",
]

HOLD_CREATED = "HOLD_CREATED"
HOLD_RELEASED = "HOLD_RELEASED"
REVERSAL_OUT = "REVERSAL_OUT"
REVERSAL_IN = "REVERSAL_IN"

HOLD_TYPES = (HOLD_CREATED, HOLD_RELEASED)
REVERSAL_TYPES = (REVERSAL_OUT, REVERSAL_IN)
# Schema version 1 has no hold_id or reverses_transaction_id, so it can only carry the seed's five.
SCHEMA_V1_TYPES = (WALLET_CREATED, WALLET_FUNDED, WALLET_WITHDRAWN, TRANSFER_OUT, TRANSFER_IN)
_V1_1_TYPES = (*HOLD_TYPES, *REVERSAL_TYPES)

EVENT_TYPES: tuple[str, ...] = tuple(WALLET_EVENT_TYPES) + tuple(
    t for t in _V1_1_TYPES if t not in WALLET_EVENT_TYPES
)

# How each type moves the wallet's balance (a hold changes `held`, never the balance).
BALANCE_CREDITS = (WALLET_FUNDED, TRANSFER_IN, REVERSAL_IN)
BALANCE_DEBITS = (WALLET_WITHDRAWN, TRANSFER_OUT, REVERSAL_OUT)
