"""Celery: `reconcile` on a schedule, so a breach is found within the hour, not at the next audit."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from .reconcile import reconcile as run_reconcile
from .reconcile import store

logger = logging.getLogger(__name__)


@shared_task(name="history.reconcile")
def reconcile(
    outbox_max_age: float = 300.0, history_grace: float = 300.0, skip_history: bool = False
) -> dict[str, Any]:
    """Run the checks, store the result (admin, `/metrics`), log the report at ERROR on a breach.

    Read-only apart from the stored result, so running it twice is harmless."""
    result = run_reconcile(
        outbox_max_age=outbox_max_age, history_grace=history_grace, skip_history=skip_history
    )
    run = store(result)
    if result.ok:
        logger.info("reconcile: all %d checks agree", len(result.checks))
    else:
        logger.error("reconcile found breaches:\n%s", result.report())
    return {"run": run.id, "ok": result.ok, "breaches": result.breaches}
