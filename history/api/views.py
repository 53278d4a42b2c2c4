"""`GET /wallets/{id}/history` and `GET /users/{user_id}/activity` (../shared/spec/api.md).

The same permission model, envelope and pagination as the wallet endpoints (`wallets.api`): staff
see anything; an end user sees their own wallets (another's is 404, existence not revealed) and
their own activity (another's is 403). The history is eventually consistent; the ledger
(`/wallets/{id}/transactions`) is the immediate, authoritative view.
"""

from __future__ import annotations

import re
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from common import browsable, schema
from common.api import ApiView, parse_uuid
from common.errors import ValidationFailed
from common.pagination import Keyset, paginate, read_int_and_uuid, read_time_and_uuid
from common.times import RFC3339_MAX_LENGTH, parse_rfc3339
from history import selectors
from history.event_types import EVENT_TYPES
from wallets.openapi import USER_ID, WALLET_ID
from wallets.permissions import require_may_act_for
from wallets.selectors import wallet_get_visible

from .serializers import HistoryEventOutput, history_event_data

HISTORY_PAGE = schema.page_of("HistoryEventPage", HistoryEventOutput)
_EVENT = {
    "id": 41,
    "event_id": "0195f3c2-7a10-7b4e-9c3d-2f1a5e6b7c01",
    "event_type": "WALLET_CREATED",
    "wallet_id": "0195f3c2-7a10-7b4e-9c3d-2f1a5e6b7c01",
    "user_id": "alice",
    "amount": "0.0000",
    "currency": "USD",
    "balance_after": "0.0000",
    "wallet_version": 0,
    "transaction_id": None,
    "counterparty_wallet_id": None,
    "held_after": "0.0000",
    "hold_id": None,
    "reverses_transaction_id": None,
    "description": None,
    "metadata": {},
    "leg_index": None,
    "created_at": "2026-03-02T09:30:00.000000Z",
    "recorded_at": "2026-03-02T09:30:00.150000Z",
}
HISTORY_EXAMPLE = [
    _EVENT,
    {
        **_EVENT,
        "id": 42,
        "event_id": "0195f3c3-0a11-7f82-b071-6d5e9cafb005",
        "event_type": "WALLET_FUNDED",
        "amount": "100.0000",
        "balance_after": "100.0000",
        "wallet_version": 1,
        "transaction_id": "0195f3c3-0a11-7f82-b071-6d5e9cafb005",
        "description": "Top-up",
        "created_at": "2026-03-02T09:30:10.000000Z",
        "recorded_at": "2026-03-02T09:30:10.120000Z",
    },
]
# Exactly what each endpoint may answer besides 200 and common.schema.COMMON_ERRORS (401, 406, 503).
WALLET_HISTORY_ERRORS = {
    400: "validation_error (a query parameter or the cursor)",
    404: "wallet_not_found (an end user: not their wallet)",
}
USER_ACTIVITY_ERRORS = {
    400: "validation_error (a query parameter or the cursor)",
    403: "permission_denied: an end user reading another user's activity",
    404: "not_found: not a user id",
}
# A UUID in its canonical text form, as the schema states it (uuid.UUID alone would also take
# braces, a urn: prefix or 32 bare digits).
UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
BY_WALLET_VERSION = Keyset(position=lambda e: [e.wallet_version, str(e.event_id)], read=read_int_and_uuid)
BY_OCCURRED_AT = Keyset(
    position=lambda e: [e.occurred_at.isoformat(), str(e.event_id)], read=read_time_and_uuid
)

FILTER_PARAMETERS = [
    *schema.PAGE_PARAMETERS,
    OpenApiParameter(
        "event_type",
        {
            "type": "array",
            "items": {"type": "string", "enum": list(EVENT_TYPES)},
            "minItems": 1,
            "maxItems": len(EVENT_TYPES),
            "uniqueItems": True,
        },
        style="form",
        explode=False,
        description="Only these event types, comma-separated, each once (e.g. WALLET_FUNDED,TRANSFER_IN).",
    ),
    OpenApiParameter(
        "hold_id",
        {"type": "string", "format": "uuid", "pattern": UUID_PATTERN},
        description="Only the events of this hold: HOLD_CREATED, HOLD_RELEASED and its capture's transfer.",
    ),
    OpenApiParameter(
        "since",
        schema.TIME,
        description="RFC 3339 time with an offset (e.g. 2026-01-01T00:00:00Z): events at or after it.",
    ),
    OpenApiParameter(
        "until",
        schema.TIME,
        description="RFC 3339 time with an offset: events strictly before it (none if not after since).",
    ),
]


