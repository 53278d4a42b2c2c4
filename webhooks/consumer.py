"""`deliver_webhooks`: wallet events in from Kafka, deliveries out over HTTP, in one process.

- The Kafka side is a consumer group of its own (WEBHOOK_GROUP_ID, `wallet-webhooks`) on the event
  topic: for each event one Delivery per matching active endpoint is inserted (idempotent: the
  delivery's id is a hash of endpoint and event), and only after that transaction committed is the
  offset committed, so a SIGKILL between the two re-reads the batch and inserts nothing twice.
- An endpoint receives the events that occurred after it was created (a new group reads the topic
  from its start, and old events are not news to a new endpoint).
- The HTTP side (dispatch.py) runs in a thread beside the consumer: it claims due deliveries from
  PostgreSQL and sends them on a bounded pool shared by every endpoint. The consumer wakes it when
  it queued something, so a delivery leaves within milliseconds of its event; it also looks every
  quarter second, for retries that came due and for rows another process inserted.
- A recorder thread writes the senders' outcomes to PostgreSQL, all that are waiting in one
  statement (dispatch.record_many), and wakes the dispatcher: a delivered version n makes n+1 the
  head of its lane. An outcome not yet recorded when the process dies leaves its delivery leased;
  it is sent again after the lease, with the same webhook-id.
- SIGTERM/SIGINT only set a flag: no new claims, the sends in flight finish (at most the timeout)
  and are recorded, the deliveries claimed but not sent are released, the saved batches' offsets
  are committed, then the process exits. A lease left by a killed process runs out and its
  delivery is sent again, with the same webhook-id.
"""

from __future__ import annotations

import json
import logging
import os
import queue as queues
import signal
import socket
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, connections, transaction

from common.times import parse_rfc3339
from kafka_bridge.client import base_config

from . import clock, dispatch, http
from .models import WAITING_BEHIND, Endpoint, delivery_id

logger = logging.getLogger(__name__)

READY_LINE = "webhooks: consuming"


@dataclass
class Options:
    topic: str = field(default_factory=lambda: str(settings.KAFKA_TOPIC))
    group_id: str = field(default_factory=lambda: str(settings.WEBHOOK_GROUP_ID))
    batch_size: int = 500
    poll_timeout: float = 0.02  # the most a batch waits to fill: a share of the lag
    idle_poll: float = 0.25  # the dispatcher's look for due rows when nothing woke it
    concurrency: int = field(default_factory=lambda: int(settings.WEBHOOK_CONCURRENCY))
    record_batch: int = 500  # outcomes written by one statement at most
    session_timeout: float = 10.0
    backoff_max: float = 30.0


@dataclass
class Stats:
    received: int = 0
    queued: int = 0  # deliveries inserted (new)
    skipped: int = 0  # messages that are not events (the history dead-letters them)
    sent: int = 0
    delivered: int = 0
    failed_attempts: int = 0

    def summary(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.__dict__.items())


@dataclass(frozen=True)
class Event:
    event_id: uuid.UUID
    event_type: str
    wallet_id: uuid.UUID
    wallet_version: int
    user_id: str
    occurred_at: Any
    payload: str


def decode(value: bytes | None) -> Event | None:
    """The fields routing needs; None for a message that is not an event."""
    try:
        text = (value or b"").decode("utf-8")
        body = json.loads(text)
        version = body["wallet_version"]
        occurred = parse_rfc3339(body.get("occurred_at"))
        if not isinstance(version, int) or isinstance(version, bool) or occurred is None:
            return None
        return Event(
            event_id=uuid.UUID(body["event_id"]),
            event_type=str(body["event_type"]),
            wallet_id=uuid.UUID(body["wallet_id"]),
            wallet_version=version,
            user_id=str(body["user_id"]),
            occurred_at=occurred,
            payload=text,
        )
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


