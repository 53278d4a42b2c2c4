"""Celery application: Redis broker, settings from Django's `CELERY_*` namespace.

The broker transport is kombu's Redis transport with one fix (`walletproject.broker`), set by
`CELERY_BROKER_TRANSPORT`; an explicit transport wins over the URL's scheme.
"""

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
