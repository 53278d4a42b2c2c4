"""Decoding and validating one Kafka message against the event contract (../shared/spec/events.md).

Why strict: the history is the record operators and users read, so a message is stored only if it
is exactly what the contract says (JSON object, every field with its type, a known event type,
schema version 1 or 2, exact decimal amounts, RFC 3339 times). Anything else goes to the dead-letter
topic with the reason (`InvalidEvent`), instead of being half-stored or silently dropped. Unknown
extra fields are allowed, so the producer may add fields without breaking this consumer.

Schema version 2 (API v1.1, ../shared/spec/holds.md) is version 1 plus five keys that are always
present: `held_after`, `hold_id`, `reverses_transaction_id`, `description` and `metadata`. A
version 1 event stores all five as null ("the event did not say"), never as a guessed 0 or {}.
`leg_index` (issue #22: the leg of a multi-leg transaction or its reversal) is an optional key of
either version: absent or null for every other event.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from common.times import parse_rfc3339
from wallets import metadata as note_rules
from wallets.money import MONEY_TEXT

from .event_types import (
    EVENT_TYPES,
    HOLD_TYPES,
    REVERSAL_TYPES,
    SCHEMA_V1_TYPES,
    TRANSFER_IN,
    TRANSFER_OUT,
    WALLET_CREATED,
)

SCHEMA_VERSIONS = (1, 2)
# Any text but NUL (PostgreSQL text cannot hold it) and lone surrogates (not encodable as UTF-8).
_TEXT = r"[^\x00\ud800-\udfff]"
_USER_ID = re.compile(_TEXT + "{1,100}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_MAX_BIGINT = 2**63 - 1
_MAX_TEXT = 255
# The metadata and description limits of ../shared/spec/holds.md ("Metadata"), as the wallets
# define them (an empty key or text is accepted here: the history stores what was published).
_DESCRIPTION = re.compile(_TEXT + f"{{0,{note_rules.DESCRIPTION_MAX_LENGTH}}}")
_METADATA_KEY = re.compile(_TEXT + f"{{0,{note_rules.KEY_MAX_LENGTH}}}")
_METADATA_VALUE = re.compile(_TEXT + f"{{0,{note_rules.VALUE_MAX_LENGTH}}}")
METADATA_MAX_KEYS = note_rules.MAX_KEYS


class InvalidEvent(ValueError):
    """Why a message is not a valid event; the text goes into the DLQ's error header."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a message came from."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """A valid event, ready for the history table."""

    event_id: uuid.UUID
    event_type: str
    wallet_id: uuid.UUID
    user_id: str
    currency: str
    amount: Decimal
    balance_after: Decimal
    wallet_version: int
    transaction_id: uuid.UUID | None
    counterparty_wallet_id: uuid.UUID | None
    counterparty_user_id: str | None
    occurred_at: datetime
    payload: str  # the message value as text: stored as JSONB exactly as received
    origin: Origin
    schema_version: int = 1
    # Schema version 2 only; None in a version 1 event.
    held_after: Decimal | None = None
    hold_id: uuid.UUID | None = None
    reverses_transaction_id: uuid.UUID | None = None
    description: str | None = None
    metadata: dict[str, str] | None = None
    leg_index: int | None = None  # a MULTI_LEG transaction's leg (issue #22); absent before it


def _optional_uuid(event: dict[str, Any], name: str, *, required: bool = False) -> uuid.UUID | None:
    value = event.get(name)
    if value is None:
        if required:
            raise InvalidEvent(f"{name} is missing")
        return None
    if not isinstance(value, str):
        raise InvalidEvent(f"{name} must be a UUID string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidEvent(f"{name} is not a UUID: {value[:60]!r}") from None


def _uuid(event: dict[str, Any], name: str) -> uuid.UUID:
    value = _optional_uuid(event, name, required=True)
    assert value is not None
    return value


def _money(event: dict[str, Any], name: str) -> Decimal:
    value = event.get(name)
    if not isinstance(value, str) or not MONEY_TEXT.fullmatch(value):
        shown = repr(value)[:60] if value is not None else "missing"
        raise InvalidEvent(f"{name} must be a decimal string with at most 4 places, got {shown}")
    return Decimal(value)


def _optional_text(
    event: dict[str, Any], name: str, pattern: re.Pattern[str], *, required: bool = False
) -> str | None:
    value = event.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value):
        shown = repr(value)[:60] if value is not None else "missing"
        raise InvalidEvent(f"{name} is not valid: {shown}")
    return value


def _text(event: dict[str, Any], name: str, pattern: re.Pattern[str]) -> str:
    value = _optional_text(event, name, pattern, required=True)
    assert value is not None
    return value


def _version(event: dict[str, Any]) -> int:
    value = event.get("wallet_version")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_BIGINT:
        raise InvalidEvent(f"wallet_version must be a non-negative integer, got {repr(value)[:60]}")
    return value


_MAX_LEG_INDEX = 999  # a batch's 1,000 transfers at most (a multi-leg transaction: 100 legs)


def _leg_index(event: dict[str, Any]) -> int | None:
    """`leg_index`: absent or null (not a leg), else the leg's position from 0."""
    value = event.get("leg_index")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_LEG_INDEX:
        raise InvalidEvent(
            f"leg_index must be null or an integer from 0 to {_MAX_LEG_INDEX}, got {repr(value)[:60]}"
        )
    return value


