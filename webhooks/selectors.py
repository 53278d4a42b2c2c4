"""Reads of the webhooks: what a principal may see (staff: every endpoint; an end user: their own),
pages newest first, and the figures /metrics and the overview show."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Min, Q, QuerySet

from common.api import parse_uuid

from . import clock
from .errors import DeliveryNotFound, EndpointNotFound
from .models import AUTO_DISABLED, Delivery, Endpoint


def _visible_endpoints(principal: Any) -> QuerySet[Endpoint]:
    rows = Endpoint.objects.all()
    if not getattr(principal, "is_staff", False):
        rows = rows.filter(owner=principal.get_username())
    return rows


def endpoint_get(*, principal: Any, endpoint_id: object) -> Endpoint:
    parsed = parse_uuid(endpoint_id)
    found = _visible_endpoints(principal).filter(id=parsed).first() if parsed else None
    if found is None:
        raise EndpointNotFound()
    return found


def _after(rows: QuerySet[Any], after: tuple[datetime, uuid.UUID] | None) -> QuerySet[Any]:
    if after is None:
        return rows
    moment, last_id = after
    return rows.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=last_id))


def endpoints_list(
    *, principal: Any, owner: str | None = None, after: tuple[datetime, uuid.UUID] | None = None
) -> QuerySet[Endpoint]:
    rows = _visible_endpoints(principal).order_by("-created_at", "-id")
    if owner is not None:
        rows = rows.filter(owner=owner)
    return _after(rows, after)


def deliveries_list(
    *, endpoint: Endpoint, status: str | None = None, after: tuple[datetime, uuid.UUID] | None = None
) -> QuerySet[Delivery]:
    rows = Delivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")
    if status is not None:
        rows = rows.filter(status=status)
    return _after(rows, after)


def delivery_get(*, principal: Any, delivery_id: object) -> Delivery:
    parsed = parse_uuid(delivery_id)
    rows = Delivery.objects.select_related("endpoint").prefetch_related("attempt_set")
    if not getattr(principal, "is_staff", False):
        rows = rows.filter(endpoint__owner=principal.get_username())
    found = rows.filter(id=parsed).first() if parsed else None
    if found is None:
        raise DeliveryNotFound()
    return found


@dataclass(frozen=True)
class WebhookStatus:
    pending: int  # deliveries to active endpoints not yet delivered
    failed: int  # deliveries given up after the retry window (until resent)
    oldest_pending_at: datetime | None  # the oldest pending delivery to an active endpoint
    disabled_failing: int  # endpoints disabled by the retry window
    disabled_by_hand: int

    @property
    def oldest_pending_age_seconds(self) -> float:
        if self.oldest_pending_at is None:
            return 0.0
        return max(0.0, (clock.now() - self.oldest_pending_at).total_seconds())


def webhook_status() -> WebhookStatus:
    """The figures /metrics and the overview show; each read from a partial index (pending,
    failed), so a scrape costs the same however many deliveries were delivered."""
    active = {"endpoint__status": Endpoint.Status.ACTIVE}
    pending = Delivery.objects.filter(status=Delivery.Status.PENDING, **active).aggregate(
        n=Count("id"), oldest=Min("created_at")
    )
    failed = Delivery.objects.filter(status=Delivery.Status.FAILED).count()
    disabled = Endpoint.objects.filter(status=Endpoint.Status.DISABLED).aggregate(
        failing=Count("id", filter=Q(disabled_reason__startswith=AUTO_DISABLED)),
        total=Count("id"),
    )
    return WebhookStatus(
        pending=pending["n"],
        failed=failed,
        oldest_pending_at=pending["oldest"],
        disabled_failing=disabled["failing"],
        disabled_by_hand=disabled["total"] - disabled["failing"],
    )
