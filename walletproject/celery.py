"""Celery application: Redis broker, settings from Django's `CELERY_*` namespace."""

import logging
import os

from celery import Celery
from celery.worker.consumer import Consumer

logger = logging.getLogger(__name__)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")

app = Celery("walletproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="walletproject.ping", ignore_result=False)
def ping() -> str:
    """Round trip used by readiness checks and tests: proves a worker is consuming."""
    return "pong"


class ResilientConsumer(Consumer):
    """The worker's broker consumer, surviving a Redis restart while tasks are unacknowledged.

    Celery 5.7.0 with kombu 5.7.0: after the broker connection drops, the consumer collects the
    connection (which detaches its transport) and then closes it; closing tries to restore the
    unacknowledged messages (there are some whenever an `acks_late` task is running or reserved)
    through the detached transport and raises AttributeError, which kills the worker
    ("Unrecoverable error"). Here that error is logged and the consumer reconnects as it would
    have. The unrestored messages stay in Redis's unacked set and are redelivered after the
    visibility timeout; every task here is idempotent and the beat sweeper covers the gap.
    """

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        try:
            super().on_connection_error_after_connected(exc)
        except AttributeError:
            logger.warning(
                "broker connection lost; unacknowledged messages could not be restored on the dead "
                "connection (they come back after the visibility timeout); reconnecting",
                exc_info=True,
            )
