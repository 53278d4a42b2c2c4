"""Webhook endpoints and their deliveries over HTTP (docs/webhooks.md).

An end user manages their own endpoints (their wallets' events); staff any user's, and endpoints
for every user's events (user_id null). Someone else's endpoint or delivery is 404, as if absent.
The secret is in the answer of create and rotate-secret only.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from common.api import ApiView
from common.errors import ValidationFailed
from common.pagination import Keyset, paginate, read_time_and_uuid
from common.schema import PAGE_PARAMETERS, responses
from wallets.permissions import USER_ID_PATTERN, require_may_act_for
from webhooks import selectors, services
from webhooks.models import Delivery

from . import examples, schema
from .serializers import EndpointCreateInput, EndpointUpdateInput, delivery_data, endpoint_data

NEWEST_FIRST = Keyset(position=lambda row: [row.created_at.isoformat(), str(row.id)], read=read_time_and_uuid)
TAGS = ["webhooks"]


def _ok(data: Any, status: int = 200) -> Response:
    return Response({"success": True, "data": data}, status=status)


def _query(
    request: Request, name: str, pattern: str | None = None, values: list[str] | None = None
) -> str | None:
    import re

    value = request.query_params.get(name)
    if value is None:
        return None
    if (pattern and not re.fullmatch(pattern, value)) or (values and value not in values):
        raise ValidationFailed(f"{name} is not valid.", details={name: value[:60]})
    return value


class EndpointListView(ApiView):
    crumb = "Webhook endpoints"
    serializer_class = EndpointCreateInput

    @extend_schema(
        operation_id="webhook_endpoint_list",
        summary="List webhook endpoints",
        description=(
            "Your webhook endpoints, newest first, a cursor page at a time (staff: every user's, and "
            "the endpoints for all users; `?user_id=` narrows to one user's). No secret is shown."
        ),
        parameters=[schema.USER_ID, *PAGE_PARAMETERS],
        responses=responses(200, schema.ENDPOINT_PAGE, schema.LIST_ERRORS),
        examples=examples.LIST,
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        owner = _query(request, "user_id", USER_ID_PATTERN)
        page = paginate(
            request,
            NEWEST_FIRST,
            lambda after: selectors.endpoints_list(principal=request.user, owner=owner, after=after),
        )
        return Response(page.body(endpoint_data))

    @extend_schema(
        operation_id="webhook_endpoint_create",
        summary="Create a webhook endpoint",
        description=(
            "Register a URL to receive wallet events as signed HTTP POSTs (Standard Webhooks). An end "
            "user receives their own wallets' events; staff name a user_id, or null for every "
            "user's. Answers 201 with the signing secret, shown this once."
        ),
        request=EndpointCreateInput,
        responses=responses(201, schema.ENDPOINT_WITH_SECRET, schema.CREATE_ERRORS),
        examples=examples.CREATE,
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        body = self.validated(request)
        username = request.user.get_username()
        if request.user.is_staff:
            owner = body.get("user_id")
        else:
            owner = body.get("user_id") or username
            require_may_act_for(request.user, owner)
        endpoint = services.endpoint_create(
            owner=owner,
            url=body["url"],
            event_types=body.get("event_types", []),
            description=body.get("description", ""),
            actor=username,
        )
        return _ok(endpoint_data(endpoint, with_secret=True), 201)


class EndpointDetailView(ApiView):
    crumb = "Webhook endpoint {endpoint_id}"
    serializer_class = EndpointUpdateInput

    @extend_schema(
        operation_id="webhook_endpoint_get",
        summary="Get a webhook endpoint",
        description=(
            "One of your webhook endpoints (staff: any): its URL, event types and status; never the secret."
        ),
        parameters=[schema.ENDPOINT_ID],
        responses=responses(200, schema.ENDPOINT, schema.DETAIL_ERRORS),
        examples=examples.GET,
        tags=TAGS,
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        return _ok(endpoint_data(selectors.endpoint_get(principal=request.user, endpoint_id=endpoint_id)))

    @extend_schema(
        operation_id="webhook_endpoint_edit",
        summary="Edit a webhook endpoint",
        description=(
            "Change the URL, the event types (empty: every type) or the description; fields left "
            "out stay as they are. A new URL is checked as on create."
        ),
        parameters=[schema.ENDPOINT_ID],
        request=EndpointUpdateInput,
        responses=responses(200, schema.ENDPOINT, schema.UPDATE_ERRORS),
        examples=examples.UPDATE,
        tags=TAGS,
    )
    def patch(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get(principal=request.user, endpoint_id=endpoint_id)
        body = self.validated(request)
        endpoint = services.endpoint_update(
            endpoint=endpoint,
            url=body.get("url"),
            event_types=body.get("event_types"),
            description=body.get("description"),
        )
        return _ok(endpoint_data(endpoint))

    @extend_schema(
        operation_id="webhook_endpoint_delete",
        summary="Delete a webhook endpoint",
        description="Delete the endpoint with its deliveries and their attempts; nothing more is sent to it.",
        parameters=[schema.ENDPOINT_ID],
        responses=responses(200, schema.DELETED, schema.DETAIL_ERRORS),
        examples=examples.DELETE,
        tags=TAGS,
    )
    def delete(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get(principal=request.user, endpoint_id=endpoint_id)
        services.endpoint_delete(endpoint=endpoint)
        return _ok({"endpoint_id": endpoint_id, "deleted": True})


class _EndpointAction(ApiView):
    body_optional = True

    def act(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get(principal=request.user, endpoint_id=endpoint_id)
        endpoint, with_secret = self.apply(request, endpoint)
        return _ok(endpoint_data(endpoint, with_secret=with_secret))

    def apply(self, request: Request, endpoint: Any) -> tuple[Any, bool]:
        raise NotImplementedError


class EndpointDisableView(_EndpointAction):
    crumb = "Disable"

    def apply(self, request: Request, endpoint: Any) -> tuple[Any, bool]:
        reason = f"disabled by {request.user.get_username()}"
        return services.endpoint_disable(endpoint=endpoint, reason=reason), False

    @extend_schema(
        operation_id="webhook_endpoint_disable",
        summary="Disable a webhook endpoint",
        description=(
            "Stop sending to the endpoint: no new deliveries are queued for it and its pending ones "
            "wait. Enable it again to resume."
        ),
        parameters=[schema.ENDPOINT_ID],
        request=None,
        responses=responses(200, schema.ENDPOINT, schema.ACTION_ERRORS),
        examples=examples.DISABLE,
        tags=TAGS,
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        return self.act(request, endpoint_id)


class EndpointEnableView(_EndpointAction):
    crumb = "Enable"

    def apply(self, request: Request, endpoint: Any) -> tuple[Any, bool]:
        return services.endpoint_enable(endpoint=endpoint), False

    @extend_schema(
        operation_id="webhook_endpoint_enable",
        summary="Enable a webhook endpoint",
        description=(
            "Resume a disabled endpoint (by hand, or after its retry window ran out): its pending "
            "deliveries are sent now, in order, each with a fresh retry window."
        ),
        parameters=[schema.ENDPOINT_ID],
        request=None,
        responses=responses(200, schema.ENDPOINT, schema.ACTION_ERRORS),
        examples=examples.ENABLE,
        tags=TAGS,
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        return self.act(request, endpoint_id)


class EndpointRotateSecretView(_EndpointAction):
    crumb = "Rotate secret"

    def apply(self, request: Request, endpoint: Any) -> tuple[Any, bool]:
        return services.endpoint_rotate_secret(endpoint=endpoint), True

    @extend_schema(
        operation_id="webhook_endpoint_rotate_secret",
        summary="Rotate a webhook endpoint's secret",
        description=(
            "A new signing secret, shown in this answer only. For 24 hours requests carry two "
            "signatures, the old secret's and the new one's, so receivers can switch at leisure."
        ),
        parameters=[schema.ENDPOINT_ID],
        request=None,
        responses=responses(200, schema.ENDPOINT_WITH_SECRET, schema.ACTION_ERRORS),
        examples=examples.ROTATE,
        tags=TAGS,
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        return self.act(request, endpoint_id)


class EndpointDeliveriesView(ApiView):
    crumb = "Deliveries"

    @extend_schema(
        operation_id="webhook_deliveries_list",
        summary="List an endpoint's deliveries",
        description=(
            "The events queued for the endpoint, newest first, each with its status and attempt count; "
            "`?status=failed` finds the ones to resend."
        ),
        parameters=[schema.ENDPOINT_ID, schema.STATUS, *PAGE_PARAMETERS],
        responses=responses(200, schema.DELIVERY_PAGE, schema.DELIVERIES_ERRORS),
        examples=examples.DELIVERIES,
        tags=TAGS,
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.endpoint_get(principal=request.user, endpoint_id=endpoint_id)
        status = _query(request, "status", values=list(Delivery.Status.values))
        page = paginate(
            request,
            NEWEST_FIRST,
            lambda after: selectors.deliveries_list(endpoint=endpoint, status=status, after=after),
        )
        return Response(page.body(delivery_data))


class DeliveryDetailView(ApiView):
    crumb = "Delivery {delivery_id}"

    @extend_schema(
        operation_id="webhook_delivery_get",
        summary="Get a webhook delivery",
        description=(
            "One delivery: the event sent (the request body), its status, and every attempt with its "
            "time, status code or error, latency and the first 1 KiB of the answer."
        ),
        parameters=[schema.DELIVERY_ID],
        responses=responses(200, schema.DELIVERY_DETAIL, schema.DELIVERY_ERRORS),
        examples=examples.DELIVERY,
        tags=TAGS,
    )
    def get(self, request: Request, delivery_id: str) -> Response:
        delivery = selectors.delivery_get(principal=request.user, delivery_id=delivery_id)
        return _ok(delivery_data(delivery, detail=True))


class DeliveryResendView(ApiView):
    crumb = "Resend"
    body_optional = True

    @extend_schema(
        operation_id="webhook_delivery_resend",
        summary="Resend a webhook delivery",
        description=(
            "Send the delivery again now (a failed one gets a fresh retry window), with the same "
            "webhook-id, so a receiver that already has it can tell."
        ),
        parameters=[schema.DELIVERY_ID],
        request=None,
        responses=responses(200, schema.DELIVERY, schema.RESEND_ERRORS),
        examples=examples.RESEND,
        tags=TAGS,
    )
    def post(self, request: Request, delivery_id: str) -> Response:
        delivery = selectors.delivery_get(principal=request.user, delivery_id=delivery_id)
        return _ok(delivery_data(services.delivery_resend(delivery=delivery)))
