"""OpenAPI shapes of the balance at a moment and the statement (issue #33): their outputs, query
parameters, download media types and errors."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from common import schema

HASH_HELP = "A chain hash: 64 lowercase hex characters (SHA-256; docs/statements.md); null if not chained."


class BalanceAtOutput(serializers.Serializer):  # type: ignore[type-arg]
    wallet_id = serializers.UUIDField()
    currency = serializers.CharField()
    at = serializers.DateTimeField(help_text="The moment asked for, in UTC.")
    balance = serializers.CharField(help_text='After the last change at or before `at`: "100.0000".')
    held = serializers.CharField(help_text="The pending holds at that moment.")
    available = serializers.CharField(help_text="balance - held at that moment.")
    version = serializers.IntegerField(help_text="The wallet's version at that moment (0: no change yet).")


class StatementEntryOutput(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.UUIDField(help_text="The ledger entry.")
    transaction_id = serializers.UUIDField(help_text="The ledger transaction it belongs to.")
    type = serializers.CharField()
    amount = serializers.CharField(help_text="Signed: a credit > 0, a debit < 0.")
    currency = serializers.CharField()
    balance_after = serializers.CharField()
    wallet_version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    description = serializers.CharField(allow_null=True)
    hash = serializers.CharField(allow_null=True, help_text=HASH_HELP)


STATEMENT_DATA = inline_serializer(
    "Statement",
    {
        "wallet_id": serializers.UUIDField(),
        "currency": serializers.CharField(),
        "from": serializers.DateTimeField(help_text="The period's start (inclusive)."),
        "to": serializers.DateTimeField(help_text="The period's end (exclusive)."),
        "opening_balance": serializers.CharField(help_text="After the last entry before `from`."),
        "closing_balance": serializers.CharField(help_text="After the last entry before `to`."),
        "total_in": serializers.CharField(help_text="The sum of the period's credits."),
        "total_out": serializers.CharField(
            help_text="The sum of the period's debits, positive: closing = opening + in - out."
        ),
        "count": serializers.IntegerField(help_text="The period's entries (every page: all of them)."),
        "opening_hash": serializers.CharField(
            allow_null=True, help_text=HASH_HELP + " The wallet's genesis hash when none before."
        ),
        "closing_hash": serializers.CharField(allow_null=True, help_text=HASH_HELP),
        "opening_version": serializers.IntegerField(help_text="The version of the opening entry (0: none)."),
        "closing_version": serializers.IntegerField(help_text="The version of the closing entry."),
        "entries": StatementEntryOutput(many=True, help_text="This page's entries, oldest first."),
        "next_cursor": serializers.CharField(
            allow_null=True, help_text="The next cursor; null: the last page."
        ),
    },
)

BALANCE_AT = schema.envelope("BalanceAtEnvelope", BalanceAtOutput())
STATEMENT = inline_serializer(
    "StatementPage",
    {
        "success": serializers.BooleanField(default=True),
        "data": STATEMENT_DATA,
        "has_more": serializers.BooleanField(),
        "next_cursor": serializers.CharField(allow_null=True),
    },
)

AT = OpenApiParameter(
    "at",
    schema.TIME,
    required=True,
    description=(
        "The moment: an RFC 3339 time with an offset (`2026-03-31T23:59:59Z`, `+02:00`). A time "
        "without an offset is 400: the server does not guess a time zone."
    ),
)
FROM = OpenApiParameter(
    "from",
    schema.TIME,
    required=True,
    description="The period's start, inclusive: an RFC 3339 time with an offset.",
)
TO = OpenApiParameter(
    "to",
    schema.TIME,
    description="The period's end, exclusive (default: now); after `from`.",
)
FORMAT = OpenApiParameter(
    "format",
    {"type": "string", "enum": ["json", "csv", "pdf"]},
    description=(
        "json (default), csv (streamed, any length) or pdf (at most 2,000 entries); the same as "
        "`Accept: text/csv` or `Accept: application/pdf`."
    ),
)

BALANCE_AT_ERRORS = {
    400: "validation_error: `at` missing, not an RFC 3339 time, or without an offset",
    404: (
        "wallet_not_found (an end user: not their wallet), or wallet_not_yet_open: `at` is before it "
        "was created"
    ),
}
STATEMENT_ERRORS = {
    400: (
        "validation_error: `from` missing, `from` or `to` not an RFC 3339 time with an offset, `from` "
        "not before `to`, `format`, `limit` or `cursor`; statement_too_long_for_pdf: over 2,000 "
        "entries as PDF (take the CSV, or a shorter period)"
    ),
    404: "wallet_not_found (an end user: not their wallet)",
}


def statement_responses() -> dict[Any, Any]:
    """The JSON page, the CSV and the PDF as the 200's media types; errors as JSON."""
    responses = schema.responses(200, STATEMENT, STATEMENT_ERRORS)
    del responses[200]
    return {
        (200, "application/json"): STATEMENT,
        (200, "text/csv"): OpenApiResponse(
            OpenApiTypes.STR,
            description="The statement as CSV (?format=csv or Accept: text/csv): docs/statements.md.",
        ),
        (200, "application/pdf"): OpenApiResponse(
            OpenApiTypes.BINARY,
            description="The statement as a PDF (?format=pdf or Accept: application/pdf).",
        ),
        **responses,
    }
