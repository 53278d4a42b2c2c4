"""Request validation and response shapes.

Input serializers validate bodies. Responses are built by the small `*_data` functions (the hot
path stays cheap); the output serializers describe the same shapes for the OpenAPI schema, and a
test checks the two agree.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.errors import ApplicationError
from common.parsers import JsonNumber
from common.times import format_timestamp
from wallets import metadata as notes
from wallets.holds import EXPIRES_IN_DEFAULT, EXPIRES_IN_MAX, EXPIRES_IN_MIN
from wallets.models import Hold, LedgerEntry, LedgerTransaction, TransactionLeg
from wallets.money import AMOUNT_PATTERN, MAX_INTEGER_DIGITS, MONEY_DECIMAL_PLACES, format_money, parse_amount
from wallets.permissions import USER_ID_MAX_LENGTH, USER_ID_PATTERN

# The schema of a request amount, from `wallets.money`'s rule: the string form is AMOUNT_PATTERN; the
# number form is the same rule read from the number's text, so besides its bounds it must be written
# in plain decimal notation (`1e3` is refused, `1000` is not).
AMOUNT_SCHEMA = {
    "oneOf": [
        {"type": "string", "pattern": AMOUNT_PATTERN, "example": "100.00"},
        {
            "type": "number",
            "minimum": 0,
            "exclusiveMinimum": True,
            "maximum": 10**MAX_INTEGER_DIGITS,
            "exclusiveMaximum": True,
            "multipleOf": 10.0**-MONEY_DECIMAL_PLACES,
            "description": "Plain decimal notation, as the string form: no exponent.",
            "example": 100.0,
        },
    ]
}


@extend_schema_field(AMOUNT_SCHEMA)
class AmountField(serializers.Field[Decimal, Any, str, Any]):
    """An exact amount; a bad one is answered 400 invalid_amount, not validation_error."""

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is serializers.empty:
            return super().validate_empty_values(data)
        return False, data  # null and the rest reach to_internal_value and are refused there

    def to_internal_value(self, data: Any) -> Decimal:
        return parse_amount(data)  # InvalidAmount is answered 400 invalid_amount

    def to_representation(self, value: Decimal) -> str:
        return format_money(value)


class WalletCreateInput(serializers.Serializer):  # type: ignore[type-arg]
    user_id = serializers.RegexField(USER_ID_PATTERN, max_length=USER_ID_MAX_LENGTH, trim_whitespace=False)
    currency = serializers.ChoiceField(choices=[], required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        currency: Any = self.fields["currency"]
        currency.choices = settings.WALLET_CURRENCIES


def _from_form(field: serializers.Field[Any, Any, Any, Any], data: Any) -> bool:
    """Text posted by the browsable API's HTML form (see common.api.ApiView.browser_form)."""
    return isinstance(data, str) and bool(field.context.get("browser_form"))


@extend_schema_field(
    {
        "type": "string",
        "nullable": True,
        "maxLength": notes.DESCRIPTION_MAX_LENGTH,
        "pattern": notes.TEXT_PATTERN,
        "description": f"Your text, up to {notes.DESCRIPTION_MAX_LENGTH} characters (no NUL).",
    }
)
class DescriptionField(serializers.Field[str | None, Any, str | None, Any]):
    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is serializers.empty:
            return super().validate_empty_values(data)
        return False, data

    def to_internal_value(self, data: Any) -> str | None:
        if data == "" and _from_form(self, data):
            return None
        try:
            return notes.parse_description(data)
        except notes.InvalidNote as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value: str | None) -> str | None:
        return value


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": notes.MAX_KEYS,
        "additionalProperties": {
            "type": "string",
            "maxLength": notes.VALUE_MAX_LENGTH,
            "pattern": notes.TEXT_PATTERN,
        },
        "description": (
            f"Your references: up to {notes.MAX_KEYS} keys of 1-{notes.KEY_MAX_LENGTH} characters, "
            f"string values of up to {notes.VALUE_MAX_LENGTH} characters (no NUL). Anything else is 400."
        ),
        "example": {"order_id": "A-1001"},
    }
)
class MetadataField(serializers.Field[dict[str, str], Any, dict[str, str], Any]):
    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is serializers.empty:
            return super().validate_empty_values(data)
        return False, data

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if _from_form(self, data):  # a form's text box holds the JSON object
            try:
                data = json.loads(data) if data.strip() else {}
            except ValueError:
                raise serializers.ValidationError("metadata must be a JSON object.") from None
        try:
            return notes.parse_metadata(data)
        except notes.InvalidNote as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value: dict[str, str]) -> dict[str, str]:
        return value


