"""Reads of the approvals: one by id, pages of them newest first, and the pending ones' count and
oldest age (`/metrics` and the admin overview; the partial index `approval_pending_idx` keeps that
read to the pending rows, however many were decided)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from common.api import parse_uuid

from .errors import ApprovalNotFound
from .models import Approval


def approval_get(*, approval_id: object) -> Approval:
    parsed = parse_uuid(approval_id)
    found = (
        Approval.objects.select_related("requested_by", "decided_by").filter(id=parsed).first()
        if parsed is not None
        else None
    )
    if found is None:
        raise ApprovalNotFound()
    return found


def approvals_list(
    *,
    status: str | None = None,
    kind: str | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> QuerySet[Approval]:
    """Newest first (requested_at, then id: `approval_requested_idx`), after a page's last row."""
    rows = Approval.objects.select_related("requested_by", "decided_by").order_by("-requested_at", "-id")
    if status is not None:
        rows = rows.filter(status=status)
    if kind is not None:
        rows = rows.filter(kind=kind)
    if after is not None:
        requested_at, last_id = after
        rows = rows.filter(Q(requested_at__lt=requested_at) | Q(requested_at=requested_at, id__lt=last_id))
    return rows


@dataclass(frozen=True)
class PendingApprovals:
    count: int
    oldest_requested_at: datetime | None

    @property
    def oldest_age_seconds(self) -> float:
        """Age of the oldest pending approval (0 when none is pending)."""
        if self.oldest_requested_at is None:
            return 0.0
        return max(0.0, (timezone.now() - self.oldest_requested_at).total_seconds())


def pending_approvals() -> PendingApprovals:
    figures = Approval.objects.filter(status=Approval.Status.PENDING).aggregate(
        count=Count("id"), oldest=Min("requested_at")
    )
    return PendingApprovals(figures["count"], figures["oldest"])
