"""The outbox relay: outbox rows to Kafka, oldest first, each deleted only once Kafka acked it.

Why it is shaped this way (../shared/spec/events.md):
- One relay at a time, and no transaction open while Kafka answers. A drain holds a session-level
  PostgreSQL advisory lock (taken with try-lock: a second relay, say the sweeper, returns at once
  instead of interleaving its sends with ours, which could put a wallet's events out of order).
  Each batch reads the oldest rows `ORDER BY id` (autocommit: nothing is locked but the advisory
  lock), sends them, waits for Kafka's acks, then deletes the delivered ones in one short
  transaction. A dead relay's lock dies with its database session; its rows are still there.
  A drain takes the lock only if a row is pending, in the same statement: woken every few
  milliseconds under load, the relay mostly finds the outbox empty, and those looks cost three
  round trips each (issue #37). Holding the lock, it reads again after each batch: rows committed
  meanwhile go out at once (ending on a batch smaller than its size instead saved that read but
  cost 1-3 ms of p50 lag, one more release and look per batch; bench/results/relays_round_trips.md).
  A wallet's rows are inserted under its row lock, so `id` order is that wallet's version order.
- One long-lived idempotent producer per process (`acks=all`, `enable.idempotence`,
  `enable.gapless.guarantee`: a failed message is never followed by a delivered later one on its
  partition; that is fatal to the producer, which is then rebuilt). Local timeouts are outside
  that guarantee; the prefix rule below keeps the order then.
- A row is published only when its delivery report says so. A wallet's rows are deleted as a
  prefix: after the first failure of a wallet in a batch its later rows are not sent (or, if
  already sent, not deleted), so they go out again after the earlier one. Delivery is
  at-least-once; duplicates carry the same `event_id`.
- Delete on publish (issue #21): every row in the table is pending, so the table is as large as
  the backlog and the claim is the primary key's order. The statement that deletes the delivered
  rows also counts them into `RelayStats` (`../shared/spec/events.md`'s "marked published" is read
  as "deleted once acknowledged"; README, Kafka relay).
- A row's topic is its `aggregatetype`'s (`client.topic_routes`, read per batch): wallet events to
  KAFKA_TOPIC, approval steps to KAFKA_APPROVALS_TOPIC. The order rules above are per key, and a
  key (a wallet's or an approval's id) belongs to one aggregate, so routing changes none of them.
  A row of a type without a topic (only SQL of one's own could write one) fails like a refused send.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from .client import reliable_producer_config, topic_routes
from .models import OutboxEvent, RelayStats

logger = logging.getLogger(__name__)

RELAY_LOCK_NAME = "kafka_bridge.outbox_relay"
OUTBOX = OutboxEvent._meta.db_table
STATS = RelayStats._meta.db_table
_MAX_ERROR_LENGTH = 1000


class _RelayProducer:
    """A confluent-kafka Producer plus whether librdkafka declared it dead (fatal error)."""

    def __init__(self) -> None:
        self.fatal_error: str | None = None
        self.unusable = False  # for the rest of this batch
        # Batches in a row that sent rows and got none of them acknowledged. Past
        # OUTBOX_PRODUCER_REBUILD_AFTER_FAILED_BATCHES the producer is replaced like a fatal one:
        # after a broker restart that lost the tail of its log, an idempotent producer's sequence
        # numbers are ahead of the broker's (OutOfOrderSequence) and every send times out until a
        # new producer id starts over; nothing else would ever replace it (seen in issue #37's runs).
        self.failed_batches = 0
        self.producer = Producer(
            {
                **reliable_producer_config(
                    role="outbox-relay", delivery_timeout_seconds=settings.OUTBOX_DELIVERY_TIMEOUT_SECONDS
                ),
                "enable.gapless.guarantee": True,
                "error_cb": self._on_error,
            }
        )

    def _note_fatal(self, exc: BaseException) -> bool:
        """Record a fatal error carried by `exc` (or the exception it came from); True if it was one.

        confluent-kafka raises a fatal error from flush()/poll() and, when a delivery callback
        runs in the same call, as the cause of a SystemError: both forms are recognised.
        """
        error = None
        for candidate in (exc, exc.__cause__, exc.__context__):
            if isinstance(candidate, KafkaException) and isinstance(
                next(iter(candidate.args), None), KafkaError
            ):
                error = candidate.args[0]
                break
        if error is not None and (error.fatal() or error.code() == KafkaError._FATAL):
            self.fatal_error = str(error)
            logger.error("outbox relay: the Kafka producer hit a fatal error, rebuilding it: %s", error)
            return True
        return False

    def send(self, topic: str, message: dict[str, Any], reports: dict[int, Any], row_id: int) -> str | None:
        """Hand one message to librdkafka; the delivery report lands in `reports[row_id]`.
        Returns why it was refused, if it was (the message is then not sent). A full local queue
        twice over or a fatal error sets `unusable`: the batch sends nothing more."""
        on_delivery = functools.partial(_record, reports, row_id)
        try:
            try:
                self.producer.produce(topic, **message, on_delivery=on_delivery)
            except BufferError:  # local queue full: serve delivery reports once, then try again
                self.producer.poll(1.0)
                self.producer.produce(topic, **message, on_delivery=on_delivery)
        except (KafkaException, SystemError) as exc:
            if not self._note_fatal(exc) and isinstance(exc, SystemError):
                raise
            return str(exc.__cause__ or exc) if isinstance(exc, SystemError) else str(exc)
        except BufferError as exc:
            self.unusable = True
            return f"local queue full: {exc}"
        except (ValueError, TypeError) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    def wait(self, timeout: float) -> None:
        """Serve delivery reports until every queued message has one (or the timeout).

        A fatal error surfaces here as an exception; the reports still come, failed, on a
        second flush, and the producer is replaced before the next batch.
        """
        for _ in range(2):
            try:
                remaining = self.producer.flush(timeout)
            except (KafkaException, SystemError) as exc:
                if not self._note_fatal(exc):
                    raise
                continue
            if remaining:
                logger.warning("outbox relay: %d messages still undelivered after %.0f s", remaining, timeout)
            return

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            self.fatal_error = str(error)
            logger.error("outbox relay: the Kafka producer hit a fatal error, rebuilding it: %s", error)
        else:
            logger.warning("outbox relay: Kafka producer: %s", error)


_producer: _RelayProducer | None = None
_producer_lock = threading.Lock()


def get_producer() -> _RelayProducer:
    """The process's producer, created on first use (after a fork) and after a fatal error."""
    global _producer
    with _producer_lock:
        if (
            _producer is not None
            and _producer.failed_batches >= settings.OUTBOX_PRODUCER_REBUILD_AFTER_FAILED_BATCHES
        ):
            logger.error(
                "outbox relay: %d batches in a row got no acknowledgement; rebuilding the Kafka producer",
                _producer.failed_batches,
            )
            _producer = None
        if _producer is None or _producer.fatal_error is not None:
            _producer = _RelayProducer()
        return _producer


