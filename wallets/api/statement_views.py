"""The balance at a moment and the statement (issue #33): thin views over `wallets.balance_at`,
`wallets.statements` and the CSV and PDF writers (docs/statements.md).

A statement is JSON by default; `?format=csv` or `Accept: text/csv` downloads the CSV (streamed),
`?format=pdf` or `Accept: application/pdf` the PDF. DRF reads `?format=` itself (its
`URL_FORMAT_OVERRIDE`) and would answer 404 for a format no renderer has; this view decides the
download before DRF's negotiation and lets DRF render only JSON (errors included) and the
browsable page, so a refusal of a download is still the JSON error envelope.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from common import browsable, schema
from common.api import ApiView
from common.errors import ValidationFailed
from common.pagination import Keyset, cursor_position, paginate
from common.schema import PAGE_PARAMETERS
from common.times import parse_rfc3339
from wallets import balance_at, selectors, statements
from wallets.money import format_money
from wallets.openapi import WALLET_ID
from wallets.statement_downloads import DOWNLOADS, download_response
from wallets.statements import StatementHeader, utc_text

from . import examples, statement_schema
from .views import wallet_links

FORMATS = frozenset({"json", "api", *DOWNLOADS})  # "api": DRF's browsable page
# A date and time as RFC 3339 has them, but without the offset it requires.
_WITHOUT_OFFSET = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?")


def read_moment(request: Request, name: str, *, required: bool) -> datetime | None:
    """The query parameter `name` as an RFC 3339 time with an offset, in UTC."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if required:
            raise ValidationFailed(
                f"`{name}` is required: an RFC 3339 time with an offset, e.g. 2026-03-01T00:00:00Z.",
                details={name: ["This parameter is required."]},
            )
        return None
    moment = parse_rfc3339(raw)
    if moment is None:
        if _WITHOUT_OFFSET.fullmatch(raw):
            message = (
                f"`{name}` has no offset: add `Z` (UTC) or one like `+02:00`; the server does not guess "
                "a time zone."
            )
        else:
            message = f"`{name}` is not an RFC 3339 time with an offset, e.g. 2026-03-01T00:00:00Z."
        raise ValidationFailed(message, details={name: [message]})
    return moment


def requested_download(request: Request) -> str | None:
    """ "csv" or "pdf" when the request asks for that download (`?format=` first, then `Accept`)."""
    chosen = request.query_params.get("format")
    if chosen is not None:
        return chosen if chosen in DOWNLOADS else None
    for part in request.META.get("HTTP_ACCEPT", "").split(","):
        media_type = part.split(";")[0].strip().lower()
        for name, download_type in DOWNLOADS.items():
            if media_type == download_type:
                return name
        if media_type in ("application/json", "text/html", "*/*", "application/*"):
            return None
    return None


def header_data(header: StatementHeader) -> dict[str, Any]:
    def hex_of(value: bytes | None) -> str | None:
        return value.hex() if value is not None else None

    return {
        "wallet_id": str(header.wallet.id),
        "currency": header.wallet.currency,
        "from": utc_text(header.start),
        "to": utc_text(header.end),
        "opening_balance": format_money(header.opening.balance),
        "closing_balance": format_money(header.closing.balance),
        "total_in": format_money(header.total_in),
        "total_out": format_money(header.total_out),
        "count": header.count,
        "opening_hash": hex_of(header.opening.hash),
        "closing_hash": hex_of(header.closing.hash),
        "opening_version": header.opening.version,
        "closing_version": header.closing.version,
    }


def statement_entry_data(entry: Any) -> dict[str, Any]:
    """An entry of `statements.statement_entries` (annotated with its `note`)."""
    return {
        "id": str(entry.id),
        "transaction_id": str(entry.transaction_id),
        "type": entry.type,
        "amount": format_money(entry.amount),
        "currency": entry.currency,
        "balance_after": format_money(entry.balance_after),
        "wallet_version": entry.wallet_version,
        "created_at": utc_text(entry.created_at),
        "description": entry.note,
        "hash": bytes(entry.chain_hash).hex() if entry.chain_hash is not None else None,
    }


@dataclass(frozen=True)
class Position:
    """Where a page ends: its last entry (time, version), and the period's end, which a cursor
    pins: a statement whose `to` defaulted to "now" keeps the first page's end on every page."""

    created_at: datetime
    version: int
    end: datetime


def read_position(value: Any) -> Position | None:
    if (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[1], int)
        and not isinstance(value[1], bool)
    ):
        moment, end = parse_rfc3339(value[0]), parse_rfc3339(value[2])
        if moment is not None and end is not None:
            return Position(moment, value[1], end)
    return None


def entries_oldest_first(end: datetime) -> Keyset[Position]:
    return Keyset(
        position=lambda entry: [
            utc_text(entry.created_at),
            entry.wallet_version,
            utc_text(end),
        ],
        read=read_position,
    )


