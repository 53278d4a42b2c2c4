"""Webhook endpoints, the deliveries owed to them and every attempt made (docs/webhooks.md).

Why the secret is stored as is: it signs (HMAC), so it cannot be hashed like a password; it is shown
once (on create and rotate) and never again by the API or the admin. A rotation keeps the previous
secret for WEBHOOK_SECRET_OVERLAP, signing with both meanwhile.
A delivery's id is a hash of (endpoint, event): the `webhook-id` of every attempt, so a receiver
deduplicates on it and the consumer's re-reads insert nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.db import models

NAMESPACE = uuid.UUID("5b0c4f57-7a39-4c53-9d0e-0f3a8d0e7c11")


# How the reason of an endpoint disabled by the retry window begins (dispatch.record writes it).
AUTO_DISABLED = "Delivery "

# The next_attempt_at of a delivery waiting behind an earlier version of its wallet that is being
# retried: never due by itself, so a claim does not read it; made due when that version is
# delivered (dispatch.record_many), when its endpoint is enabled, or by dispatch.repair.
WAITING_BEHIND = datetime(9999, 1, 1, tzinfo=UTC)


def delivery_id(endpoint_id: uuid.UUID, event_id: uuid.UUID) -> uuid.UUID:
    """The same id (and webhook-id) for one event to one endpoint, however often it is inserted."""
    return uuid.uuid5(NAMESPACE, f"{endpoint_id}:{event_id}")


class Endpoint(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        DISABLED = "disabled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The user id whose wallets' events it receives; NULL: every user's (staff only).
    owner = models.CharField(max_length=100, null=True, blank=True, db_index=True)  # noqa: DJ001
    url = models.CharField(max_length=2000)
    # Empty: every event type.
    event_types = models.JSONField(default=list, blank=True)
    description = models.CharField(max_length=500, blank=True, default="")
    secret = models.CharField(max_length=100, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"], name="webhook_endpoint_created_idx")]

    def __str__(self) -> str:
        return f"{self.url} ({self.owner or 'all users'})"

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, editable=False)  # delivery_id(endpoint, event)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=40)
    wallet_id = models.UUIDField()
    wallet_version = models.BigIntegerField()
    payload = models.TextField()  # the event's JSON exactly as Kafka carried it (the request body)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.IntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A dispatcher sending it holds it until then (another process skips it; a crash lets it go).
    leased_until = models.DateTimeField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once"),
        ]
        indexes = [
            # The dispatcher's claim: per active endpoint, its due pending rows, oldest first (a
            # disabled endpoint's backlog is never read).
            models.Index(
                fields=["endpoint", "next_attempt_at", "wallet_version"],
                name="webhook_delivery_lane_due_idx",
                condition=models.Q(status="pending"),
            ),
            # Per-wallet order: is an earlier version of this wallet still pending for the endpoint?
            models.Index(
                fields=["endpoint", "wallet_id", "wallet_version"],
                name="webhook_delivery_order_idx",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["endpoint", "-created_at", "-id"], name="webhook_delivery_list_idx"),
            # /metrics counts the failed ones at every scrape, however many were delivered.
            models.Index(
                fields=["endpoint"], name="webhook_delivery_failed_idx", condition=models.Q(status="failed")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} v{self.wallet_version} to {self.endpoint_id}"

    @property
    def waits_behind(self) -> bool:
        """Pending after an earlier version of its wallet that is being retried."""
        return self.status == Delivery.Status.PENDING and self.next_attempt_at >= WAITING_BEHIND


class Attempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_set")
    at = models.DateTimeField()
    status_code = models.IntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    latency_ms = models.IntegerField()
    response_excerpt = models.TextField(blank=True, default="")  # at most WEBHOOK_RESPONSE_CAP bytes

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error} at {self.at}"

    @property
    def ok(self) -> bool:
        return not self.error and self.status_code is not None and 200 <= self.status_code < 300
