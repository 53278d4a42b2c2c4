"""The webhooks' one clock: retries, the retry window and a secret's overlap all read it, so a test
steps it (WEBHOOK_CLOCK_OFFSET_SECONDS, or patching `now`) instead of waiting three days."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone


def now() -> datetime:
    offset = float(getattr(settings, "WEBHOOK_CLOCK_OFFSET_SECONDS", 0.0))
    return timezone.now() + timedelta(seconds=offset)
