"""Sending what is due, from PostgreSQL: retries and attempt history survive restarts, and several
processes may dispatch at once.

A claim finds, per endpoint and wallet, the pending delivery of the lowest version (the head: only
it may go out), takes the due heads with `FOR UPDATE SKIP LOCKED` and leases them (`leased_until`),
many at once in one statement, so two processes never send the same one and a crashed sender's
lease runs out and the delivery is sent again (same webhook-id). Version n+1 goes out after n was
answered 2xx, as n stays the head until its outcome is recorded. A claim takes at most
`per_endpoint` per endpoint (the service claims twice WEBHOOK_PER_ENDPOINT and sends at most
WEBHOOK_PER_ENDPOINT at once: consumer.py), so a slow or dead endpoint holds a few of the shared
pool's threads, never all of them.
Outcomes are recorded many at once too (`record_many`: one statement updates the deliveries and
inserts their attempts), so a delivery costs a share of two statements, not a dozen round trips.
The later versions of a lane whose head waits for a retry wait behind it (models.WAITING_BEHIND),
so no claim reads them until the head was delivered.
A failed attempt is retried after the schedule's delay with full jitter (a uniform draw from 0 to
the delay); once the first attempt is WEBHOOK_RETRY_WINDOW_SECONDS old, the delivery fails and its
endpoint is disabled, the reason recorded.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.conf import settings
from django.db import connection
from django.utils import timezone

from . import clock, http, services, signing
from .models import WAITING_BEHIND, Endpoint

logger = logging.getLogger(__name__)

# A lease outlives a send (the timeout) by this much; a killed sender's deliveries go out again
# after it, with the same webhook-id.
LEASE_MARGIN_SECONDS = 5.0
# ASYNC_COMMIT: a claim's lease and a batch of attempts' records commit without waiting for the WAL's
# flush (synchronous_commit off on the dispatcher's connections): one flush per delivery was the
# sender's limit. What a crash can lose is at most the last few hundred milliseconds of them, and
# losing them is safe: a lease lost makes the delivery claimable again, a record lost sends it again
# with the same webhook-id (at least once). The deliveries themselves (consumer.queue) commit
# durably before the Kafka offset.
# JIT off too: a fresh table's unknown statistics make the planner guess a costly plan and
# JIT-compile it, a second per claim for a millisecond's work (measured).
# Sorts off (PLAN): the claim must read each endpoint's due rows in index order
# (webhook_delivery_lane_due_idx) and find a lane's head through webhook_delivery_order_idx. A queue
# table's statistics are often of a moment with nothing pending (or of no moment yet, on a new
# table); the planner then takes the backlog for a row or two and picks a plan that sorts it, which
# reads the whole backlog per lane (measured on scratch tables: a claim over 2,000 pending rows took
# 455 ms instead of 0.5 ms). With sorts priced out only the index-ordered plan is left; the one sort
# the claim needs (merging the endpoints' rows) is kept, as nothing can replace it.
_SESSION = ("SET synchronous_commit = off", "SET jit = off", "SET enable_sort = off")
_tuned = threading.local()

_CLAIM = """
WITH busy(endpoint_id, n) AS (SELECT * FROM unnest(%(busy_ids)s::uuid[], %(busy_counts)s::int[])),
picked AS (
    SELECT c.id, c.next_attempt_at
    FROM webhooks_endpoint e
    LEFT JOIN busy b ON b.endpoint_id = e.id
    CROSS JOIN LATERAL (
        SELECT d.id, d.next_attempt_at
        FROM webhooks_delivery d
        WHERE d.endpoint_id = e.id AND d.status = 'pending' AND d.next_attempt_at <= %(now)s
          AND (d.leased_until IS NULL OR d.leased_until < %(now)s)
          AND d.wallet_version = (
              -- the lane's head: its lowest pending version (through webhook_delivery_order_idx,
              -- the one index that gives this order without a sort: see PLAN above)
              SELECT p.wallet_version FROM webhooks_delivery p
              WHERE p.endpoint_id = d.endpoint_id AND p.wallet_id = d.wallet_id AND p.status = 'pending'
              ORDER BY p.wallet_version
              LIMIT 1
          )
        ORDER BY d.next_attempt_at, d.wallet_version
        LIMIT GREATEST(%(per_endpoint)s - COALESCE(b.n, 0), 0)
        FOR UPDATE OF d SKIP LOCKED
    ) c
    WHERE e.status = 'active'
    ORDER BY c.next_attempt_at
    LIMIT %(limit)s
)
UPDATE webhooks_delivery d SET leased_until = %(lease)s
FROM picked p, webhooks_endpoint e
WHERE d.id = p.id AND e.id = d.endpoint_id
RETURNING d.id, d.endpoint_id, d.payload, d.attempts, d.next_attempt_at,
    e.url, e.secret, e.previous_secret, e.previous_secret_expires_at
