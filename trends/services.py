"""Writes of the trends: record a relay sample, count the ledger's new days forward, prune.

Counting forward: each run sums the credit entries of the ledger transactions created in
[checkpoint, now - SETTLE_SECONDS) (at most one day of them a run, on `ledger_txn_created_idx`),
adds them to their day's row and moves the checkpoint, all in one transaction with the checkpoint
row locked, so two runs never count a transaction twice. A transaction is stamped inside its own
database transaction, which commits within milliseconds; `SETTLE_SECONDS` leaves it that long to
commit before its moment is counted. The first run starts `KEEP_DAYS` ago (a day a run, then
caught up).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from wallets.models import LedgerEntry

from .models import DailyVolume, RelaySample, VolumeCheckpoint

SETTLE_SECONDS = 30
KEEP_DAYS = 35
KEEP_SAMPLES_HOURS = 48
MAX_WINDOW = timedelta(days=1)


def relay_sample_record(
    *,
    outbox_pending: int,
    oldest_pending_seconds: float,
    consumer_lag: int | None,
    at: datetime | None = None,
) -> RelaySample:
    sample = RelaySample(
        at=at or timezone.now(),
        outbox_pending=outbox_pending,
        oldest_pending_seconds=oldest_pending_seconds,
        consumer_lag=consumer_lag,
    )
    sample.full_clean()
    sample.save()
    return sample


def _start_of_day(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(), UTC)


def volume_count(*, now: datetime | None = None) -> dict[str, Any]:
    """Count the ledger forward from the checkpoint (see the module): what was added."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        checkpoint = VolumeCheckpoint.objects.select_for_update().filter(id=1).first()
        if checkpoint is None:
            start = _start_of_day(now - timedelta(days=KEEP_DAYS - 1))
            VolumeCheckpoint.objects.create(id=1, counted_until=start)
            checkpoint = VolumeCheckpoint.objects.select_for_update().get(id=1)
        since = checkpoint.counted_until
        until = min(now - timedelta(seconds=SETTLE_SECONDS), since + MAX_WINDOW)
        if until <= since:
            return {"since": since, "until": since, "days": 0}
        sums = (
            LedgerEntry.objects.filter(
                transaction__created_at__gte=since, transaction__created_at__lt=until, amount__gt=0
            )
            .annotate(day=TruncDate("transaction__created_at", tzinfo=UTC))
            .values("day", "currency")
            .annotate(total=Sum("amount"), movements=Count("transaction", distinct=True))
            .order_by()
        )
        days = 0
        for row in sums:
            updated = DailyVolume.objects.filter(day=row["day"], currency=row["currency"]).update(
                amount=F("amount") + row["total"], movements=F("movements") + row["movements"]
            )
            if not updated:
                DailyVolume.objects.create(
                    day=row["day"],
                    currency=row["currency"],
                    amount=Decimal(row["total"]),
                    movements=row["movements"],
                )
            days += 1
        checkpoint.counted_until = until
        checkpoint.save(update_fields=["counted_until"])
    return {"since": since, "until": until, "days": days}


def trends_prune(*, now: datetime | None = None) -> tuple[int, int]:
    """Samples older than KEEP_SAMPLES_HOURS and days older than KEEP_DAYS: how many of each went."""
    now = now or timezone.now()
    samples, _ = RelaySample.objects.filter(at__lt=now - timedelta(hours=KEEP_SAMPLES_HOURS)).delete()
    days, _ = DailyVolume.objects.filter(day__lt=(now - timedelta(days=KEEP_DAYS)).date()).delete()
    return samples, days
