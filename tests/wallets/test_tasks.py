"""Housekeeping: idempotency keys are kept at least 24 hours, then pruned."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from wallets.models import IdempotencyRecord
from wallets.tasks import prune_idempotency_records

pytestmark = pytest.mark.django_db


def test_old_idempotency_records_are_pruned_recent_ones_kept(settings):
    settings.IDEMPOTENCY_RETENTION_HOURS = 48
    user = get_user_model().objects.create(username="pruner")
    for key, age_hours in (("old", 49), ("day-old", 25), ("fresh", 1)):
        record = IdempotencyRecord.objects.create(
            principal=user, key=key, fingerprint="f", status_code=200, response_body=b"{}"
        )
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            created_at=timezone.now() - timedelta(hours=age_hours)
        )
    assert prune_idempotency_records() == 1
    assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == ["day-old", "fresh"]


def test_retention_never_goes_below_24_hours(settings):
    settings.IDEMPOTENCY_RETENTION_HOURS = 1
    user = get_user_model().objects.create(username="pruner2")
    record = IdempotencyRecord.objects.create(
        principal=user, key="k", fingerprint="f", status_code=200, response_body=b""
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - timedelta(hours=12))
    assert prune_idempotency_records() == 0