def _metadata(event: dict[str, Any]) -> dict[str, str]:
    value = event.get("metadata")
    if not isinstance(value, dict):
        raise InvalidEvent(f"metadata must be a JSON object, got {repr(value)[:60]}")
    if len(value) > METADATA_MAX_KEYS:
        raise InvalidEvent(f"metadata has {len(value)} keys, at most {METADATA_MAX_KEYS} are allowed")
    for key, item in value.items():
        if not _METADATA_KEY.fullmatch(key):
            raise InvalidEvent(
                f"metadata key {key[:60]!r} is not text of at most {note_rules.KEY_MAX_LENGTH} characters"
            )
        if not isinstance(item, str) or not _METADATA_VALUE.fullmatch(item):
            raise InvalidEvent(
                f"metadata[{key[:40]!r}] is not text of at most {note_rules.VALUE_MAX_LENGTH} characters"
            )
    return value


@dataclass(frozen=True, slots=True)
class _V2Fields:
    held_after: Decimal | None = None
    hold_id: uuid.UUID | None = None
    reverses_transaction_id: uuid.UUID | None = None
    description: str | None = None
    metadata: dict[str, str] | None = None


_V2_KEYS = ("held_after", "hold_id", "reverses_transaction_id", "description", "metadata")


def _v2_fields(event: dict[str, Any], event_type: str) -> _V2Fields:
    """The keys schema version 2 adds: each must be present (null where the contract allows it)."""
    missing = [name for name in _V2_KEYS if name not in event]
    if missing:
        raise InvalidEvent(f"schema_version 2 requires {', '.join(missing)}")
    return _V2Fields(
        held_after=_money(event, "held_after"),
        hold_id=_optional_uuid(event, "hold_id", required=event_type in HOLD_TYPES),
        reverses_transaction_id=_optional_uuid(
            event, "reverses_transaction_id", required=event_type in REVERSAL_TYPES
        ),
        description=_optional_text(event, "description", _DESCRIPTION),
        metadata=_metadata(event),
    )


def decode(value: bytes | None, key: bytes | None, origin: Origin) -> HistoryRow:
    """The history row of a message; InvalidEvent (with the reason) if it is not a valid event."""
    if value is None:
        raise InvalidEvent("empty message (no value)")
    try:
        text = value.decode("utf-8")
        event = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidEvent(f"not JSON: {str(exc)[:200]}") from None
    if not isinstance(event, dict):
        raise InvalidEvent("the value is not a JSON object")
    if "\\u0000" in text:  # PostgreSQL text and jsonb cannot hold NUL
        raise InvalidEvent("the event contains a NUL character")

    schema_version = event.get("schema_version")
    if type(schema_version) is not int or schema_version not in SCHEMA_VERSIONS:  # not True, not 1.0
        raise InvalidEvent(f"schema_version must be 1 or 2, got {repr(schema_version)[:60]}")
    event_type = event.get("event_type")
    if event_type not in EVENT_TYPES:
        raise InvalidEvent(f"event_type is not one of {', '.join(EVENT_TYPES)}: {repr(event_type)[:60]}")
    if schema_version == 1 and event_type not in SCHEMA_V1_TYPES:
        raise InvalidEvent(f"{event_type} needs schema_version 2")
    event_id = _uuid(event, "event_id")
    wallet_id = _uuid(event, "wallet_id")
    occurred_at = parse_rfc3339(event.get("occurred_at"))
    if occurred_at is None:
        raise InvalidEvent(f"occurred_at is not an RFC 3339 time: {repr(event.get('occurred_at'))[:60]}")
    user_id = _text(event, "user_id", _USER_ID)
    currency = _text(event, "currency", _CURRENCY)
    amount = _money(event, "amount")
    balance_after = _money(event, "balance_after")
    wallet_version = _version(event)
    is_transfer = event_type in (TRANSFER_OUT, TRANSFER_IN)
    # A hold's events have no ledger transaction (HOLD_RELEASED may name the capture's).
    needs_transaction = event_type != WALLET_CREATED and event_type not in HOLD_TYPES
    transaction_id = _optional_uuid(event, "transaction_id", required=needs_transaction)
    counterparty_wallet_id = _optional_uuid(event, "counterparty_wallet_id", required=is_transfer)
    counterparty_user_id = _optional_text(event, "counterparty_user_id", _USER_ID, required=is_transfer)
    v2 = _v2_fields(event, event_type) if schema_version == 2 else _V2Fields()
    leg_index = _leg_index(event)
    if leg_index is not None and event_type not in (TRANSFER_OUT, TRANSFER_IN, *REVERSAL_TYPES):
        raise InvalidEvent(f"{event_type} cannot have a leg_index (only a leg's transfer or reversal)")

    if event_type == WALLET_CREATED:
        if amount != 0 or balance_after != 0 or wallet_version != 0 or v2.held_after not in (None, 0):
            raise InvalidEvent(
                "WALLET_CREATED must have amount 0, balance_after 0, held_after 0 and wallet_version 0"
            )
    elif amount == 0 or wallet_version == 0:
        raise InvalidEvent(f"{event_type} must have a positive amount and a wallet_version above 0")
    if key is not None and key != str(wallet_id).encode():
        raise InvalidEvent("the message key is not the event's wallet_id")
    if len(origin.topic) > _MAX_TEXT:
        raise InvalidEvent("the topic name is too long to record")
    return HistoryRow(
        event_id=event_id,
        event_type=event_type,
        wallet_id=wallet_id,
        user_id=user_id,
        currency=currency,
        amount=amount,
        balance_after=balance_after,
        wallet_version=wallet_version,
        transaction_id=transaction_id,
        counterparty_wallet_id=counterparty_wallet_id,
        counterparty_user_id=counterparty_user_id,
        occurred_at=occurred_at,
        payload=text,
        origin=origin,
        schema_version=schema_version,
        held_after=v2.held_after,
        hold_id=v2.hold_id,
        reverses_transaction_id=v2.reverses_transaction_id,
        description=v2.description,
        metadata=v2.metadata,
        leg_index=leg_index,
    )