# The order a form asks in (the browsable API's HTML forms, the schema's properties): where the
# money goes and how much first, then the optional note.
FORM_ORDER = ("legs", "from_wallet_id", "to_wallet_id", "amount", "expires_in", "description", "metadata")
METADATA_EXAMPLE = '{"order_id": "A-1001"}'


class NoteInput(serializers.Serializer):  # type: ignore[type-arg]
    """`description` and `metadata`, accepted by every movement and hold."""

    description = DescriptionField(
        required=False,
        help_text=f"Optional: your text, up to {notes.DESCRIPTION_MAX_LENGTH} characters (no NUL).",
    )
    metadata = MetadataField(
        required=False,
        help_text=(
            f"Optional: your references, a JSON object such as {METADATA_EXAMPLE}: up to "
            f"{notes.MAX_KEYS} keys of 1-{notes.KEY_MAX_LENGTH} characters, string values of up to "
            f"{notes.VALUE_MAX_LENGTH} characters (no NUL). Anything else is 400."
        ),
        style={"base_template": "textarea.html", "rows": 3, "placeholder": METADATA_EXAMPLE},
    )

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        first = {name: fields[name] for name in FORM_ORDER if name in fields}
        return {**first, **{name: field for name, field in fields.items() if name not in first}}


class AmountInput(NoteInput):
    amount = AmountField(help_text='A decimal string such as "100.00" (or a JSON number), at most 4 places.')


class StrictUUIDField(serializers.UUIDField):
    """A UUID given as a string only: DRF would read `true` or a number as UUID(int=...)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class TransferInput(AmountInput):
    to_wallet_id = StrictUUIDField(help_text="The receiving wallet's id.")


class LegInput(TransferInput):
    """One leg of a multi-leg transaction, or one transfer of a batch."""

    from_wallet_id = StrictUUIDField(help_text="The sending wallet's id.")


class LegListField(serializers.ListField):
    """A list of legs whose errors name the leg: `legs[3].amount`, not a list of mostly empty objects."""

    def __init__(self, *, name: str, max_length: int, **kwargs: Any) -> None:
        super().__init__(child=LegInput(), min_length=1, max_length=max_length, **kwargs)
        self.items = name

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list):
            return super().to_internal_value(data)  # "Expected a list of items ..."
        if not data:
            self.fail("min_length", min_length=self.min_length)
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        flat: dict[str, Any] = {}
        values = []
        for index, item in enumerate(data):
            try:
                values.append(self.child.run_validation(item))
            except ApplicationError as exc:  # an amount's own refusal (invalid_amount)
                pointer = f"{self.items}[{index}].amount"
                raise type(exc)(f"{pointer}: {exc.message}", details={"field": pointer}) from None
            except serializers.ValidationError as exc:
                detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
                for field_name, messages in detail.items():
                    suffix = "" if field_name == "non_field_errors" else f".{field_name}"
                    flat[f"{self.items}[{index}]{suffix}"] = messages
        if flat:
            raise serializers.ValidationError(flat)
        return values


class _LegErrorsAtTop:
    """A leg list's errors as top-level details (`{"legs[1].amount": [...]}`), not nested under
    the list's name."""

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                flat: dict[str, Any] = {}
                for name, detail in exc.detail.items():
                    if isinstance(detail, dict) and all(str(key).startswith(f"{name}[") for key in detail):
                        flat.update(detail)
                    else:
                        flat[name] = detail
                raise serializers.ValidationError(flat) from None
            raise


