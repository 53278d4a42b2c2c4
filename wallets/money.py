"""Money parsing and formatting: exact decimals only, never a binary float.

Requests may carry an amount as a JSON string (`"100.00"`) or a JSON number (`100.00`). The API's
JSON parser keeps numbers as their source text (`JsonNumber`), so both go through one strict
grammar: digits, optionally a point and 1-4 more digits. No sign, exponent, whitespace, NaN or
Infinity; at most 15 integer digits (DECIMAL(19,4)); zero is not an amount. Too many decimal
places are rejected, never rounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

MONEY_MAX_DIGITS = 19
MONEY_DECIMAL_PLACES = 4
MAX_INTEGER_DIGITS = MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES
MAX_MONEY = Decimal(10) ** MAX_INTEGER_DIGITS - Decimal("0.0001")
QUANTUM = Decimal("0.0001")

_AMOUNT = re.compile(r"(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?")


@dataclass(frozen=True)
class JsonNumber:
    """A JSON number as it was written in the request body (see `wallets.api.parsers`)."""

    text: str

    def __str__(self) -> str:  # error messages quote the number as written, not this class
        return self.text


class InvalidAmount(ValueError):
    """The reason an amount was refused, in words fit for the API's error message."""


def parse_amount(value: object) -> Decimal:
    """Parse a request amount exactly; raise InvalidAmount with the reason if it is not one."""
    if isinstance(value, JsonNumber):
        text = value.text
    elif isinstance(value, str):
        text = value
    else:
        raise InvalidAmount('amount must be a decimal string such as "100.00" or a JSON number')
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise InvalidAmount(
            "amount must be a positive decimal number with digits and an optional point only "
            "(no sign, exponent, spaces, NaN or Infinity)"
        )
    fraction = match.group("frac") or ""
    if len(fraction) > MONEY_DECIMAL_PLACES:
        raise InvalidAmount(f"amount has more than {MONEY_DECIMAL_PLACES} decimal places")
    if len(match.group("int").lstrip("0")) > MAX_INTEGER_DIGITS:
        raise InvalidAmount(f"amount has more than {MAX_INTEGER_DIGITS} integer digits")
    amount = Decimal(text)
    if amount == 0:
        raise InvalidAmount("amount must be greater than zero")
    return amount.quantize(QUANTUM)


def format_money(amount: Decimal) -> str:
    """Four decimal places, as the seed's DECIMAL(19,4) columns: `"100.0000"`."""
    return f"{amount.quantize(QUANTUM):f}"
