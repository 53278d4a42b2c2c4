"""Request validation and response shapes.

Input serializers validate bodies. Responses are built by the small `*_data` functions (the hot
path stays cheap); the output serializers describe the same shapes for the OpenAPI schema, and a
test checks the two agree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.times import format_timestamp
from wallets.models import LedgerEntry
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


class AmountInput(serializers.Serializer):  # type: ignore[type-arg]
    amount = AmountField(help_text='A decimal string such as "100.00" (or a JSON number), at most 4 places.')


class StrictUUIDField(serializers.UUIDField):
    """A UUID given as a string only: DRF would read `true` or a number as UUID(int=...)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class TransferInput(AmountInput):
    to_wallet_id = StrictUUIDField()


class WalletOutput(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.UUIDField()
    user_id = serializers.CharField()
    currency = serializers.CharField()
    balance = serializers.CharField(help_text='Four decimal places: "100.0000".')
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
    balance_after = serializers.CharField()
    created_at = serializers.DateTimeField()


def wallet_data(wallet: Any) -> dict[str, Any]:
    """A wallet as the API shows it."""
    return {
        "id": str(wallet.id),
        "user_id": wallet.user_id,
        "currency": wallet.currency,
        "balance": format_money(wallet.balance),
        "version": wallet.version,
        "status": wallet.status,
        "created_at": format_timestamp(wallet.created_at),
        "updated_at": format_timestamp(wallet.updated_at),
    }


def transaction_data(entry: Any, reference_id: Any, created_at: Any) -> dict[str, Any]:
    """A user wallet's ledger entry as the seed's TransactionResponse (amount unsigned)."""
    return {
        "transaction_id": str(entry.id),
        "wallet_id": str(entry.wallet_id),
        "amount": format_money(abs(entry.amount)),
        "type": entry.type,
        "status": "COMPLETED",
        "reference_id": str(reference_id),
        "balance_after": format_money(entry.balance_after),
        "created_at": format_timestamp(created_at),
    }