# One statement for a batch's deliveries (the ORM's bulk_create spent most of the consumer's time
# binding a parameter per column and row): the rows as one JSON document.
_INSERT = """
INSERT INTO webhooks_delivery (
    id, endpoint_id, event_id, event_type, wallet_id, wallet_version, payload,
    status, attempts, next_attempt_at, last_error, created_at
)
SELECT r.id, r.endpoint_id, r.event_id, r.event_type, r.wallet_id, r.wallet_version, r.payload,
    'pending', 0,
    -- behind a head waiting for its retry: not due until that one is delivered (models.WAITING_BEHIND)
    CASE WHEN (
        SELECT h.next_attempt_at FROM webhooks_delivery h
        WHERE h.endpoint_id = r.endpoint_id AND h.wallet_id = r.wallet_id AND h.status = 'pending'
        ORDER BY h.wallet_version
        LIMIT 1
    ) > %(now)s THEN %(behind)s ELSE %(now)s END,
    '', %(now)s
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(
    id uuid, endpoint_id uuid, event_id uuid, event_type text, wallet_id uuid, wallet_version bigint,
    payload text
)
ON CONFLICT DO NOTHING
"""


def queue(events: list[Event]) -> int:
    """Insert the deliveries the events owe the active endpoints; returns how many were new."""
    if not events:
        return 0
    endpoints = list(Endpoint.objects.filter(status=Endpoint.Status.ACTIVE))
    rows = [
        {
            "id": str(delivery_id(endpoint.id, event.event_id)),
            "endpoint_id": str(endpoint.id),
            "event_id": str(event.event_id),
            "event_type": event.event_type,
            "wallet_id": str(event.wallet_id),
            "wallet_version": event.wallet_version,
            "payload": event.payload,
        }
        for event in events
        for endpoint in endpoints
        if (endpoint.owner is None or endpoint.owner == event.user_id)
        and endpoint.wants(event.event_type)
        and event.occurred_at >= endpoint.created_at
    ]
    if not rows:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")  # the head through its index: dispatch's PLAN
        cursor.execute(
            _INSERT, {"rows": orjson.dumps(rows).decode(), "now": clock.now(), "behind": WAITING_BEHIND}
        )
        return int(cursor.rowcount)