def encode(event_id: Any, event_type: str, aggregateid: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The Kafka message of one outbox row: key, headers and compact UTF-8 JSON value."""
    return {
        "key": aggregateid.encode(),
        "value": json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode(),
        "headers": [
            ("event_id", str(event_id).encode()),
            ("event_type", event_type.encode()),
            ("schema_version", str(payload.get("schema_version", 1)).encode()),
        ],
    }


@dataclass
class PublishResult:
    claimed: int = 0
    published: int = 0
    failed: int = 0  # rows whose send failed: attempts + 1, last_error set, kept
    held_back: int = 0  # rows left pending behind an earlier failed row of the same wallet
    batches: int = 0
    locked_out: bool = False  # another relay held the lock
    budget_exhausted: bool = False  # stopped on time with rows possibly left
    delivery_failed: bool = False  # Kafka itself refused or did not answer
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


_NOT_REPORTED = object()


def _record(reports: dict[int, Any], row_id: int, error: KafkaError | None, message: Message) -> None:
    reports[row_id] = error


# id, event_id, aggregatetype, aggregateid, type, payload
Row = tuple[int, Any, str, str, str, dict[str, Any]]


@contextmanager
def _relay_lock(when_pending: bool = False) -> Iterator[bool | None]:
    """The relay's session-level advisory lock, if free; released (or dropped with a broken
    connection) on the way out. `when_pending`: tried only if a row is pending, in the same
    statement, and None when none is, so that a relay looking every few milliseconds pays one
    round trip for an empty outbox instead of three (issue #37)."""
    sql = "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))"
    if when_pending:
        sql += f" FROM (SELECT 1 FROM {OUTBOX} ORDER BY id LIMIT 1) AS pending"  # noqa: S608 -- a model's table
    with connection.cursor() as cursor:
        cursor.execute(sql, [RELAY_LOCK_NAME])
        found = cursor.fetchone()
    acquired = None if found is None else bool(found[0])
    try:
        yield acquired
    finally:
        if acquired:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [RELAY_LOCK_NAME])
            except DatabaseError:
                connection.close()  # a lock on a broken session is gone with it