class BalanceAtView(ApiView):
    crumb = "Balance at a moment"

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        return wallet_links(request, self.kwargs["wallet_id"])

    @extend_schema(
        operation_id="wallet_balance_at",
        summary="A wallet's balance at a moment",
        description=(
            "The wallet's balance, held amount, available balance and version as they were at `at`: "
            "after its last change at or before that moment (entries and holds). Before the wallet "
            "was created: 404 wallet_not_yet_open. Owner or staff; another user's wallet is 404."
        ),
        parameters=[WALLET_ID, statement_schema.AT],
        responses=schema.responses(200, statement_schema.BALANCE_AT, statement_schema.BALANCE_AT_ERRORS),
        examples=examples.BALANCE_AT,
        tags=["wallets"],
    )
    def get(self, request: Request, wallet_id: str) -> Response:
        wallet = selectors.wallet_get_visible(principal=request.user, wallet_id=wallet_id)
        at = read_moment(request, "at", required=True)
        assert at is not None
        state = balance_at.balance_at(wallet=wallet, at=at)
        return Response(
            {
                "success": True,
                "data": {
                    "wallet_id": state.wallet_id,
                    "currency": state.currency,
                    "at": utc_text(state.at),
                    "balance": format_money(state.balance),
                    "held": format_money(state.held),
                    "available": format_money(state.available),
                    "version": state.version,
                },
            }
        )


class StatementView(ApiView):
    crumb = "Statement"
    download: str | None = None

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        links = wallet_links(request, self.kwargs["wallet_id"])
        here = reverse("wallet-statement", kwargs={"wallet_id": self.kwargs["wallet_id"]})
        query = request.GET.copy()
        for kind in DOWNLOADS:
            query["format"] = kind
            links.append(browsable.Link(f"Download as {kind.upper()}", f"{here}?{query.urlencode()}"))
        return links

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        self.download = requested_download(request)
        if self.download is not None or request.query_params.get("format") not in (None, "json", "api"):
            # A download, or a format the view refuses itself (400): DRF renders JSON.
            return JSONRenderer(), JSONRenderer.media_type
        return super().perform_content_negotiation(request, force)

    @extend_schema(
        operation_id="wallet_statement_get",
        summary="A wallet's statement over a period",
        description=(
            "The period `[from, to)` (from inclusive, to exclusive, so consecutive statements tile): "
            "opening balance (after the last entry before `from`) and closing balance (after the "
            "last entry before `to`), total in and out, the count, and the period's entries oldest "
            "first, a cursor page at a time (every page repeats the header), each with its chain "
            "hash; the opening hash is the chain's before the first entry (the wallet's genesis "
            "hash when none before), the closing hash the last entry's. `?format=csv` (or "
            "`Accept: text/csv`) streams the whole period as CSV, `?format=pdf` (or `Accept: "
            "application/pdf`) gives a PDF of up to 2,000 entries. A downloaded statement is checked "
            "offline by `verify_statement.py`. Owner or staff; another user's wallet is 404."
        ),
        parameters=[
            WALLET_ID,
            statement_schema.FROM,
            statement_schema.TO,
            statement_schema.FORMAT,
            *PAGE_PARAMETERS,
        ],
        responses=statement_schema.statement_responses(),
        examples=examples.STATEMENT,
        tags=["wallets"],
    )
    def get(self, request: Request, wallet_id: str) -> HttpResponseBase:
        wallet = selectors.wallet_get_visible(principal=request.user, wallet_id=wallet_id)
        chosen = request.query_params.get("format")
        if chosen is not None and chosen not in FORMATS:
            message = "`format` must be json, csv or pdf."
            raise ValidationFailed(message, details={"format": [message]})
        start = read_moment(request, "from", required=True)
        assert start is not None
        end = read_moment(request, "to", required=False)
        pinned = cursor_position(request, entries_oldest_first(timezone.now()))
        if pinned is not None:
            if end is not None and end != pinned.end:
                message = "The cursor belongs to a statement with another `to`."
                raise ValidationFailed(message, details={"cursor": [message]})
            end = pinned.end
        end = end or timezone.now()
        if start >= end:
            message = "`from` must be before `to` (the period is from inclusive, to exclusive)."
            raise ValidationFailed(message, details={"from": [message]})
        header = statements.statement_header(wallet=wallet, start=start, end=end)
        if self.download is not None:
            return download_response(self.download, header)
        page = paginate(
            request,
            entries_oldest_first(end),
            lambda after: statements.statement_entries(
                wallet=wallet,
                start=start,
                end=end,
                after=(after.created_at, after.version) if after is not None else None,
            ),
        )
        data = {
            **header_data(header),
            "entries": [statement_entry_data(entry) for entry in page.items],
            "next_cursor": page.next_cursor,
        }
        return Response(
            {"success": True, "data": data, "has_more": page.has_more, "next_cursor": page.next_cursor}
        )
