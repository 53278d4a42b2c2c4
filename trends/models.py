"""What the overview draws over time, recorded as it happens: a page load reads these small
tables, never the ledger or Kafka.

`RelaySample`: every minute (beat), the outbox backlog and the history consumer's lag; kept for
`KEEP_SAMPLES_HOURS`. `DailyVolume`: the money the ledger moved per UTC day and currency (the sum of
its credit entries: a transfer's amount, a split's legs together) and how many transactions, counted
forward from `VolumeCheckpoint` by the same task; kept for `KEEP_DAYS`.
"""

from __future__ import annotations

from django.db import models


class RelaySample(models.Model):
    at = models.DateTimeField(db_index=True)
    outbox_pending = models.IntegerField(help_text="events waiting in the outbox")
    oldest_pending_seconds = models.FloatField(help_text="age of the oldest waiting event")
    consumer_lag = models.BigIntegerField(
        null=True, blank=True, help_text="messages the history has not consumed; empty: Kafka unreadable"
    )

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M}: {self.outbox_pending} pending, lag {self.consumer_lag}"


class DailyVolume(models.Model):
    day = models.DateField(help_text="UTC")
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(max_digits=30, decimal_places=4)
    movements = models.BigIntegerField(help_text="ledger transactions")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "currency"], name="daily_volume_day_currency")]

    def __str__(self) -> str:
        return f"{self.day} {self.currency}: {self.amount} in {self.movements}"


class VolumeCheckpoint(models.Model):
    """One row: the ledger transactions created before `counted_until` are in `DailyVolume`."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    counted_until = models.DateTimeField()

    def __str__(self) -> str:
        return f"counted until {self.counted_until}"
