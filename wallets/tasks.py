"""Housekeeping for the wallet app, run by Celery beat."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .holds import holds_expire_due
from .models import IdempotencyRecord


@shared_task(name="wallets.prune_idempotency_records", ignore_result=True)
def prune_idempotency_records() -> int:
    """Forget idempotency keys older than IDEMPOTENCY_RETENTION_HOURS (at least the spec's 24 h)."""
    cutoff = timezone.now() - timedelta(hours=max(settings.IDEMPOTENCY_RETENTION_HOURS, 24))
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@shared_task(name="wallets.expire_holds", ignore_result=True)
def expire_holds() -> int:
    """Release pending holds past their expiry as `expired` (HOLD_EXPIRY_INTERVAL_SECONDS apart, so
    within a minute of expires_at)."""
    return holds_expire_due()
