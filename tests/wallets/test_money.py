"""Amount parsing, property-based: exact, never rounded, never through a float."""

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.parsers import ExactJSONParser, JsonNumber
from wallets.errors import InvalidAmount
from wallets.money import MAX_MONEY, format_money, parse_amount

valid_amounts = st.decimals(min_value=Decimal("0.0001"), max_value=MAX_MONEY, places=4, allow_nan=False)


def parse_body(text: str):
    import io

    return ExactJSONParser().parse(io.BytesIO(text.encode()), "application/json", {})


@given(valid_amounts)
def test_every_valid_amount_round_trips_exactly_as_string(amount):
    text = format(amount, "f")
    assert parse_amount(text) == amount
    assert format_money(parse_amount(text)) == format_money(amount)


@given(valid_amounts)
def test_json_numbers_are_parsed_from_their_text_not_a_float(amount):
    body = parse_body(f'{{"amount": {format(amount, "f")}}}')
    assert isinstance(body["amount"], JsonNumber)
    assert parse_amount(body["amount"]) == amount


@given(st.integers(min_value=1, max_value=10**15 - 1))
def test_integers_are_amounts(value):
    assert parse_amount(str(value)) == Decimal(value)
    assert parse_amount(JsonNumber(str(value))) == Decimal(value)


@given(valid_amounts, st.integers(min_value=1, max_value=9))
def test_a_fifth_decimal_place_is_refused_never_rounded(amount, digit):
    with pytest.raises(InvalidAmount, match="decimal places"):
        parse_amount(
            f"{format(amount, 'f')}{digit}" if "." in format(amount, "f") else f"{amount}.0000{digit}"
        )


@given(st.decimals(max_value=Decimal(0), allow_nan=False, allow_infinity=False, places=4))
def test_zero_and_negatives_are_refused(amount):
    with pytest.raises(InvalidAmount):
        parse_amount(format(amount, "f"))


@given(st.integers(min_value=10**15, max_value=10**30))
def test_more_than_15_integer_digits_is_refused(value):
    with pytest.raises(InvalidAmount, match="integer digits"):
        parse_amount(str(value))


@given(st.text(max_size=30).filter(lambda t: not t.replace(".", "", 1).isdigit() or not t.isascii()))
def test_arbitrary_text_never_parses_unless_it_is_a_plain_decimal(text):
    try:
        amount = parse_amount(text)
    except InvalidAmount:
        return
    # Only plain ASCII decimals may get here: digits with at most one point.
    assert text.replace(".", "", 1).isdigit() and text.isascii()
    assert amount > 0


@pytest.mark.parametrize(
    "value",
    [
        "1e3",
        "1E3",
        "1.5e2",
        "150e-2",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "",
        " ",
        " 1",
        "1 ",
        "+1",
        "-1",
        "0",
        "0.0",
        "0.00000",
        "1.",
        ".5",
        "1,00",
        "0x10",
        "١٢",
        "１",
    ],
)
def test_malformed_strings_are_refused(value):
    with pytest.raises(InvalidAmount):
        parse_amount(value)


@pytest.mark.parametrize("value", [True, False, None, 1.5, 3, {}, [], Decimal("1")])
def test_values_that_are_not_strings_or_json_numbers_are_refused(value):
    with pytest.raises(InvalidAmount):
        parse_amount(value)


@pytest.mark.parametrize("literal", ["1e3", "NaN", "Infinity", "-Infinity", "-5", "1.00001"])
def test_json_number_literals_that_are_not_amounts_are_refused(literal):
    with pytest.raises(InvalidAmount):
        parse_amount(parse_body(f'{{"amount": {literal}}}')["amount"])


def test_float_would_have_lost_precision_but_parsing_does_not():
    text = "999999999999999.9999"  # 19 significant digits: a float keeps ~16
    assert float(json.loads(text)) != Decimal(text)
    assert parse_amount(parse_body(f'{{"amount": {text}}}')["amount"]) == Decimal(text)


def test_format_money_always_has_four_places():
    assert format_money(Decimal("100")) == "100.0000"
    assert format_money(Decimal("0.5")) == "0.5000"
    assert format_money(Decimal("123456789012345.6789")) == "123456789012345.6789"