def _pending_rows(batch_size: int, blocked: set[str]) -> list[Row]:
    """The oldest rows (every row is pending), skipping wallets whose oldest row failed during this
    drain."""
    pending = OutboxEvent.objects.all()
    if blocked:
        pending = pending.exclude(aggregateid__in=blocked)
    return list(
        pending.order_by("id").values_list(
            "id", "event_id", "aggregatetype", "aggregateid", "type", "payload"
        )[:batch_size]
    )


def _settle(
    rows: list[Row],
    produced: set[int],
    reports: dict[int, Any],
    errors: dict[int, str],
    result: PublishResult,
) -> list[int]:
    """The rows to delete as published: each wallet's delivered rows up to its first failure, in
    id order. Delivery failures are added to `errors`."""
    delivered: list[int] = []
    failed_wallets: set[str] = set()
    for row_id, _event_id, _aggregatetype, aggregateid, _type, _payload in rows:
        if aggregateid in failed_wallets:
            if row_id in produced:
                result.held_back += 1  # maybe on Kafka already: sent again after the earlier row
            continue
        if row_id in errors or row_id not in produced:
            failed_wallets.add(aggregateid)  # refused by produce(), or not sent at all
            continue
        report = reports.get(row_id, _NOT_REPORTED)
        if report is None:
            delivered.append(row_id)
            continue
        if report is _NOT_REPORTED:
            errors[row_id] = "no delivery report before the flush timeout"
        else:
            errors[row_id] = f"delivery failed: {report}"
        result.delivery_failed = True
        failed_wallets.add(aggregateid)
    return delivered


def _publish_batch(batch_size: int, blocked: set[str], result: PublishResult) -> bool:
    """Read, send and settle one batch (the relay lock is held). False when nothing was pending."""
    rows = _pending_rows(batch_size, blocked)
    if not rows:
        return False
    result.batches += 1
    result.claimed += len(rows)

    relay = get_producer()
    relay.unusable = False
    reports: dict[int, Any] = {}
    errors: dict[int, str] = {}  # row id -> why it failed
    produced: set[int] = set()
    refused_wallets: set[str] = set()
    routes = topic_routes()
    for row_id, event_id, aggregatetype, aggregateid, event_type, payload in rows:
        if aggregateid in refused_wallets or relay.fatal_error is not None or relay.unusable:
            continue
        topic = routes.get(aggregatetype)
        if topic is None:
            error: str | None = f"no topic for aggregatetype {aggregatetype!r}"
        else:
            error = relay.send(topic, encode(event_id, event_type, aggregateid, payload), reports, row_id)
        if error is None:
            produced.add(row_id)
        else:
            errors[row_id] = f"produce failed: {error}"
            refused_wallets.add(aggregateid)  # its later rows wait for this one
    if produced:
        relay.wait(settings.OUTBOX_DELIVERY_TIMEOUT_SECONDS + 5.0)

    delivered = _settle(rows, produced, reports, errors, result)
    if delivered:
        relay.failed_batches = 0
    elif produced:
        relay.failed_batches += 1
    if errors:
        with transaction.atomic():
            if delivered:
                _delete_published(delivered, timezone.now())
            _mark_failed(errors)
    elif delivered:  # one statement, atomic by itself: no BEGIN and COMMIT round trips (issue #37)
        _delete_published(delivered, timezone.now())
    blocked |= {aggregateid for row_id, _e, _a, aggregateid, _t, _p in rows if row_id in errors}
    result.published += len(delivered)
    result.failed += len(errors)
    if relay.fatal_error is not None or relay.unusable:
        result.delivery_failed = True
    if errors:
        reasons = sorted(set(errors.values()))
        result.errors = (result.errors + reasons)[:10]
        logger.warning(
            "outbox relay: %d of %d rows failed (%s); they stay in the outbox",
            len(errors),
            len(rows),
            "; ".join(reasons[:3]),
        )
    return True


