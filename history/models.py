"""The history projection: one row per wallet event consumed from Kafka (the seed's `transaction_events`).

Why a projection and not a view over the ledger: the history is what the event stream said, rebuilt
from Kafka alone (`rebuild_history`), so it proves the stream is complete and lets the history
service run on another database one day. `reconcile` checks it against the ledger.

`event_id` is unique: redelivered events insert nothing. Where each row came from (topic,
partition, offset) and the full event as JSONB are kept for audits and replays. The fields schema
version 2 added (API v1.1: holds, reversals, metadata) are null in rows of version 1 events.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from wallets.models import MoneyField

from .event_types import EVENT_TYPES


class HistoryEvent(models.Model):
    EVENT_TYPE_CHOICES = [(t, t) for t in EVENT_TYPES]

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=30, choices=EVENT_TYPE_CHOICES)
    wallet_id = models.UUIDField()
    user_id = models.CharField(max_length=100)
    currency = models.CharField(max_length=3)
    amount = MoneyField()
    balance_after = MoneyField()
    wallet_version = models.BigIntegerField()
    transaction_id = models.UUIDField(null=True, blank=True)
    counterparty_wallet_id = models.UUIDField(null=True, blank=True)
    counterparty_user_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    occurred_at = models.DateTimeField(help_text="when it happened (the API's created_at)")
    recorded_at = models.DateTimeField(help_text="when the history service stored it")
    payload = models.JSONField(help_text="the event exactly as consumed")
    topic = models.CharField(max_length=255)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    schema_version = models.PositiveSmallIntegerField(default=1, help_text="the event's schema_version")
    # Schema version 2 (../shared/spec/holds.md); null in rows of version 1 events.
    held_after = MoneyField(null=True, blank=True)
    hold_id = models.UUIDField(null=True, blank=True)
    reverses_transaction_id = models.UUIDField(null=True, blank=True)
    description = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    metadata = models.JSONField(null=True, blank=True)

    class Meta:
        indexes = [
            # GET /wallets/{id}/history: newest first, the wallet version is the order.
            models.Index(
                fields=["wallet_id", "-wallet_version", "-event_id"], name="history_wallet_version_idx"
            ),
            # GET /users/{user_id}/activity: newest first across the user's wallets.
            models.Index(fields=["user_id", "-occurred_at", "-event_id"], name="history_user_occurred_idx"),
            models.Index(fields=["transaction_id"], name="history_transaction_idx"),
            # ?hold_id=, and the admin's search by hold or reversed transaction: most events have
            # neither, so only those that do are indexed.
            models.Index(fields=["hold_id"], condition=Q(hold_id__isnull=False), name="history_hold_idx"),
            models.Index(
                fields=["reverses_transaction_id"],
                condition=Q(reverses_transaction_id__isnull=False),
                name="history_reverses_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="history_amount_non_negative"),
            models.CheckConstraint(condition=Q(wallet_version__gte=0), name="history_version_non_negative"),
            models.CheckConstraint(condition=Q(held_after__gte=0), name="history_held_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.wallet_id} v{self.wallet_version}"


class VersionGap(models.Model):
    """Versions of a wallet the consumer had not seen when a later one arrived.

    Open until the missing events arrive (late, e.g. after a redelivery); an open gap means the
    history is missing events, which `/metrics` and the admin show rather than hide.
    """

    wallet_id = models.UUIDField()
    first_missing = models.BigIntegerField()
    last_missing = models.BigIntegerField()
    seen_event_id = models.UUIDField(help_text="the event whose version revealed the gap")
    topic = models.CharField(max_length=255)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    detected_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["wallet_id", "first_missing"], name="history_gap_unique"),
        ]
        indexes = [
            models.Index(
                fields=["wallet_id"], condition=Q(resolved_at__isnull=True), name="history_gap_open_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.wallet_id} missing v{self.first_missing}..v{self.last_missing}"


class DeadLetter(models.Model):
    """A message the consumer could not use and sent to the dead-letter topic, with the reason.

    Recorded in the same transaction as the batch it came in, so a redelivered batch does not send
    it to the DLQ twice, and operators see poison messages in the admin without reading Kafka.
    """

    topic = models.CharField(max_length=255)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    key = models.TextField(blank=True)
    error = models.TextField()
    dead_lettered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "partition", "offset"], name="history_dead_letter_origin"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}: {self.error[:60]}"


class ReconcileRun(models.Model):
    """The result of one `reconcile` run; the newest is the one `/metrics` and the admin show."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    breaches = models.PositiveIntegerField(help_text="checks that failed")
    checks = models.JSONField(help_text="each check: name, ok, count, examples")
    report = models.TextField()

    class Meta:
        ordering = ["-finished_at", "-id"]
        indexes = [models.Index(fields=["-finished_at"], name="history_reconcile_finished_idx")]

    def __str__(self) -> str:
        return f"{self.finished_at:%Y-%m-%d %H:%M:%S} {'ok' if self.ok else f'{self.breaches} breaches'}"
