"""Money: the one definition of an amount, exact decimals only, never a binary float.

DECIMAL(19,4) in the database, so money is written as up to 15 integer digits and up to 4 decimal
places, no sign, exponent, whitespace, NaN or Infinity (`MONEY_PATTERN`; the events' amounts and
balances follow it too, zero included). A request's amount is that and greater than zero
(`AMOUNT_PATTERN`, what the OpenAPI schema publishes). Requests may carry it as a JSON string
(`"100.00"`) or a JSON number (`100.00`): the API's JSON parser keeps numbers as their source text
(`common.parsers.JsonNumber`), so both go through the same rule. Extra decimal places are refused,
never rounded.
"""

from __future__ import annotations

import re
from decimal import Decimal

from common.parsers import JsonNumber

from .errors import InvalidAmount

MONEY_MAX_DIGITS = 19
MONEY_DECIMAL_PLACES = 4
MAX_INTEGER_DIGITS = MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES
MAX_MONEY = Decimal(10) ** MAX_INTEGER_DIGITS - Decimal("0.0001")
QUANTUM = Decimal("0.0001")

MONEY_PATTERN = rf"[0-9]{{1,{MAX_INTEGER_DIGITS}}}(?:\.[0-9]{{1,{MONEY_DECIMAL_PLACES}}})?"
AMOUNT_PATTERN = rf"^(?!0*(?:\.0*)?$){MONEY_PATTERN}$"  # the same, not zero (ECMA and Python regex)
MONEY_TEXT = re.compile(MONEY_PATTERN)

_DIGITS = re.compile(r"(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?")  # only to say *why* text is not money


def parse_amount(value: object) -> Decimal:
    """A request amount, exactly; InvalidAmount (400 `invalid_amount`) with the reason otherwise."""
    if isinstance(value, JsonNumber):
        text = value.text
    elif isinstance(value, str):
        text = value
    else:
        raise InvalidAmount('amount must be a decimal string such as "100.00" or a JSON number')
    if MONEY_TEXT.fullmatch(text) is None:
        raise InvalidAmount(_why_not_money(text))
    amount = Decimal(text)
    if amount == 0:
        raise InvalidAmount("amount must be greater than zero")
    return amount.quantize(QUANTUM)


def _why_not_money(text: str) -> str:
    digits = _DIGITS.fullmatch(text)
    if digits is not None and len(digits.group("frac") or "") > MONEY_DECIMAL_PLACES:
        return f"amount has more than {MONEY_DECIMAL_PLACES} decimal places"
    if digits is not None:
        return f"amount has more than {MAX_INTEGER_DIGITS} integer digits"
    return (
        "amount must be a positive decimal number with digits and an optional point only "
        "(no sign, exponent, spaces, NaN or Infinity)"
    )


def format_money(amount: Decimal) -> str:
    """Four decimal places, as the seed's DECIMAL(19,4) columns: `"100.0000"`."""
    return f"{amount.quantize(QUANTUM):f}"
