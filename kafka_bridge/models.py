"""The transactional outbox: events written in the same database transaction as the change.

Debezium-shaped (`aggregatetype`, `aggregateid`, `type`, `payload`), so a site that outgrows the
Celery relay can switch to Debezium's outbox event router without changing this table or the
consumers. The relay publishes rows in `id` order; a wallet's rows are inserted in version order
under its row lock, so `id` order is per-wallet event order.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class OutboxEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    aggregatetype = models.CharField(max_length=64)
    aggregateid = models.CharField(max_length=64, help_text="the Kafka key: the wallet id")
    type = models.CharField(max_length=64, help_text="the event type, e.g. TRANSFER_OUT")
    payload = models.JSONField()
    created_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            # The relay's claim query: pending rows, oldest first.
            models.Index(fields=["id"], condition=Q(published_at__isnull=True), name="outbox_pending_idx"),
            models.Index(fields=["aggregateid", "id"], name="outbox_aggregate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.aggregateid} #{self.id}"

    @property
    def status(self) -> str:
        if self.published_at is not None:
            return "published"
        return "failing" if self.attempts else "pending"


class RelayStats(models.Model):
    """One row: how many events the relay has published, ever.

    A counter in the database, updated in the same transaction that marks rows published, is
    exact whichever process (any Celery pool child, in turn) published them, and
    survives restarts and the pruning of old rows; `/metrics` reads it at scrape time.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    published_total = models.BigIntegerField(default=0)
    last_published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "relay stats"

    def __str__(self) -> str:
        return f"{self.published_total} published"
