"""The webhooks over HTTP: request bodies, and the rendered endpoint, delivery and attempt (the
`*_data` functions; the `*Output` serializers describe the same shapes for the schema)."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.times import format_timestamp
from wallets.events import EVENT_TYPES
from wallets.permissions import USER_ID_PATTERN
from webhooks.models import Attempt, Delivery, Endpoint
from webhooks.safety import URL_MAX_LENGTH, URL_PATTERN

EVENT_TYPES_MAX = len(EVENT_TYPES)


def _inline_choice(values: list[str], help_text: str = "") -> serializers.ChoiceField:
    """A choice field published as a pattern of its values: an `enum` would become a component whose
    name collides with the other apps' `status` and event type enums (drf-spectacular's naming)."""

    @extend_schema_field({"type": "string", "pattern": f"^({'|'.join(values)})$"})
    class Choice(serializers.ChoiceField):
        pass

    return Choice(choices=values, help_text=help_text)


_NO_NUL = r"^[^\x00]*$"


def _url(required: bool) -> serializers.RegexField:
    return serializers.RegexField(
        URL_PATTERN,
        max_length=URL_MAX_LENGTH,
        required=required,
        help_text=(
            "Where events are POSTed. In production https only, to a public address (checked when "
            "saved and before every request); in development and test, http to loopback too."
        ),
        error_messages={"invalid": "url must be an http or https URL: a host, an optional port, a path."},
    )


def _event_types(required: bool) -> serializers.ListField:
    return serializers.ListField(
        child=_inline_choice(list(EVENT_TYPES)),
        max_length=EVENT_TYPES_MAX,
        required=required,
        help_text="The event types to receive; empty (the default): every type.",
    )


def _description(required: bool) -> serializers.RegexField:
    return serializers.RegexField(
        _NO_NUL,
        max_length=500,
        required=required,
        allow_blank=True,
        trim_whitespace=False,
        help_text="For people: what the endpoint is for (up to 500 characters).",
    )


class EndpointCreateInput(serializers.Serializer):  # type: ignore[type-arg]
    url = _url(True)
    event_types = _event_types(False)
    description = _description(False)
    user_id = serializers.RegexField(
        USER_ID_PATTERN,
        required=False,
        allow_null=True,
        help_text=(
            "Whose wallets' events: an end user's own (absent, or their user id); staff name any "
            "user, or give null or nothing for every user's events."
        ),
    )


class EndpointUpdateInput(serializers.Serializer):  # type: ignore[type-arg]
    url = _url(False)
    event_types = _event_types(False)
    description = _description(False)


class EndpointOutput(serializers.Serializer):  # type: ignore[type-arg]
    endpoint_id = serializers.UUIDField(help_text="GET /webhooks/endpoints/{endpoint_id}.")
    user_id = serializers.CharField(allow_null=True, help_text="Whose wallets' events; null: every user's.")
    url = serializers.CharField()
    event_types = serializers.ListField(child=_inline_choice(list(EVENT_TYPES)))
    description = serializers.CharField(allow_blank=True)
    status = _inline_choice(list(Endpoint.Status.values))
    disabled_reason = serializers.CharField(allow_null=True)
    disabled_at = serializers.DateTimeField(allow_null=True)
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="Until then, requests are signed with the previous secret too."
    )
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class EndpointWithSecretOutput(EndpointOutput):
    secret = serializers.CharField(
        help_text="The signing secret (whsec_...): shown in this answer only. Keep it to verify requests."
    )


class AttemptOutput(serializers.Serializer):  # type: ignore[type-arg]
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True, help_text="The answer's status; null if none.")
    error = serializers.CharField(allow_null=True, help_text="Why there was no usable answer, or a refusal.")
    latency_ms = serializers.IntegerField()
    response_excerpt = serializers.CharField(allow_blank=True, help_text="The answer's first 1 KiB.")


class DeliveryOutput(serializers.Serializer):  # type: ignore[type-arg]
    delivery_id = serializers.UUIDField(help_text="Also the request's webhook-id, the same on every attempt.")
    endpoint_id = serializers.UUIDField()
    event_id = serializers.UUIDField()
    event_type = serializers.CharField()
    wallet_id = serializers.UUIDField()
    wallet_version = serializers.IntegerField()
    status = _inline_choice(list(Delivery.Status.values))
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True, help_text="When pending: the next try.")
    first_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class DeliveryDetailOutput(DeliveryOutput):
    payload = serializers.DictField(help_text="The event, as the request's body carries it (events.md).")
    attempt_list = AttemptOutput(many=True, help_text="Every attempt, oldest first.")


def _time(value: Any) -> str | None:
    return format_timestamp(value) if value is not None else None


def endpoint_data(endpoint: Endpoint, *, with_secret: bool = False) -> dict[str, Any]:
    data = {
        "endpoint_id": str(endpoint.id),
        "user_id": endpoint.owner,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types or []),
        "description": endpoint.description,
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason or None,
        "disabled_at": _time(endpoint.disabled_at),
        "previous_secret_expires_at": _time(endpoint.previous_secret_expires_at),
        "created_by": endpoint.created_by,
        "created_at": format_timestamp(endpoint.created_at),
        "updated_at": format_timestamp(endpoint.updated_at),
    }
    if with_secret:
        data["secret"] = endpoint.secret
    return data


def attempt_data(attempt: Attempt) -> dict[str, Any]:
    return {
        "at": format_timestamp(attempt.at),
        "status_code": attempt.status_code,
        "error": attempt.error or None,
        "latency_ms": attempt.latency_ms,
        "response_excerpt": attempt.response_excerpt,
    }


def delivery_data(delivery: Delivery, *, detail: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "delivery_id": str(delivery.id),
        "endpoint_id": str(delivery.endpoint_id),
        "event_id": str(delivery.event_id),
        "event_type": delivery.event_type,
        "wallet_id": str(delivery.wallet_id),
        "wallet_version": delivery.wallet_version,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": _time(delivery.next_attempt_at)
        if delivery.status == Delivery.Status.PENDING and not delivery.waits_behind
        else None,
        "first_attempt_at": _time(delivery.first_attempt_at),
        "delivered_at": _time(delivery.delivered_at),
        "last_error": delivery.last_error or None,
        "created_at": format_timestamp(delivery.created_at),
    }
    if detail:
        data["payload"] = json.loads(delivery.payload)
        data["attempt_list"] = [attempt_data(a) for a in delivery.attempt_set.all()]
    return data