class MultiLegInput(_LegErrorsAtTop, NoteInput):
    legs = LegListField(
        name="legs", max_length=100, help_text="1-100 legs, moved in this order, all or none."
    )


class BatchInput(_LegErrorsAtTop, serializers.Serializer):  # type: ignore[type-arg]
    transfers = LegListField(name="transfers", max_length=1000, help_text="1-1,000 transfers, in order.")
    atomic = serializers.BooleanField(
        required=False,
        default=False,
        help_text="true: all or none, as one MULTI_LEG transaction (at most 100 transfers).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("atomic") and len(attrs["transfers"]) > 100:
            raise serializers.ValidationError({"transfers": ["An atomic batch has at most 100 transfers."]})
        return attrs


@extend_schema_field(
    {"type": "integer", "minimum": EXPIRES_IN_MIN, "maximum": EXPIRES_IN_MAX, "default": EXPIRES_IN_DEFAULT}
)
class ExpiresInField(serializers.Field[int, Any, int, Any]):
    """Whole seconds, written as a JSON integer (a form's text of digits too)."""

    def to_internal_value(self, data: Any) -> int:
        text = data.text if isinstance(data, JsonNumber) else data if _from_form(self, data) else None
        if text is None or not text.isascii() or not text.isdigit() or len(text) > 10:
            raise serializers.ValidationError("expires_in must be a whole number of seconds.")
        value = int(text)
        if not EXPIRES_IN_MIN <= value <= EXPIRES_IN_MAX:
            raise serializers.ValidationError(
                f"expires_in must be from {EXPIRES_IN_MIN} to {EXPIRES_IN_MAX} seconds."
            )
        return value

    def to_representation(self, value: int) -> int:
        return value


class HoldInput(TransferInput):
    expires_in = ExpiresInField(
        required=False,
        help_text=(
            f"Seconds until the hold expires: {EXPIRES_IN_MIN}-{EXPIRES_IN_MAX} "
            f"(default {EXPIRES_IN_DEFAULT})."
        ),
    )


class CaptureInput(NoteInput):
    amount = AmountField(
        required=False, help_text="How much to capture, at most the hold (default: all of it)."
    )


class VoidInput(serializers.Serializer):  # type: ignore[type-arg]
    """A void takes no fields: the browsable API's form is its button (and idempotency key)."""


class ReverseInput(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.RegexField(
        r"^[^\x00]+$",
        max_length=500,
        trim_whitespace=False,
        help_text="Why: recorded with the reversal (1-500 characters, no NUL).",
    )

    def validate_reason(self, value: str) -> str:
        try:
            return notes.check_text(value, "reason")
        except notes.InvalidNote as exc:
            raise serializers.ValidationError(str(exc)) from None


class WalletOutput(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.UUIDField()
    user_id = serializers.CharField()
    currency = serializers.CharField()
    balance = serializers.CharField(help_text='Four decimal places: "100.0000".')
    held = serializers.CharField(help_text="The sum of the wallet's pending holds.")
    available = serializers.CharField(
        help_text="balance - held: what withdrawals, transfers and holds may use."
    )
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["active", "frozen"])
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TransactionOutput(serializers.Serializer):  # type: ignore[type-arg]
    transaction_id = serializers.UUIDField()
    wallet_id = serializers.UUIDField()
    amount = serializers.CharField()
    type = serializers.ChoiceField(choices=LedgerEntry.Type.values)
    status = serializers.ChoiceField(choices=["COMPLETED"])
    reference_id = serializers.UUIDField(help_text="The ledger transaction: links both legs of a transfer.")
    balance_after = serializers.CharField(
        allow_null=True,
        help_text="The wallet's balance right after this entry; null on another user's wallet "
        "(a counterparty's entry, shown to an end user: who and how much, never their balance).",
    )
    created_at = serializers.DateTimeField()
    description = serializers.CharField(allow_null=True)
    metadata = serializers.DictField(child=serializers.CharField())
    leg_index = serializers.IntegerField(
        allow_null=True, help_text="The leg of a MULTI_LEG transaction (or its reversal), from 0."
    )


class HoldOutput(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.UUIDField()
    from_wallet_id = serializers.UUIDField()
    to_wallet_id = serializers.UUIDField()
    currency = serializers.CharField()
    amount = serializers.CharField()
    captured_amount = serializers.CharField()
    status = serializers.ChoiceField(choices=Hold.Status.values)
    expires_at = serializers.DateTimeField()
    transaction_id = serializers.UUIDField(allow_null=True, help_text="The capture's ledger transaction.")
    description = serializers.CharField(allow_null=True)
    metadata = serializers.DictField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CaptureOutput(serializers.Serializer):  # type: ignore[type-arg]
    hold = HoldOutput()
    transactions = TransactionOutput(many=True, help_text="The capture's two legs: out, then in.")


class LegOutput(serializers.Serializer):  # type: ignore[type-arg]
    index = serializers.IntegerField()
    from_wallet_id = serializers.UUIDField()
    to_wallet_id = serializers.UUIDField()
    currency = serializers.CharField()
    amount = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    metadata = serializers.DictField(child=serializers.CharField())


class LedgerTransactionOutput(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.UUIDField(help_text="The ledger transaction: its entries' reference_id.")
    kind = serializers.ChoiceField(choices=LedgerTransaction.Kind.values)
    status = serializers.ChoiceField(choices=["COMPLETED"])
    description = serializers.CharField(allow_null=True)
    metadata = serializers.DictField(child=serializers.CharField())
    hold_id = serializers.UUIDField(allow_null=True, help_text="The hold a CAPTURE captured.")
    reverses = serializers.UUIDField(allow_null=True, help_text="The transaction a REVERSAL reverses.")
    reversed_by = serializers.UUIDField(allow_null=True, help_text="The REVERSAL of this transaction.")
    reason = serializers.CharField(allow_null=True, help_text="Why a REVERSAL was made.")
    created_at = serializers.DateTimeField()
    entries = TransactionOutput(many=True, help_text="The user wallets' entries, debits first.")
    legs = LegOutput(many=True, help_text="A MULTI_LEG transaction's legs (and its reversal's); else none.")


class BatchItemOutput(serializers.Serializer):  # type: ignore[type-arg]
    index = serializers.IntegerField(help_text="The transfer's position in the request.")
    status = serializers.ChoiceField(choices=["completed", "failed"])
    reference_id = serializers.UUIDField(allow_null=True, help_text="The transfer's ledger transaction.")
    entries = TransactionOutput(many=True, help_text="Completed: its two legs, out then in; failed: none.")
    error = serializers.DictField(
        allow_null=True,
        help_text="Failed: the error envelope's error, code and details; nothing moved for it.",
    )


class BatchOutput(serializers.Serializer):  # type: ignore[type-arg]
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    items = BatchItemOutput(many=True, help_text="One per transfer, in the request's order.")


def wallet_data(wallet: Any) -> dict[str, Any]:
    """A wallet as the API shows it."""
    return {
        "id": str(wallet.id),
        "user_id": wallet.user_id,
        "currency": wallet.currency,
        "balance": format_money(wallet.balance),
        "held": format_money(wallet.held),
        "available": format_money(wallet.balance - wallet.held),
        "version": wallet.version,
        "status": wallet.status,
        "created_at": format_timestamp(wallet.created_at),
        "updated_at": format_timestamp(wallet.updated_at),
    }


def transaction_data(
    entry: Any,
    reference_id: Any,
    created_at: Any,
    description: str | None = None,
    metadata: Any = None,
    *,
    balance_hidden: bool = False,
) -> dict[str, Any]:
    """A user wallet's ledger entry as the seed's TransactionResponse (amount unsigned), with its
    transaction's description and metadata; `balance_after` null if `balance_hidden` (another
    user's wallet: `permissions.balances_hidden_from`)."""
    return {
        "transaction_id": str(entry.id),
        "wallet_id": str(entry.wallet_id),
        "amount": format_money(abs(entry.amount)),
        "type": entry.type,
        "status": "COMPLETED",
        "reference_id": str(reference_id),
        "balance_after": None if balance_hidden else format_money(entry.balance_after),
        "created_at": format_timestamp(created_at),
        "description": description,
        "metadata": metadata or {},
        "leg_index": entry.leg,
    }


def movement_legs(result: Any, note: Any, hidden: Collection[uuid.UUID] = ()) -> list[dict[str, Any]]:
    """The user legs of a movement just made (`transaction_id`, `created_at`, `entries`), each with
    the movement's description and metadata (`note`); the wallets in `hidden` without balance."""
    return [
        transaction_data(
            e,
            result.transaction_id,
            result.created_at,
            note.description,
            note.metadata,
            balance_hidden=e.wallet_id in hidden,
        )
        for e in result.entries
    ]


def entry_data(entry: LedgerEntry, legs: list[TransactionLeg] | None = None) -> dict[str, Any]:
    """A ledger entry read with its transaction (`select_related("transaction")`), and the legs
    of that transaction if it has any (`selectors.legs_for_entries`)."""
    return entry_note_data(entry, entry.transaction, legs or [])


def hold_data(hold: Hold) -> dict[str, Any]:
    return {
        "id": str(hold.id),
        "from_wallet_id": str(hold.from_wallet_id),
        "to_wallet_id": str(hold.to_wallet_id),
        "currency": hold.currency,
        "amount": format_money(hold.amount),
        "captured_amount": format_money(hold.captured_amount),
        "status": hold.status,
        "expires_at": format_timestamp(hold.expires_at),
        "transaction_id": str(hold.transaction_id) if hold.transaction_id else None,
        "description": hold.description,
        "metadata": hold.metadata,
        "created_at": format_timestamp(hold.created_at),
        "updated_at": format_timestamp(hold.updated_at),
    }


def leg_data(leg: Any) -> dict[str, Any]:
    return {
        "index": leg.index,
        "from_wallet_id": str(leg.from_wallet_id),
        "to_wallet_id": str(leg.to_wallet_id),
        "currency": leg.currency,
        "amount": format_money(leg.amount),
        "description": leg.description,
        "metadata": leg.metadata or {},
    }


def ledger_transaction_data(
    txn: LedgerTransaction,
    entries: list[LedgerEntry],
    legs: list[TransactionLeg] | None = None,
    hidden: Collection[uuid.UUID] = (),
) -> dict[str, Any]:
    """A ledger transaction with the entries and legs given (`selectors.transaction_get_visible`
    chooses them); the wallets in `hidden` without balance."""
    reversed_by = getattr(txn, "reversed_by", None)
    captured = getattr(txn, "hold", None)
    return {
        "id": str(txn.id),
        "kind": txn.kind,
        "status": "COMPLETED",
        "description": txn.description,
        "metadata": txn.metadata,
        "hold_id": str(captured.id) if captured is not None else None,
        "reverses": str(txn.reverses_id) if txn.reverses_id else None,
        "reversed_by": str(reversed_by.id) if reversed_by is not None else None,
        "reason": txn.reason if txn.kind == LedgerTransaction.Kind.REVERSAL else None,
        "created_at": format_timestamp(txn.created_at),
        "entries": [entry_note_data(e, txn, legs or [], e.wallet_id in hidden) for e in entries],
        "legs": [leg_data(leg) for leg in legs or []],
    }


def entry_note_data(
    entry: Any, txn: Any, legs: list[TransactionLeg], balance_hidden: bool = False
) -> dict[str, Any]:
    """An entry with its leg's description and metadata if the leg has either, else its
    transaction's (wallets.multi_leg.leg_note)."""
    own = next((leg for leg in legs if leg.index == entry.leg), None) if entry.leg is not None else None
    note = own if own is not None and (own.description is not None or own.metadata) else txn
    return transaction_data(
        entry, txn.id, txn.created_at, note.description, note.metadata, balance_hidden=balance_hidden
    )