"""

# One statement for a batch of outcomes: each delivery updated (delivered, retried later, or failed
# past the window) and its attempt inserted; a delivery deleted meanwhile (its endpoint deleted)
# gets no attempt. Returns the deliveries that failed, whose endpoints are then disabled.
_RECORD = """
WITH outcome AS (
    SELECT * FROM jsonb_to_recordset(%(outcomes)s::jsonb) AS o(
        id uuid, at timestamptz, status_code int, error text, latency_ms int, excerpt text,
        ok boolean, retry_at timestamptz
    )
),
updated AS (
    UPDATE webhooks_delivery d SET
        attempts = d.attempts + 1,
        leased_until = NULL,
        first_attempt_at = COALESCE(d.first_attempt_at, o.at),
        status = CASE
            WHEN o.ok THEN 'delivered'
            WHEN o.at - COALESCE(d.first_attempt_at, o.at) >= %(window)s THEN 'failed'
            ELSE 'pending' END,
        delivered_at = CASE WHEN o.ok THEN o.at ELSE d.delivered_at END,
        last_error = CASE
            WHEN o.ok THEN ''
            ELSE LEFT(COALESCE(NULLIF(o.error, ''), 'HTTP ' || o.status_code::text, ''), 500) END,
        next_attempt_at = CASE
            WHEN o.ok OR o.at - COALESCE(d.first_attempt_at, o.at) >= %(window)s THEN d.next_attempt_at
            ELSE o.retry_at END
    FROM outcome o
    WHERE d.id = o.id
    RETURNING d.id, d.endpoint_id, d.wallet_id, d.wallet_version, d.status, d.attempts, d.last_error
),
attempts AS (
    INSERT INTO webhooks_attempt (delivery_id, at, status_code, error, latency_ms, response_excerpt)
    SELECT o.id, o.at, o.status_code, LEFT(o.error, 500), o.latency_ms, o.excerpt
    FROM outcome o JOIN updated u ON u.id = o.id
),
-- A delivered head's next version is due now (it may have waited behind it).
pulled AS (
    UPDATE webhooks_delivery d SET next_attempt_at = %(now)s
    WHERE d.id = ANY(ARRAY(
        SELECT n.id FROM updated u CROSS JOIN LATERAL (
            SELECT p.id, p.next_attempt_at FROM webhooks_delivery p
            WHERE p.endpoint_id = u.endpoint_id AND p.wallet_id = u.wallet_id AND p.status = 'pending'
              AND p.wallet_version > u.wallet_version
            ORDER BY p.wallet_version
            LIMIT 1
        ) n
        WHERE u.status = 'delivered' AND n.next_attempt_at > %(now)s
    ))
),
-- A head to be retried: its later versions wait behind it, not due, so no claim reads them.
waiting AS (
    UPDATE webhooks_delivery d SET next_attempt_at = %(behind)s
    WHERE d.id = ANY(ARRAY(
        SELECT n.id FROM updated u CROSS JOIN LATERAL (
            SELECT p.id, p.next_attempt_at FROM webhooks_delivery p
            WHERE p.endpoint_id = u.endpoint_id AND p.wallet_id = u.wallet_id AND p.status = 'pending'
              AND p.wallet_version > u.wallet_version
            ORDER BY p.wallet_version
        ) n
        WHERE u.status = 'pending' AND n.next_attempt_at < %(behind)s
    ))
)
SELECT id, endpoint_id, attempts, last_error FROM updated WHERE status = 'failed'
"""


@dataclass(frozen=True)
class Claimed:
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    url: str
    payload: str
    secrets: list[str]
    attempts: int = 0  # before this one


def _cursor() -> Any:
    """A cursor on this thread's connection, its session tuned once per connection (ASYNC_COMMIT)."""
    connection.ensure_connection()
    raw = connection.connection
    cursor = connection.cursor()
    # Inside a transaction (the tests' run_once) a rollback would undo the settings: set them again.
    if connection.in_atomic_block or getattr(_tuned, "connection", None) is not raw:
        for statement in _SESSION:
            cursor.execute(statement)
        _tuned.connection = None if connection.in_atomic_block else raw
    return cursor


def _secrets(secret: str, previous: str, expires: datetime | None) -> list[str]:
    found = [secret]
    if previous and expires is not None and clock.now() < expires:
        found.append(previous)
    return found


def lease_seconds(sends: int = 1) -> float:
    """How long a claim holds a delivery: `sends` sends' timeouts (one waiting for a sender of its
    endpoint, then its own), and a margin."""
    return sends * float(settings.WEBHOOK_TIMEOUT_SECONDS) + LEASE_MARGIN_SECONDS


