"""Reads of the trends for the overview: small tables, a bounded number of rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from .models import DailyVolume, RelaySample, VolumeCheckpoint


@dataclass(frozen=True)
class DayVolume:
    day: date
    amount: Decimal
    movements: int


def money_per_day(*, days: int = 14, today: date | None = None) -> dict[str, list[DayVolume]]:
    """Per currency (those that moved in the period), each of the last `days` UTC days, oldest
    first; a day without movements is zero."""
    today = today or timezone.now().astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    found: dict[str, dict[date, DailyVolume]] = {}
    for row in DailyVolume.objects.filter(day__gte=first, day__lte=today):
        found.setdefault(row.currency, {})[row.day] = row
    result: dict[str, list[DayVolume]] = {}
    for currency in sorted(found):
        rows = found[currency]
        result[currency] = [
            DayVolume(day, rows[day].amount, rows[day].movements)
            if day in rows
            else DayVolume(day, Decimal(0), 0)
            for day in (first + timedelta(days=n) for n in range(days))
        ]
    return result


def counted_until() -> datetime | None:
    """Until when the ledger is counted into the daily volumes (None: never counted)."""
    checkpoint = VolumeCheckpoint.objects.filter(id=1).first()
    return None if checkpoint is None else checkpoint.counted_until


def relay_series(*, hours: int = 6, now: datetime | None = None) -> list[RelaySample]:
    """The relay samples of the last `hours`, oldest first (one a minute: 360 for 6 hours)."""
    now = now or timezone.now()
    return list(RelaySample.objects.filter(at__gte=now - timedelta(hours=hours)).order_by("at"))
