"""The transactional outbox: events written in the same database transaction as the change.

Debezium-shaped (`aggregatetype`, `aggregateid`, `type`, `payload`), so a site that outgrows the
Celery relay can switch to Debezium's outbox event router without changing this table or the
consumers. The relay publishes rows in `id` order; a wallet's rows are inserted in version order
under its row lock, so `id` order is per-wallet event order.

A queue, not a log (issue #21): the relay deletes a row in the statement that counts it into
`RelayStats`, once Kafka acknowledged it. Every row in the table is pending, so the table is as
large as the backlog; Kafka and the history keep the events, `RelayStats` the counts. (A change-data
capture reader such as Debezium reads the inserts from the WAL, so the deletes take nothing from it.)
"""

from __future__ import annotations

import uuid

from django.db import models


class OutboxEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    aggregatetype = models.CharField(max_length=64)
    aggregateid = models.CharField(max_length=64, help_text="the Kafka key: the wallet id")
    type = models.CharField(max_length=64, help_text="the event type, e.g. TRANSFER_OUT")
    payload = models.JSONField()
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)  # failed sends so far
    last_error = models.TextField(blank=True)

    class Meta:
        # The relay's claim query is the primary key's order: every row is pending.
        indexes = [
            # One wallet's events (the admin's search by wallet).
            models.Index(fields=["aggregateid", "id"], name="outbox_aggregate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.aggregateid} #{self.id}"

    @property
    def status(self) -> str:
        """Every row is waiting for Kafka: "failing" once a send of it failed, else "pending"."""
        return "failing" if self.attempts else "pending"


class RelayStats(models.Model):
    """One row: how many events the relay has published, ever.

    A counter in the database, updated by the very statement that deletes the acknowledged rows,
    is exact whichever process (any Celery pool child, in turn) published them, and survives
    restarts and the rows themselves; `/metrics` and the admin read it.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    published_total = models.BigIntegerField(default=0)
    last_published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "relay stats"

    def __str__(self) -> str:
        return f"{self.published_total} published"
