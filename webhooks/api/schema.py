"""OpenAPI shapes, parameters and the errors each webhooks operation answers (besides
common.schema.COMMON_ERRORS)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from common import schema
from webhooks.models import Delivery

from .serializers import (
    DeliveryDetailOutput,
    DeliveryOutput,
    EndpointOutput,
    EndpointWithSecretOutput,
)

ENDPOINT = schema.envelope("WebhookEndpointEnvelope", EndpointOutput())
ENDPOINT_WITH_SECRET = schema.envelope("WebhookEndpointSecretEnvelope", EndpointWithSecretOutput())
ENDPOINT_PAGE = schema.page_of("WebhookEndpointPage", EndpointOutput)
DELETED = schema.envelope(
    "WebhookEndpointDeletedEnvelope",
    serializers.DictField(help_text="{endpoint_id, deleted: true}"),
)
DELIVERY = schema.envelope("WebhookDeliveryEnvelope", DeliveryOutput())
DELIVERY_DETAIL = schema.envelope("WebhookDeliveryDetailEnvelope", DeliveryDetailOutput())
DELIVERY_PAGE = schema.page_of("WebhookDeliveryPage", DeliveryOutput)

ENDPOINT_ID = schema.path_parameter(
    "endpoint_id",
    {"type": "string", "format": "uuid"},
    "The endpoint's id; any other value, or another user's endpoint, is 404.",
)
DELIVERY_ID = schema.path_parameter(
    "delivery_id",
    {"type": "string", "format": "uuid"},
    "The delivery's id (its webhook-id); any other value, or another user's, is 404.",
)
USER_ID = OpenApiParameter(
    "user_id",
    {"type": "string", "pattern": r"^[A-Za-z0-9_.@+-]{1,100}$"},
    description="Staff: only this user's endpoints. An end user sees only their own anyway.",
)
STATUS = OpenApiParameter(
    "status",
    {"type": "string", "pattern": f"^({'|'.join(Delivery.Status.values)})$"},
    description="Only deliveries in this status.",
)

_POST = {
    413: "payload_too_large: a body over 64 KiB",
    415: "unsupported_media_type: the body is not declared as JSON",
}
CREATE_ERRORS = {
    400: (
        "validation_error (a bad URL, or one refused in production: not https, or a host resolving to "
        "a private, loopback, link-local or metadata address; an unknown event type) or "
        "too_many_endpoints (WEBHOOK_MAX_ENDPOINTS_PER_USER)"
    ),
    403: "permission_denied: an end user named another user_id",
    **_POST,
}
LIST_ERRORS = {400: "validation_error (user_id, status, limit or cursor)"}
DETAIL_ERRORS = {404: "webhook_endpoint_not_found"}
UPDATE_ERRORS = {
    400: "validation_error (a bad or refused URL, an unknown event type)",
    404: "webhook_endpoint_not_found",
    413: _POST[413],
    415: _POST[415],
}
ACTION_ERRORS = {404: "webhook_endpoint_not_found", 413: _POST[413], 415: _POST[415]}
DELIVERY_ERRORS = {404: "webhook_delivery_not_found"}
RESEND_ERRORS = {404: "webhook_delivery_not_found", 413: _POST[413], 415: _POST[415]}
DELIVERIES_ERRORS = {400: "validation_error (status, limit or cursor)", 404: "webhook_endpoint_not_found"}
