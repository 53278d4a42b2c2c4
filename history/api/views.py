"""`GET /wallets/{id}/history` and `GET /users/{user_id}/activity` (../shared/spec/api.md).

The same permission model, envelope and pagination as the wallet endpoints (`wallets.api`): staff
see anything; an end user sees their own wallets (another's is 404, existence not revealed) and
their own activity (another's is 403). The history is eventually consistent; the ledger
(`/wallets/{id}/transactions`) is the immediate, authoritative view.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from common import schema
from common.api import ApiView
from common.errors import ValidationFailed
from common.pagination import Keyset, paginate, read_int_and_uuid, read_time_and_uuid
from common.times import parse_rfc3339
from history import selectors
from wallets.events import EVENT_TYPES
from wallets.permissions import may_act_for
from wallets.selectors import wallet_get_visible

from .serializers import HistoryEventOutput, history_event_data

HISTORY_PAGE = schema.page_of("HistoryEventPage", HistoryEventOutput)
ERRORS = {
    400: "validation_error (a query parameter or the cursor)",
    401: "not_authenticated",
    403: "permission_denied (another user's activity)",
    404: "wallet_not_found",
    429: "throttled (with Retry-After): too many failed authentications from the address, or API_USER_RATE",
    503: "service_unavailable",
}
BY_WALLET_VERSION = Keyset(position=lambda e: [e.wallet_version, str(e.event_id)], read=read_int_and_uuid)
BY_OCCURRED_AT = Keyset(
    position=lambda e: [e.occurred_at.isoformat(), str(e.event_id)], read=read_time_and_uuid
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


class WalletHistoryView(ApiView):
    @extend_schema(
        parameters=FILTER_PARAMETERS, responses=schema.responses(200, HISTORY_PAGE, ERRORS), tags=["history"]
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
    @extend_schema(
        parameters=FILTER_PARAMETERS, responses=schema.responses(200, HISTORY_PAGE, ERRORS), tags=["history"]
    )
    def get(self, request: Request, user_id: str) -> Response:
        if not may_act_for(request.user, user_id):
            raise exceptions.PermissionDenied()
        filters = history_filters(request)
        page = paginate(
            request,
            BY_OCCURRED_AT,
            lambda after: selectors.user_activity(user_id=user_id, filters=filters, after=after),
        )
        return Response(page.body(history_event_data))
