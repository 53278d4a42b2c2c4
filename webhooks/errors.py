"""The webhooks' refusals, in the one error envelope (common.errors)."""

from __future__ import annotations

from common.errors import ApplicationError, ValidationFailed


class EndpointNotFound(ApplicationError):
    status_code = 404
    code = "webhook_endpoint_not_found"
    default_message = "No webhook endpoint with this id (or not one of yours)."


class DeliveryNotFound(ApplicationError):
    status_code = 404
    code = "webhook_delivery_not_found"
    default_message = "No webhook delivery with this id (or not one of yours)."


class TooManyEndpoints(ValidationFailed):
    code = "too_many_endpoints"
