"""Celery: `reconcile` on a schedule, so a breach is found within the hour, not at the next audit.

Hourly the periodic run (what is new since its checkpoint: its cost follows the traffic, not the
size of the books), weekly the full one (everything, which finds a change behind the checkpoint).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from .reconcile import ReconcileBusy, store
from .reconcile import reconcile as run_reconcile

logger = logging.getLogger(__name__)


@shared_task(name="history.reconcile")
def reconcile(
    outbox_max_age: float = 300.0,
    history_grace: float = 300.0,
    skip_history: bool = False,
    full: bool = False,
) -> dict[str, Any]:
    """Run the checks, store the result (admin, `/metrics`), log the report at ERROR on a breach.

    Apart from the stored result and the checkpoints (which only move past what agreed), it
    writes nothing, so running it twice is harmless; a run that finds another one running skips."""
    try:
        result = run_reconcile(
            full=full, outbox_max_age=outbox_max_age, history_grace=history_grace, skip_history=skip_history
        )
    except ReconcileBusy:
        logger.warning("reconcile: another run is in progress; this one skipped")
        return {"run": None, "ok": None, "breaches": None, "skipped": True}
    run = store(result)
    if result.ok:
        logger.info("reconcile (%s): all %d checks agree", "full" if full else "periodic", len(result.checks))
    else:
        logger.error("reconcile found breaches:\n%s", result.report())
    return {"run": run.id, "ok": result.ok, "breaches": result.breaches}
