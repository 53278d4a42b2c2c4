"""Celery application: Redis broker, settings from Django's `CELERY_*` namespace."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")

app = Celery("walletproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="walletproject.ping", ignore_result=False)
def ping() -> str:
    """Round trip used by readiness checks and tests: proves a worker is consuming."""
    return "pong"
