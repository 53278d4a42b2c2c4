"""Decoding and validating one Kafka message against the event contract (../shared/spec/events.md).

Why strict: the history is the record operators and users read, so a message is stored only if it
is exactly what the contract says (JSON object, every field with its type, a known event type,
schema version 1, exact decimal amounts, RFC 3339 times). Anything else goes to the dead-letter
topic with the reason (`InvalidEvent`), instead of being half-stored or silently dropped. Unknown
extra fields are allowed, so the producer may add fields without breaking this consumer.
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
from wallets.events import EVENT_TYPES, SCHEMA_VERSION, TRANSFER_IN, TRANSFER_OUT, WALLET_CREATED
from wallets.money import MONEY_TEXT

# Any text but NUL (PostgreSQL text cannot hold it) and lone surrogates (not encodable as UTF-8).
_USER_ID = re.compile(r"[^\x00\ud800-\udfff]{1,100}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_MAX_BIGINT = 2**63 - 1
_MAX_TEXT = 255


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
    if schema_version != SCHEMA_VERSION or isinstance(schema_version, bool):
        raise InvalidEvent(f"schema_version must be {SCHEMA_VERSION}, got {repr(schema_version)[:60]}")
    event_type = event.get("event_type")
    if event_type not in EVENT_TYPES:
        raise InvalidEvent(f"event_type is not one of {', '.join(EVENT_TYPES)}: {repr(event_type)[:60]}")
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
    transaction_id = _optional_uuid(event, "transaction_id", required=event_type != WALLET_CREATED)
    counterparty_wallet_id = _optional_uuid(event, "counterparty_wallet_id", required=is_transfer)
    counterparty_user_id = _optional_text(event, "counterparty_user_id", _USER_ID, required=is_transfer)

    if event_type == WALLET_CREATED:
        if amount != 0 or balance_after != 0 or wallet_version != 0:
            raise InvalidEvent("WALLET_CREATED must have amount 0, balance_after 0 and wallet_version 0")
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
    )