def _delete_published(row_ids: list[int], at: Any) -> None:
    """Delete the delivered rows and count them, in one statement: only rows it deleted count.

    Committed without waiting for the WAL flush (`synchronous_commit` off for this statement's
    transaction alone, set by its first CTE): a delete lost in a crash only puts acknowledged rows
    back, and they are sent again (the consumer drops duplicates by event id, the count goes with
    them). Waiting cost a flush per drain: woken every few milliseconds under load, the relay's
    flushes queued with the transfers' own commits (issue #37)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH no_flush_wait AS (
                SELECT set_config('synchronous_commit', 'off', true)
            ), published AS (
                DELETE FROM {OUTBOX} WHERE id = ANY(%s)
                RETURNING 1
            )
            INSERT INTO {STATS} AS s (id, published_total, last_published_at)
            SELECT 1, count(*), %s FROM published, no_flush_wait
            ON CONFLICT (id) DO UPDATE
               SET published_total = s.published_total + EXCLUDED.published_total,
                   last_published_at = EXCLUDED.last_published_at
            """,  # noqa: S608 -- table names from model metadata, values are parameters
            [row_ids, at],
        )


def _mark_failed(errors: dict[int, str]) -> None:
    by_error: dict[str, list[int]] = {}
    for row_id, error in errors.items():
        by_error.setdefault(error[:_MAX_ERROR_LENGTH], []).append(row_id)
    with connection.cursor() as cursor:
        for error, row_ids in by_error.items():
            cursor.execute(
                f"UPDATE {OUTBOX} SET attempts = attempts + 1, last_error = %s WHERE id = ANY(%s)",  # noqa: S608
                [error, row_ids],
            )


def publish_pending(
    *,
    batch_size: int | None = None,
    time_budget: float | None = None,
    after_batch: Callable[[], None] | None = None,
) -> PublishResult:
    """Drain the outbox to Kafka until no row is left, Kafka fails, or the time budget is spent.

    Returns what happened; never raises for a Kafka failure (the rows record it). Database
    errors propagate (the caller retries). `after_batch` runs after each batch that found rows.
    """
    size = batch_size or settings.OUTBOX_BATCH_SIZE
    budget = settings.OUTBOX_PUBLISH_TIME_BUDGET_SECONDS if time_budget is None else time_budget
    deadline = time.monotonic() + budget
    result = PublishResult()
    blocked: set[str] = set()  # wallets whose oldest pending row failed during this drain
    with _relay_lock(when_pending=True) as acquired:
        if acquired is None:
            return result  # nothing pending: no lock taken
        if not acquired:
            result.locked_out = True
            return result
        while _publish_batch(size, blocked, result):
            if after_batch is not None:
                after_batch()
            if result.delivery_failed:
                break  # Kafka is in trouble: the task's backoff or the next sweep tries again
            if time.monotonic() >= deadline:
                result.budget_exhausted = True
                break
    return result