class WebhookService:
    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self.stats = Stats()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        # Per endpoint, under _lock: claimed deliveries waiting for a sender, the senders working
        # for it (at most WEBHOOK_PER_ENDPOINT), and both together (what the claim counts as held).
        self._waiting: defaultdict[uuid.UUID, deque[dispatch.Claimed]] = defaultdict(deque)
        self._senders: Counter[uuid.UUID] = Counter()
        self._held: Counter[uuid.UUID] = Counter()
        self._pool = ThreadPoolExecutor(max_workers=self.options.concurrency, thread_name_prefix="webhook")
        self._outcomes: queues.SimpleQueue[tuple[dispatch.Claimed, Any]] = queues.SimpleQueue()
        self._senders_done = threading.Event()
        self._consumer: Any = None
        self._offsets: dict[tuple[str, int], int] = {}  # the last committed per partition

    def stop(self, *_: object) -> None:
        if not self._stopping.is_set():
            logger.info("webhooks: stop requested; finishing the sends in flight")
        self._stopping.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # -- the process -----------------------------------------------------------------------------

    def run(self) -> Stats:
        previous = self._install_signal_handlers()
        dispatcher = threading.Thread(target=self._dispatch_loop, name="webhook-dispatcher", daemon=True)
        recorder = threading.Thread(target=self._record_loop, name="webhook-recorder", daemon=True)
        dispatcher.start()
        recorder.start()
        try:
            self._consume_loop()
        finally:
            self.stop()
            dispatcher.join()
            self._pool.shutdown(wait=True)
            self._release_waiting()
            self._senders_done.set()  # the recorder writes what is left, then ends
            recorder.join()
            http.pool.close_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            connections.close_all()
        logger.info("webhooks: stopped (%s)", self.stats.summary())
        return self.stats

    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        return {signum: signal.signal(signum, self._on_signal) for signum in (signal.SIGTERM, signal.SIGINT)}

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop()

    # -- Kafka -> deliveries ---------------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        session_ms = int(self.options.session_timeout * 1000)
        return {
            **base_config(),
            "group.id": self.options.group_id,
            "client.id": f"webhooks-{socket.gethostname()}-{os.getpid()}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": session_ms,
            "heartbeat.interval.ms": max(500, min(3000, session_ms // 3)),
            "logger": logging.getLogger("webhooks.librdkafka"),
        }

    def _consume_loop(self) -> None:
        self._consumer = Consumer(self._config())
        try:
            self._consumer.subscribe([self.options.topic])
            logger.info("%s %s as group %s", READY_LINE, self.options.topic, self.options.group_id)
            failures = 0
            while not self.stopping:
                try:
                    messages: list[Message] = self._consumer.consume(
                        num_messages=self.options.batch_size, timeout=self.options.poll_timeout
                    )
                except KafkaException as exc:
                    failures += 1
                    if self._back_off(failures, f"Kafka consume failed: {exc}"):
                        break
                    continue
                failures = 0
                if messages:
                    self._handle(messages)
        finally:
            if self._offsets:
                self._commit(dict(self._offsets), wait=True)
            self._consumer.close()

    def _back_off(self, attempt: int, reason: str) -> bool:
        delay = min(self.options.backoff_max, 0.5 * 2 ** (attempt - 1))
        logger.error("webhooks: %s; retrying in %.1fs", reason, delay)
        return self._stopping.wait(delay)

    def _handle(self, messages: list[Message]) -> None:
        events: list[Event] = []
        offsets: dict[tuple[str, int], int] = {}
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    logger.warning("webhooks: consume error %s", error)
                continue
            self.stats.received += 1
            event = decode(message.value())
            if event is None:
                self.stats.skipped += 1
            else:
                events.append(event)
            offsets[(str(message.topic()), int(message.partition() or 0))] = int(message.offset() or 0) + 1
        attempt = 0
        while True:
            try:
                self.stats.queued += queue(events)
                break
            except DatabaseError as exc:
                close_old_connections()
                attempt += 1
                if self._back_off(attempt, f"deliveries not saved ({str(exc).strip()[:200]})"):
                    return  # offsets not committed: the batch is read again
        if events:
            self._wake.set()
        self._commit(offsets)

    def _commit(self, offsets: dict[tuple[str, int], int], *, wait: bool = False) -> None:
        """The batch's offsets, after its deliveries committed. Not waited for (a broker round trip
        per batch was the consumer's pace under load): one lost to a crash re-reads the batch, which
        inserts nothing twice. The last ones are committed and waited for when the process stops."""
        if not offsets:
            return
        self._offsets.update(offsets)
        partitions = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        try:
            self._consumer.commit(offsets=partitions, asynchronous=not wait)
        except KafkaException as exc:
            # Re-read later: the deliveries exist, so nothing doubles.
            logger.warning("webhooks: offsets not committed (%s); the batch will be re-read harmlessly", exc)

    # -- deliveries -> HTTP ----------------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        """Claim what is due, at most twice WEBHOOK_PER_ENDPOINT per endpoint: the senders working
        for an endpoint take its next claimed delivery as soon as they finish one, without waiting
        for a claim, while at most WEBHOOK_PER_ENDPOINT requests are in flight to it."""
        per_endpoint = int(settings.WEBHOOK_PER_ENDPOINT)
        repaired_at = time.monotonic()
        try:
            while not self.stopping:
                if time.monotonic() - repaired_at >= dispatch.REPAIR_SECONDS:
                    repaired_at = time.monotonic()
                    try:
                        if found := dispatch.repair():
                            logger.warning(
                                "webhooks: %d deliveries were waiting behind a delivered one", found
                            )
                    except DatabaseError as exc:
                        logger.error("webhooks: repair failed (%s)", str(exc).strip()[:200])
                        close_old_connections()
                with self._lock:
                    free = 2 * self.options.concurrency - sum(self._held.values())
                    busy = {k: v for k, v in self._held.items() if v}
                claimed: list[dispatch.Claimed] = []
                if free > 0:
                    try:
                        claimed = dispatch.claim(
                            limit=free,
                            busy=busy,
                            per_endpoint=2 * per_endpoint,
                            lease=dispatch.lease_seconds(sends=2),
                        )
                    except DatabaseError as exc:
                        logger.error("webhooks: claim failed (%s)", str(exc).strip()[:200])
                        close_old_connections()
                        self._stopping.wait(1.0)
                        continue
                logger.debug("webhooks: claimed %d (free %d, busy %s)", len(claimed), free, busy)
                with self._lock:
                    for item in claimed:
                        self._waiting[item.endpoint_id].append(item)
                        self._held[item.endpoint_id] += 1
                    self._start_senders()
                if not claimed:
                    self._wake.wait(self.options.idle_poll)
                    self._wake.clear()
        finally:
            connections.close_all()

    def _start_senders(self) -> None:
        """Under _lock: senders for the endpoints with deliveries waiting, each endpoint up to
        WEBHOOK_PER_ENDPOINT of them, while the pool has threads free."""
        if self.stopping:
            return  # the senders finish what they send; what waits is released
        per_endpoint = int(settings.WEBHOOK_PER_ENDPOINT)
        running = sum(self._senders.values())
        for endpoint_id, waiting in self._waiting.items():
            started = 0
            while (
                started < len(waiting)
                and self._senders[endpoint_id] < per_endpoint
                and running < self.options.concurrency
            ):
                self._senders[endpoint_id] += 1
                running += 1
                started += 1
                self._pool.submit(self._send_for, endpoint_id)

    def _send_for(self, endpoint_id: uuid.UUID) -> None:
        """A pool thread working for one endpoint: its waiting deliveries one after another (the
        POST alone: outcomes go to the recorder), until none waits or the process stops."""
        while True:
            with self._lock:
                waiting = self._waiting.get(endpoint_id)
                if not waiting or self.stopping:
                    self._senders[endpoint_id] -= 1
                    if not self._senders[endpoint_id]:
                        del self._senders[endpoint_id]
                        if not waiting:
                            self._waiting.pop(endpoint_id, None)
                    self._start_senders()  # this thread is free for another endpoint
                    break
                item = waiting.popleft()
            try:
                self._outcomes.put((item, dispatch.post(item)))
            except Exception:
                logger.exception(
                    "webhooks: delivery %s not sent; its lease runs out and it is retried", item.delivery_id
                )
            finally:
                with self._lock:
                    self._held[endpoint_id] -= 1
                    held = self._held[endpoint_id]
                    if not held:
                        del self._held[endpoint_id]
                if held <= int(settings.WEBHOOK_PER_ENDPOINT):
                    self._wake.set()  # half its claims are sent: a claim may take more

    def _release_waiting(self) -> None:
        """Stopping: the deliveries claimed but not sent are claimable again at once."""
        with self._lock:
            left = [item.delivery_id for waiting in self._waiting.values() for item in waiting]
            self._waiting.clear()
            self._held.clear()
        try:
            dispatch.release(left)
        except DatabaseError as exc:
            logger.warning(
                "webhooks: %d claimed deliveries not released (%s); their leases run out", len(left), exc
            )

    def _record_loop(self) -> None:
        """Every outcome waiting, in one statement; until the senders are done and none is left."""
        try:
            while True:
                try:
                    batch = [self._outcomes.get(timeout=self.options.idle_poll)]
                except queues.Empty:
                    if self._senders_done.is_set():
                        return
                    continue
                while len(batch) < self.options.record_batch:
                    try:
                        batch.append(self._outcomes.get_nowait())
                    except queues.Empty:
                        break
                self._record(batch)
                self._wake.set()  # a recorded 2xx makes the next version of its lane due
        finally:
            connections.close_all()

    def _record(self, batch: list[tuple[dispatch.Claimed, Any]]) -> None:
        for attempt in range(1, 6):
            try:
                dispatch.record_many(batch)
                break
            except DatabaseError as exc:
                close_old_connections()
                delay = min(5.0, 0.2 * 2 ** (attempt - 1))
                logger.error(
                    "webhooks: %d outcomes not recorded (%s); retrying in %.1fs",
                    len(batch),
                    str(exc).strip()[:200],
                    delay,
                )
                time.sleep(delay)
            except Exception:
                logger.exception("webhooks: %d outcomes not recorded; their leases run out", len(batch))
                return
        else:
            logger.error(
                "webhooks: %d outcomes not recorded; their leases run out and they are resent", len(batch)
            )
            return
        delivered = sum(1 for _, outcome in batch if outcome.ok)
        with self._lock:
            self.stats.sent += len(batch)
            self.stats.delivered += delivered
            self.stats.failed_attempts += len(batch) - delivered


def run_once(timeout: float = 10.0) -> None:
    """Tests: dispatch what is due until nothing is, without Kafka (the dispatcher alone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        claimed = dispatch.claim(limit=100, busy={})
        if not claimed:
            return
        for item in claimed:
            dispatch.send(item)
