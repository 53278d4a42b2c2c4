"""Housekeeping for the wallet app, run by Celery beat."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .models import IdempotencyRecord


@shared_task(name="wallets.prune_idempotency_records", ignore_result=True)
def prune_idempotency_records() -> int:
    """Forget idempotency keys older than IDEMPOTENCY_RETENTION_HOURS (at least the spec's 24 h)."""
    cutoff = timezone.now() - timedelta(hours=max(settings.IDEMPOTENCY_RETENTION_HOURS, 24))
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
