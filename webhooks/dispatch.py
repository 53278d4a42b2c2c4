"""Sending what is due, from PostgreSQL: retries and attempt history survive restarts, and several
processes may dispatch at once.

A claim finds, per endpoint and wallet, the pending delivery of the lowest version (the head: only
it may go out), takes the due heads with `FOR UPDATE SKIP LOCKED` and leases them (`leased_until`) in one
short transaction, so two processes never send the same one at once and a crashed sender's lease
runs out and the delivery is sent again (same webhook-id). Version n+1 goes out after n was
answered 2xx, as n stays the head until then. Per
endpoint at most WEBHOOK_PER_ENDPOINT are in flight from this process, so a slow or dead endpoint
holds a few of the shared pool's threads, never all of them.
A failed attempt is retried after the schedule's delay with full jitter (a uniform draw from 0 to
the delay); once the first attempt is WEBHOOK_RETRY_WINDOW_SECONDS old, the delivery fails and its
endpoint is disabled, the reason recorded.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import clock, http, services, signing
from .models import Attempt, Delivery, Endpoint

logger = logging.getLogger(__name__)

# A lease outlives a send (the timeout) by this much; a killed sender's deliveries go out again
# after it, with the same webhook-id.
LEASE_MARGIN_SECONDS = 5.0
# ASYNC_COMMIT: a claim's lease and an attempt's record commit without waiting for the WAL's flush
# (synchronous_commit off, for those transactions only): one flush per delivery was the sender's
# limit (measured: 43 deliveries/s to one endpoint beside a busy database). What a crash can lose
# is at most the last few hundred milliseconds of them, and losing them is safe: a lease lost makes
# the delivery claimable again, a record lost sends it again with the same webhook-id (at least
# once). The deliveries themselves (consumer.queue) commit durably before the Kafka offset.

_CLAIM = """
WITH busy(endpoint_id, n) AS (SELECT * FROM unnest(%(busy_ids)s::uuid[], %(busy_counts)s::int[])),
heads AS MATERIALIZED (
    SELECT DISTINCT ON (d.endpoint_id, d.wallet_id)
        d.id, d.endpoint_id, d.wallet_version, d.next_attempt_at, d.leased_until
    FROM webhooks_delivery d
    JOIN webhooks_endpoint e ON e.id = d.endpoint_id AND e.status = 'active'
    WHERE d.status = 'pending'
    ORDER BY d.endpoint_id, d.wallet_id, d.wallet_version
),
eligible AS MATERIALIZED (
    SELECT h.id, ROW_NUMBER() OVER (
        PARTITION BY h.endpoint_id ORDER BY h.next_attempt_at, h.wallet_version
    ) + COALESCE((SELECT b.n FROM busy b WHERE b.endpoint_id = h.endpoint_id), 0) AS slot
    FROM heads h
    WHERE h.next_attempt_at <= %(now)s AND (h.leased_until IS NULL OR h.leased_until < %(now)s)
)
SELECT d.id FROM webhooks_delivery d
WHERE d.id = ANY(ARRAY(SELECT id FROM eligible WHERE slot <= %(per_endpoint)s))
  AND d.status = 'pending' AND (d.leased_until IS NULL OR d.leased_until < %(now)s)
ORDER BY d.next_attempt_at
LIMIT %(limit)s
FOR UPDATE OF d SKIP LOCKED
"""


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    url: str
    payload: str
    secrets: list[str]


def claim(*, limit: int, busy: dict[uuid.UUID, int]) -> list[Claimed]:
    """Lease up to `limit` due deliveries (fewer for an endpoint with `busy` ones in flight here)."""
    if limit <= 0:
        return []
    now = clock.now()
    lease = now + timedelta(seconds=float(settings.WEBHOOK_TIMEOUT_SECONDS) + LEASE_MARGIN_SECONDS)
    ids = list(busy)
    with transaction.atomic(), connection.cursor() as cursor:
        # A fresh table's unknown statistics make the planner guess a costly plan and JIT-compile
        # it: a second per claim for a millisecond's work (measured). The claim is never worth it.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL synchronous_commit = off")  # why: see ASYNC_COMMIT
        cursor.execute(
            _CLAIM,
            {
                "busy_ids": ids,
                "busy_counts": [busy[i] for i in ids],
                "now": now,
                "per_endpoint": int(settings.WEBHOOK_PER_ENDPOINT),
                "limit": limit,
            },
        )
        claimed_ids = [row[0] for row in cursor.fetchall()]
        if not claimed_ids:
            return []
        Delivery.objects.filter(id__in=claimed_ids).update(leased_until=lease)
        rows = (
            Delivery.objects.filter(id__in=claimed_ids).select_related("endpoint").order_by("next_attempt_at")
        )
        return [
            Claimed(
                delivery_id=row.id,
                endpoint_id=row.endpoint_id,
                url=row.endpoint.url,
                payload=row.payload,
                secrets=services.secrets_in_use(row.endpoint),
            )
            for row in rows
        ]


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones: the schedule's delay (its last
    repeating), with full jitter."""
    schedule = [float(s) for s in settings.WEBHOOK_RETRY_SCHEDULE] or [5.0]
    base = schedule[min(attempts, len(schedule)) - 1]
    return random.uniform(0, base)


def send(item: Claimed) -> http.Outcome:
    """POST one delivery, signed now (the real time: receivers check the timestamp), and record it."""
    headers = signing.headers(
        msg_id=str(item.delivery_id), at=timezone.now(), payload=item.payload, secrets_in_use=item.secrets
    )
    outcome = http.post(item.url, item.payload.encode(), headers)
    record(item, outcome)
    return outcome


def record(item: Claimed, outcome: http.Outcome) -> None:
    now = clock.now()
    window = timedelta(seconds=float(settings.WEBHOOK_RETRY_WINDOW_SECONDS))
    disable: str | None = None
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")  # why: see ASYNC_COMMIT
        delivery = Delivery.objects.select_for_update().filter(id=item.delivery_id).first()
        if delivery is None:  # its endpoint was deleted meanwhile
            return
        Attempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=outcome.status_code,
            error=outcome.error[:500],
            latency_ms=outcome.latency_ms,
            response_excerpt=outcome.excerpt,
        )
        delivery.attempts += 1
        delivery.leased_until = None
        delivery.first_attempt_at = delivery.first_attempt_at or now
        if outcome.ok:
            delivery.status = Delivery.Status.DELIVERED
            delivery.delivered_at = now
            delivery.last_error = ""
        else:
            delivery.last_error = (outcome.error or f"HTTP {outcome.status_code}")[:500]
            if now - delivery.first_attempt_at >= window:
                delivery.status = Delivery.Status.FAILED
                disable = (
                    f"Delivery {delivery.id} failed for {window.total_seconds() / 3600:g} hours "
                    f"({delivery.attempts} attempts; last: {delivery.last_error})"
                )
            else:
                delivery.next_attempt_at = now + timedelta(seconds=retry_delay(delivery.attempts))
        delivery.save(
            update_fields=[
                "attempts",
                "leased_until",
                "first_attempt_at",
                "status",
                "delivered_at",
                "last_error",
                "next_attempt_at",
            ]
        )
        if disable is not None:
            endpoint = Endpoint.objects.filter(id=item.endpoint_id).first()
            if endpoint is not None and endpoint.status == Endpoint.Status.ACTIVE:
                services.endpoint_disable(endpoint=endpoint, reason=disable)
                logger.warning("webhooks: endpoint %s disabled: %s", endpoint.id, disable)