def claim(
    *, limit: int, busy: dict[uuid.UUID, int], per_endpoint: int | None = None, lease: float | None = None
) -> list[Claimed]:
    """Lease up to `limit` due deliveries, at most `per_endpoint` (WEBHOOK_PER_ENDPOINT) per
    endpoint counting its `busy` ones held here, for `lease` seconds (one send's); in one statement,
    the oldest due first."""
    if limit <= 0:
        return []
    now = clock.now()
    until = now + timedelta(seconds=lease if lease is not None else lease_seconds())
    ids = list(busy)
    with _cursor() as cursor:
        cursor.execute(
            _CLAIM,
            {
                "busy_ids": ids,
                "busy_counts": [busy[i] for i in ids],
                "now": now,
                "lease": until,
                "per_endpoint": int(settings.WEBHOOK_PER_ENDPOINT) if per_endpoint is None else per_endpoint,
                "limit": limit,
            },
        )
        rows = cursor.fetchall()
    rows.sort(key=lambda row: row[4])
    return [
        Claimed(
            delivery_id=row[0],
            endpoint_id=row[1],
            payload=row[2],
            attempts=row[3],
            url=row[5],
            secrets=_secrets(row[6], row[7], row[8]),
        )
        for row in rows
    ]


def release(delivery_ids: Sequence[uuid.UUID]) -> None:
    """Claimed but not sent (the process is stopping): claimable again at once, by any process."""
    if delivery_ids:
        with _cursor() as cursor:
            cursor.execute(
                "UPDATE webhooks_delivery SET leased_until = NULL WHERE id = ANY(%s::uuid[])",
                [list(delivery_ids)],
            )


# A delivery left waiting behind a version that was delivered meanwhile: the insert that put it
# behind read the head before the head's 2xx was recorded, and the record did not see the insert.
# Rare (both within milliseconds); dispatch.repair makes such a head due, every REPAIR_SECONDS.
_REPAIR = """
UPDATE webhooks_delivery d SET next_attempt_at = %(now)s
WHERE d.id = ANY(ARRAY(
    SELECT w.id FROM webhooks_endpoint e CROSS JOIN LATERAL (
        SELECT x.id FROM webhooks_delivery x
        WHERE x.endpoint_id = e.id AND x.status = 'pending' AND x.next_attempt_at >= %(behind)s
          AND x.wallet_version = (
              SELECT p.wallet_version FROM webhooks_delivery p
              WHERE p.endpoint_id = x.endpoint_id AND p.wallet_id = x.wallet_id AND p.status = 'pending'
              ORDER BY p.wallet_version
              LIMIT 1
          )
    ) w
    WHERE e.status = 'active'
))
"""
REPAIR_SECONDS = 60.0


def repair() -> int:
    """Heads left waiting behind a version already delivered: due now. Returns how many."""
    with _cursor() as cursor:
        cursor.execute(_REPAIR, {"now": clock.now(), "behind": WAITING_BEHIND})
        return int(cursor.rowcount)


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after `attempts` failed ones: the schedule's delay (its last
    repeating), with full jitter."""
    schedule = [float(s) for s in settings.WEBHOOK_RETRY_SCHEDULE] or [5.0]
    base = schedule[min(attempts, len(schedule)) - 1]
    return random.uniform(0, base)


def post(item: Claimed) -> http.Outcome:
    """POST one delivery, signed now (the real time: receivers check the timestamp)."""
    headers = signing.headers(
        msg_id=str(item.delivery_id), at=timezone.now(), payload=item.payload, secrets_in_use=item.secrets
    )
    return http.post(item.url, item.payload.encode(), headers)


def send(item: Claimed) -> http.Outcome:
    """POST one delivery and record it (the tests' synchronous path; the service records in batches)."""
    outcome = post(item)
    record_many([(item, outcome)])
    return outcome


def _text(value: str) -> str:
    """PostgreSQL's text holds no NUL character (an answer may)."""
    return value.replace("\x00", "\ufffd")


def record_many(results: Sequence[tuple[Claimed, http.Outcome]]) -> int:
    """Record a batch of attempts in one statement (returns how many); the endpoint of a delivery
    that failed past the retry window is disabled."""
    if not results:
        return 0
    now = clock.now()
    at = now.isoformat()
    outcomes = [
        {
            "id": str(item.delivery_id),
            "at": at,
            "status_code": outcome.status_code,
            "error": _text(outcome.error[:500]),
            "latency_ms": outcome.latency_ms,
            "excerpt": _text(outcome.excerpt),
            "ok": outcome.ok,
            "retry_at": None
            if outcome.ok
            else (now + timedelta(seconds=retry_delay(item.attempts + 1))).isoformat(),
        }
        for item, outcome in results
    ]
    window = timedelta(seconds=float(settings.WEBHOOK_RETRY_WINDOW_SECONDS))
    with _cursor() as cursor:
        cursor.execute(
            _RECORD,
            {
                "outcomes": orjson.dumps(outcomes).decode(),
                "window": window,
                "now": now,
                "behind": WAITING_BEHIND,
            },
        )
        failed = cursor.fetchall()
    for delivery_id, endpoint_id, attempts, last_error in failed:
        reason = (
            f"Delivery {delivery_id} failed for {window.total_seconds() / 3600:g} hours "
            f"({attempts} attempts; last: {last_error})"
        )
        endpoint = Endpoint.objects.filter(id=endpoint_id).first()
        if endpoint is not None and endpoint.status == Endpoint.Status.ACTIVE:
            services.endpoint_disable(endpoint=endpoint, reason=reason)
            logger.warning("webhooks: endpoint %s disabled: %s", endpoint.id, reason)
    return len(results)
