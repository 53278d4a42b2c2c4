"""Writes of the webhooks: the endpoint's life (create, update, disable, enable, rotate the secret,
delete) and a delivery's resend. Every entry point (the API, the admin, the dispatcher's disabling)
calls these; each checks its rule here, once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from common.errors import ValidationFailed
from wallets.events import EVENT_TYPES

from . import clock, safety, signing
from .errors import TooManyEndpoints
from .models import Attempt, Delivery, Endpoint

DESCRIPTION_MAX_LENGTH = 500


def check_url(url: str) -> str:
    try:
        safety.check(url)
    except safety.Unsafe as exc:
        raise ValidationFailed(str(exc), details={"url": str(exc)}) from None
    return url


def check_event_types(event_types: list[Any]) -> list[str]:
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown:
        message = f"Unknown event type {str(unknown[0])[:60]!r}: one of {', '.join(EVENT_TYPES)}."
        raise ValidationFailed(message, details={"event_types": message})
    return list(dict.fromkeys(event_types))


def endpoint_create(
    *, owner: str | None, url: str, event_types: list[str], description: str, actor: str
) -> Endpoint:
    """A new active endpoint with a new secret (the caller shows `secret` once)."""
    check_url(url)
    types = check_event_types(event_types)
    with transaction.atomic():
        # One endpoint count per owner at a time (an advisory lock on the owner's name).
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"webhooks:{owner or ''}"])
        limit = int(settings.WEBHOOK_MAX_ENDPOINTS_PER_USER)
        if Endpoint.objects.filter(owner=owner).count() >= limit:
            whose = f"user {owner!r}" if owner else "all users"
            raise TooManyEndpoints(
                f"{whose} already has {limit} webhook endpoints (WEBHOOK_MAX_ENDPOINTS_PER_USER); "
                "delete one first.",
                details={"url": f"at most {limit} endpoints"},
            )
        return Endpoint.objects.create(
            owner=owner,
            url=url,
            event_types=types,
            description=description,
            secret=signing.new_secret(),
            created_by=actor,
        )


def endpoint_update(
    *,
    endpoint: Endpoint,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
) -> Endpoint:
    if url is not None:
        endpoint.url = check_url(url)
    if event_types is not None:
        endpoint.event_types = check_event_types(event_types)
    if description is not None:
        endpoint.description = description
    endpoint.save()
    return endpoint


def endpoint_disable(*, endpoint: Endpoint, reason: str) -> Endpoint:
    """Nothing more is sent or queued for it; its pending deliveries wait for `endpoint_enable`."""
    Endpoint.objects.filter(id=endpoint.id).update(
        status=Endpoint.Status.DISABLED, disabled_reason=reason[:500], disabled_at=clock.now()
    )
    endpoint.refresh_from_db()
    return endpoint


def endpoint_enable(*, endpoint: Endpoint) -> Endpoint:
    """Active again: its pending deliveries are due now, each with a fresh retry window."""
    with transaction.atomic():
        Endpoint.objects.filter(id=endpoint.id).update(
            status=Endpoint.Status.ACTIVE, disabled_reason="", disabled_at=None
        )
        Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING).update(
            next_attempt_at=clock.now(), first_attempt_at=None, leased_until=None
        )
    endpoint.refresh_from_db()
    return endpoint


def endpoint_rotate_secret(*, endpoint: Endpoint) -> Endpoint:
    """A new secret; the old one still signs (beside it) for WEBHOOK_SECRET_OVERLAP_SECONDS."""
    overlap = timedelta(seconds=float(settings.WEBHOOK_SECRET_OVERLAP_SECONDS))
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = clock.now() + overlap
    endpoint.secret = signing.new_secret()
    endpoint.save()
    return endpoint


def endpoint_delete(*, endpoint: Endpoint) -> None:
    """With its deliveries and attempts. The endpoint's row is locked first (a delivery being
    queued for it waits, then finds it gone), then its deliveries (an attempt being recorded
    finishes first; one recorded after finds its delivery gone), so no row is left pointing at it."""
    with transaction.atomic():
        Endpoint.objects.select_for_update().filter(id=endpoint.id).first()
        deliveries = Delivery.objects.filter(endpoint_id=endpoint.id)
        list(deliveries.select_for_update().values_list("id", flat=True))
        Attempt.objects.filter(delivery__endpoint_id=endpoint.id).delete()
        deliveries.delete()
        Endpoint.objects.filter(id=endpoint.id).delete()


def secrets_in_use(endpoint: Endpoint) -> list[str]:
    """The secrets a request is signed with: the current one, and the previous during its overlap."""
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and clock.now() < expires:
        found.append(endpoint.previous_secret)
    return found


def delivery_resend(*, delivery: Delivery) -> Delivery:
    """Send again now (any status): a failed delivery is pending again with a fresh retry window;
    a delivered one is sent once more, with the same webhook-id."""
    Delivery.objects.filter(id=delivery.id).update(
        status=Delivery.Status.PENDING,
        next_attempt_at=clock.now(),
        first_attempt_at=None,
        leased_until=None,
        delivered_at=None,
    )
    delivery.refresh_from_db()
    return delivery
