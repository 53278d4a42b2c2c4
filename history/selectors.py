"""Reads of the history: pages for the API, and the figures `/metrics` and `/health/ready` report.

Keyset pagination ("newest first, strictly after the last row shown") so a page costs the same
however deep the client walks, and rows arriving meanwhile never shift a page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.db.models import Q, QuerySet

from .models import DeadLetter, HistoryEvent, ReconcileRun, VersionGap


@dataclass(frozen=True)
class HistoryFilters:
    event_types: tuple[str, ...] = ()
    hold_id: uuid.UUID | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def _filtered(events: QuerySet[HistoryEvent], filters: HistoryFilters) -> QuerySet[HistoryEvent]:
    if filters.event_types:
        events = events.filter(event_type__in=filters.event_types)
    if filters.hold_id is not None:
        events = events.filter(hold_id=filters.hold_id)
    if filters.since is not None:
        events = events.filter(occurred_at__gte=filters.since)
    if filters.until is not None:
        events = events.filter(occurred_at__lt=filters.until)
    return events


def wallet_history(
    *, wallet_id: uuid.UUID, filters: HistoryFilters, after: tuple[int, uuid.UUID] | None = None
) -> QuerySet[HistoryEvent]:
    """A wallet's events, newest first: by wallet version (the wallet's own sequence).

    The version alone is the order (`history_wallet_version_unique`: one event per version). The
    cursor still carries the event id, as it did when it broke ties, so cursors handed out before
    keep working; it is not needed any more."""
    events = _filtered(HistoryEvent.objects.filter(wallet_id=wallet_id), filters)
    if after is not None:
        version, _event_id = after
        events = events.filter(wallet_version__lt=version)
    return events.order_by("-wallet_version")


def user_activity(
    *, user_id: str, filters: HistoryFilters, after: tuple[datetime, uuid.UUID] | None = None
) -> QuerySet[HistoryEvent]:
    """A user's events across their wallets, newest first: by when they happened."""
    events = _filtered(HistoryEvent.objects.filter(user_id=user_id), filters)
    if after is not None:
        occurred_at, event_id = after
        events = events.filter(
            Q(occurred_at__lt=occurred_at) | Q(occurred_at=occurred_at, event_id__lt=event_id)
        )
    return events.order_by("-occurred_at", "-event_id")


@dataclass(frozen=True)
class HistoryStatus:
    """The history's health in figures (for `/metrics`)."""

    last_recorded_age_seconds: float | None  # since the newest row was stored; None when empty
    open_gaps: int
    gaps_total: int
    dead_letters_total: int
    last_reconcile_ok: bool | None  # None: never run
    last_reconcile_breaches: int
    last_reconcile_finished_at: datetime | None


def history_status() -> HistoryStatus:
    history, gaps, letters = HistoryEvent._meta.db_table, VersionGap._meta.db_table, DeadLetter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT EXTRACT(EPOCH FROM now() - (SELECT recorded_at FROM {history} ORDER BY id DESC LIMIT 1)),
                   (SELECT count(*) FROM {gaps} WHERE resolved_at IS NULL),
                   (SELECT count(*) FROM {gaps}),
                   (SELECT count(*) FROM {letters})
            """  # noqa: S608 -- table names come from model metadata
        )
        age, open_gaps, gaps_total, letters_total = cursor.fetchone()
    last = ReconcileRun.objects.order_by("-finished_at", "-id").first()
    return HistoryStatus(
        last_recorded_age_seconds=None if age is None else round(max(float(age), 0.0), 3),
        open_gaps=open_gaps,
        gaps_total=gaps_total,
        dead_letters_total=letters_total,
        last_reconcile_ok=None if last is None else last.ok,
        last_reconcile_breaches=0 if last is None else last.breaches,
        last_reconcile_finished_at=None if last is None else last.finished_at,
    )
