"""`GET /wallets/{id}/history` and `GET /users/{user_id}/activity` (../shared/spec/api.md).

The same permission model, envelope and pagination as the wallet endpoints (`wallets.api`): staff
see anything; an end user sees their own wallets (another's is 404, existence not revealed) and
their own activity (another's is 403). The history is eventually consistent; the ledger
(`/wallets/{id}/transactions`) is the immediate, authoritative view.
"""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from history import selectors
from history.decoding import parse_rfc3339
from walletproject.errors import ValidationFailed
from wallets.api import schema
from wallets.api.pagination import decode_cursor, page_body, page_limit
from wallets.api.views import ApiView
from wallets.events import EVENT_TYPES
from wallets.selectors import may_act_for, parse_wallet_id, wallet_get_visible

from .serializers import HistoryEventOutput, history_event_data

HISTORY_PAGE = inline_serializer(
    "HistoryEventPage",
    {
        "success": serializers.BooleanField(default=True),
        "data": HistoryEventOutput(many=True),
        "has_more": serializers.BooleanField(),
        "next_cursor": serializers.CharField(allow_null=True),
    },
)

FILTER_PARAMETERS = [
    *schema.PAGE_PARAMETERS,
    OpenApiParameter(
        "event_type",
        str,
        description=f"Only these event types, comma-separated: {', '.join(EVENT_TYPES)}.",
    ),
    OpenApiParameter(
        "since", str, description="RFC 3339 time (e.g. 2026-01-01T00:00:00Z): events at or after it."
    ),
    OpenApiParameter("until", str, description="RFC 3339 time: events strictly before it."),
]


def history_filters(request: Request) -> selectors.HistoryFilters:
    """The event_type/since/until query parameters; 400 validation_error naming each bad one."""
    params = request.query_params
    errors: dict[str, str] = {}
    event_types: tuple[str, ...] = ()
    raw_types = params.get("event_type")
    if raw_types is not None:
        event_types = tuple(dict.fromkeys(t.strip() for t in raw_types.split(",")))
        unknown = [t for t in event_types if t not in EVENT_TYPES]
        if unknown or not event_types:
            errors["event_type"] = f"Each event type must be one of {', '.join(EVENT_TYPES)}."
    times = {}
    for name in ("since", "until"):
        raw = params.get(name)
        if raw is None:
            continue
        parsed = parse_rfc3339(raw)
        if parsed is None:
            errors[name] = "Must be an RFC 3339 time with an offset, e.g. 2026-01-01T12:00:00Z."
        times[name] = parsed
    since, until = times.get("since"), times.get("until")
    if since is not None and until is not None and since > until:
        errors["until"] = "Must not be before since."
    if errors:
        raise ValidationFailed("The query parameters are not valid.", details=errors)
    return selectors.HistoryFilters(event_types=event_types, since=since, until=until)


def _cursor_event_id(raw: Any) -> uuid.UUID:
    event_id = parse_wallet_id(raw)  # any UUID string
    if event_id is None:
        raise ValidationFailed("The cursor is not valid.")
    return event_id


def _page(events: Any, limit: int, position: Any) -> Response:
    page = list(events[: limit + 1])
    has_more = len(page) > limit
    page = page[:limit]
    next_position = position(page[-1]) if has_more else None
    return Response(page_body([history_event_data(e) for e in page], has_more, next_position))


class WalletHistoryView(ApiView):
    @extend_schema(
        parameters=FILTER_PARAMETERS, responses=schema.responses(200, HISTORY_PAGE), tags=["history"]
    )
    def get(self, request: Request, wallet_id: str) -> Response:
        wallet = wallet_get_visible(principal=request.user, wallet_id=wallet_id)
        filters, limit, cursor = history_filters(request), page_limit(request), decode_cursor(request)
        after = None
        if cursor is not None:
            if not (
                isinstance(cursor, list)
                and len(cursor) == 2
                and isinstance(cursor[0], int)
                and not isinstance(cursor[0], bool)
            ):
                raise ValidationFailed("The cursor is not valid.")
            after = (cursor[0], _cursor_event_id(cursor[1]))
        events = selectors.wallet_history(wallet_id=wallet.id, filters=filters, after=after)
        return _page(events, limit, lambda e: [e.wallet_version, str(e.event_id)])


class UserActivityView(ApiView):
    @extend_schema(
        parameters=FILTER_PARAMETERS, responses=schema.responses(200, HISTORY_PAGE), tags=["history"]
    )
    def get(self, request: Request, user_id: str) -> Response:
        if not may_act_for(request.user, user_id):
            raise exceptions.PermissionDenied()
        filters, limit, cursor = history_filters(request), page_limit(request), decode_cursor(request)
        after = None
        if cursor is not None:
            occurred_at = None
            if isinstance(cursor, list) and len(cursor) == 2:
                occurred_at = parse_rfc3339(cursor[0])
            if occurred_at is None:
                raise ValidationFailed("The cursor is not valid.")
            after = (occurred_at, _cursor_event_id(cursor[1]))
        events = selectors.user_activity(user_id=user_id, filters=filters, after=after)
        return _page(events, limit, lambda e: [e.occurred_at.isoformat(), str(e.event_id)])
