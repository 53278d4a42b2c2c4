"""Beat's minute task for the overview's charts: a relay sample, the ledger counted forward, pruning.

It reads the outbox backlog (`kafka_bridge.selectors`) and the history consumer's lag
(`history.lag`, read now with the health check's timeout: a Kafka outage records an empty lag,
never fails the task), then calls the services.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from history.lag import consumer_lag_summary
from kafka_bridge.selectors import outbox_backlog

from . import services


@shared_task(name="trends.sample")
def sample() -> dict[str, Any]:
    backlog = outbox_backlog()
    lag = consumer_lag_summary()
    recorded = services.relay_sample_record(
        outbox_pending=backlog.pending,
        oldest_pending_seconds=backlog.oldest_pending_age_seconds,
        consumer_lag=None if "error" in lag else int(lag["total"]),
    )
    counted = services.volume_count()
    pruned_samples, pruned_days = services.trends_prune()
    return {
        "sample": recorded.id,
        "counted_until": counted["until"].isoformat(),
        "pruned": [pruned_samples, pruned_days],
    }