def history_filters(request: Request) -> selectors.HistoryFilters:
    """The event_type/hold_id/since/until query parameters; 400 validation_error naming each bad one."""
    params = request.query_params
    errors: dict[str, str] = {}
    event_types: tuple[str, ...] = ()
    raw_types = params.get("event_type")
    if raw_types is not None:
        event_types = tuple(raw_types.split(","))
        if any(t not in EVENT_TYPES for t in event_types) or len(set(event_types)) < len(event_types):
            errors["event_type"] = f"Each event type must be one of {', '.join(EVENT_TYPES)}, each once."
    hold_id = None
    raw_hold = params.get("hold_id")
    if raw_hold is not None:
        hold_id = parse_uuid(raw_hold) if re.fullmatch(UUID_PATTERN, raw_hold) else None
        if hold_id is None:
            errors["hold_id"] = "Must be a UUID, e.g. 5f0c6a1e-9d1b-4c5e-8a43-2b1f0e6d7c89."
    times = {}
    for name in ("since", "until"):
        raw = params.get(name)
        if raw is None:
            continue
        parsed = parse_rfc3339(raw)
        if parsed is None:
            errors[name] = (
                "Must be an RFC 3339 time with an offset, e.g. 2026-01-01T12:00:00Z "
                f"(at most {RFC3339_MAX_LENGTH} characters)."
            )
        times[name] = parsed
    if errors:
        raise ValidationFailed("The query parameters are not valid.", details=errors)
    # An until not after since is an empty interval: an empty page, not an error.
    return selectors.HistoryFilters(
        event_types=event_types, hold_id=hold_id, since=times.get("since"), until=times.get("until")
    )


class WalletHistoryView(ApiView):
    crumb = "History"

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        return [browsable.Link("Wallet", reverse("wallet-detail", kwargs=self.kwargs))]

    @extend_schema(
        operation_id="wallet_history_list",
        summary="List a wallet's history",
        description=(
            "The wallet's events (created, funded, transfers, holds, reversals) in the order they "
            "happened to it, a cursor page at a time, filtered by event type, hold and time. "
            "Eventually consistent: an event appears shortly after its movement; the ledger "
            "(`wallet_transactions_list`) is the immediate view."
        ),
        parameters=[WALLET_ID, *FILTER_PARAMETERS],
        responses=schema.responses(200, HISTORY_PAGE, WALLET_HISTORY_ERRORS),
        examples=[schema.page_example("The first events of a wallet", HISTORY_EXAMPLE)],
        tags=["history"],
    )
    def get(self, request: Request, wallet_id: str) -> Response:
        wallet = wallet_get_visible(principal=request.user, wallet_id=wallet_id)
        filters = history_filters(request)
        page = paginate(
            request,
            BY_WALLET_VERSION,
            lambda after: selectors.wallet_history(wallet_id=wallet.id, filters=filters, after=after),
        )
        return Response(page.body(history_event_data))


class UserActivityView(ApiView):
    crumb = "Activity of {user_id}"

    @extend_schema(
        operation_id="user_activity_list",
        summary="List a user's activity",
        description=(
            "The events of all the user's wallets, in the order they happened, a cursor page at a "
            "time, with the same filters as a wallet's history. An end user reads only their own "
            "(another's is 403). Eventually consistent, as the history is."
        ),
        parameters=[USER_ID, *FILTER_PARAMETERS],
        responses=schema.responses(200, HISTORY_PAGE, USER_ACTIVITY_ERRORS),
        examples=[schema.page_example("Activity of alice", HISTORY_EXAMPLE, next_cursor="WzIsIjAxOTUiXQ")],
        tags=["history"],
    )
    def get(self, request: Request, user_id: str) -> Response:
        require_may_act_for(request.user, user_id)
        filters = history_filters(request)
        page = paginate(
            request,
            BY_OCCURRED_AT,
            lambda after: selectors.user_activity(user_id=user_id, filters=filters, after=after),
        )
        return Response(page.body(history_event_data))
