"""The history service's Kafka consumer: wallet events in, history rows out, nothing lost or doubled.

Why this shape (../shared/spec/events.md, "Consumer guarantees"):
- A consumer group, so several processes share the partitions (one owner per partition at a time).
- Offsets are committed by hand, synchronously, and only after the database transaction holding the
  batch committed: a crash between the two re-delivers the batch, and `event_id` uniqueness makes
  the re-delivery insert nothing. The reverse order could lose events; this one cannot.
- A message that is not a valid event goes to the dead-letter topic with the reason and its origin,
  and the consumer goes on: one poison message never blocks a partition, nothing is dropped silently.
- A database or broker outage is waited out with exponential back-off, retrying the same batch.
- SIGTERM/SIGINT only set a flag: the loop finishes (or, in an outage, abandons) the current batch,
  commits what was saved and closes, so a deploy never loses or half-writes a batch.
The loop lives here; `manage.py consume_events` only parses options (PostHog's and Zulip's habit).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from types import FrameType
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, TopicPartition
from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, close_old_connections

from kafka_bridge.client import base_config

from .dead_letters import DeadLetterFailed, DeadLetterProducer, Rejected
from .decoding import HistoryRow, InvalidEvent, Origin, decode
from .projection import (
    DeadLetterRecord,
    VersionTracker,
    already_dead_lettered,
    refused_rows,
    save_batch,
)

logger = logging.getLogger(__name__)

# Commit errors that mean the partitions went to another member: it re-reads from the last
# committed offset, and the events are already stored, so nothing is lost and nothing doubles.
_REASSIGNED = {
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError.FENCED_INSTANCE_ID,
}
_COMMIT_ATTEMPTS = 5
_PROGRESS_EVERY_SECONDS = 30.0


@dataclass
class ConsumerOptions:
    topic: str = field(default_factory=lambda: str(settings.KAFKA_TOPIC))
    dlq_topic: str = field(default_factory=lambda: str(settings.KAFKA_DLQ_TOPIC))
    group_id: str = field(default_factory=lambda: str(settings.KAFKA_GROUP_ID))
    batch_size: int = 1000
    # How long one wait for the next message lasts when none comes (the loop's idle wake-up, and
    # the most a stop request waits). No latency: the wait ends at the first message, and the batch
    # is that message plus whatever else has arrived (`_next_batch`, issue #37).
    poll_timeout: float = 0.25
    max_messages: int | None = None  # stop after this many messages (tests, scripts)
    stop_when_idle: float | None = None  # stop after this many seconds without a message
    from_beginning: bool = False  # read the first assigned partitions from the earliest offset
    session_timeout: float = 10.0  # seconds before the group gives a dead member's partitions away
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


@dataclass
class ConsumerStats:
    received: int = 0  # messages taken from Kafka (valid or not, duplicates included)
    inserted: int = 0  # new history rows
    duplicates: int = 0  # valid events already stored (redeliveries)
    # valid events skipped because their wallet version is stored under another event id (ids
    # from before they were derived from the ledger, re-read after `rebuild_history --from-ledger`)
    version_duplicates: int = 0
    dead_lettered: int = 0  # messages sent to the dead-letter topic
    gaps: int = 0  # version gaps detected
    batches: int = 0
    retries: int = 0  # batch save attempts that failed and were retried
    commit_failures: int = 0
    abandoned_batches: int = 0  # batches given up at shutdown during an outage (not committed)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def summary(self) -> str:
        return ", ".join(f"{name} {value}" for name, value in self.as_dict().items())


class BatchAbandoned(Exception):
    """Stop was requested while a batch could not be saved: its offsets stay uncommitted."""


class HistoryConsumer:
    def __init__(self, options: ConsumerOptions | None = None) -> None:
        self.options = options or ConsumerOptions()
        self.stats = ConsumerStats()
        self.tracker = VersionTracker()
        self.dead_letters = DeadLetterProducer(self.options.dlq_topic, self.options.group_id)
        self._stopping = threading.Event()
        self._consumer: Any = None
        self._reset_done = False
        self._last_activity = time.monotonic()
        self._assigned_once = False
        self.assignment: list[int] = []

    # -- lifecycle -------------------------------------------------------------------------------

    def stop(self, *_: object) -> None:
        """Finish the current batch, commit, close. Safe from a signal handler or another thread."""
        if not self._stopping.is_set():
            logger.info("history consumer: stop requested; finishing the current batch")
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _config(self) -> dict[str, Any]:
        session_ms = int(self.options.session_timeout * 1000)
        return {
            **base_config(),
            "group.id": self.options.group_id,
            "client.id": f"history-{socket.gethostname()}-{os.getpid()}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            # A new group starts at the beginning: the history wants every retained event.
            "auto.offset.reset": "earliest",
            "session.timeout.ms": session_ms,
            "heartbeat.interval.ms": max(500, min(3000, session_ms // 3)),
            "logger": logging.getLogger("history.librdkafka"),
        }

    def run(self) -> ConsumerStats:
        previous = self._install_signal_handlers()
        self._consumer = Consumer(self._config())
        try:
            self._consumer.subscribe(
                [self.options.topic],
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_revoke,
            )
            logger.info(
                "history consumer: consuming %s as group %s (batch %d, dead letters to %s)",
                self.options.topic,
                self.options.group_id,
                self.options.batch_size,
                self.options.dlq_topic,
            )
            self._loop()
        except BatchAbandoned:
            self.stats.abandoned_batches += 1
        finally:
            self._close()
            self._restore_signal_handlers(previous)
        logger.info("history consumer: stopped (%s)", self.stats.summary())
        return self.stats

    def _close(self) -> None:
        try:
            self.dead_letters.close()
        finally:
            # With auto-commit off, close() commits nothing: only saved batches were committed.
            self._consumer.close()
            close_old_connections()

    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous: dict[int, Any] = {}
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, self._on_signal)
        return previous

    def _restore_signal_handlers(self, previous: dict[int, Any]) -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stop()

    # -- rebalances ------------------------------------------------------------------------------

    def _on_assign(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        self.tracker.forget()
        self._last_activity = time.monotonic()
        self._assigned_once = True
        self.assignment = sorted(p.partition for p in partitions)
        if self.options.from_beginning and not self._reset_done and partitions:
            for partition in partitions:
                partition.offset = OFFSET_BEGINNING
            consumer.assign(partitions)
            self._reset_done = True
            logger.info("history consumer: reading partitions %s from the beginning", self.assignment)
        logger.info("history consumer: assigned %s partitions %s", self.options.topic, self.assignment)

    def _on_revoke(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        # Called from consume(), between batches: every saved batch is already committed.
        self.tracker.forget()
        revoked = {p.partition for p in partitions}
        self.assignment = [p for p in self.assignment if p not in revoked]
        logger.info("history consumer: revoked partitions %s", sorted(revoked))

    # -- the loop --------------------------------------------------------------------------------

    def _loop(self) -> None:
        options = self.options
        next_progress = time.monotonic() + _PROGRESS_EVERY_SECONDS
        failures = 0
        while not self.stopping:
            wanted = options.batch_size
            if options.max_messages is not None:
                wanted = min(wanted, options.max_messages - self.stats.received)
                if wanted <= 0:
                    break
            if self._idle_too_long():
                logger.info("history consumer: idle for %.1fs; stopping", options.stop_when_idle)
                break
            try:
                messages = self._next_batch(wanted)
            except KafkaException as exc:
                if exc.args and isinstance(exc.args[0], KafkaError) and exc.args[0].fatal():
                    raise
                failures += 1
                if self._back_off(failures, f"Kafka consume failed: {exc}"):
                    break
                continue
            failures = 0
            if messages:
                self._last_activity = time.monotonic()
                self.handle_batch(messages)
            if time.monotonic() >= next_progress:
                logger.info("history consumer: %s", self.stats.summary())
                next_progress = time.monotonic() + _PROGRESS_EVERY_SECONDS

    def _next_batch(self, wanted: int) -> list[Message]:
        """What has arrived, up to `wanted`; if nothing has, the first message within poll_timeout
        and what came with it. `consume(n, timeout)` alone waits for n messages or the whole
        timeout, so under a steady trickle every event waited the full timeout (half of the
        commit-to-history p50 before issue #37)."""
        messages: list[Message] = self._consumer.consume(num_messages=wanted, timeout=0)
        if messages:
            return messages
        messages = self._consumer.consume(num_messages=1, timeout=self.options.poll_timeout)
        if messages and wanted > 1:
            messages += self._consumer.consume(num_messages=wanted - 1, timeout=0)
        return messages

    def _idle_too_long(self) -> bool:
        limit = self.options.stop_when_idle
        if limit is None:
            return False
        if not self._assigned_once:
            limit = max(limit, 60.0)  # joining the group is not idleness
        return time.monotonic() - self._last_activity >= limit

    def _back_off(self, attempt: int, reason: str) -> bool:
        """Wait before retry `attempt`; True if a stop was requested meanwhile."""
        delay = min(self.options.backoff_max, self.options.backoff_initial * 2 ** (attempt - 1))
        logger.error("history consumer: %s; retrying in %.1fs", reason, delay)
        return self._stopping.wait(delay)

    def handle_batch(self, messages: list[Message]) -> None:
        """Decode, store (retrying through outages), then commit the batch's offsets."""
        rows: list[HistoryRow] = []
        rejected: list[Rejected] = []
        originals: dict[Origin, Message] = {}
        offsets: dict[tuple[str, int], int] = {}
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                if error.fatal():
                    raise KafkaException(error)
                logger.warning("history consumer: Kafka reported %s", error)
                continue
            origin = Origin(str(message.topic()), int(message.partition() or 0), int(message.offset() or 0))
            offsets[(origin.topic, origin.partition)] = origin.offset + 1
            self.stats.received += 1
            try:
                rows.append(decode(message.value(), message.key(), origin))
                originals[origin] = message
            except InvalidEvent as exc:
                rejected.append(Rejected.from_message(message, origin, str(exc)))
        if not offsets:
            return
        try:
            self._save(rows, rejected, originals)
        except BatchAbandoned:
            logger.warning(
                "history consumer: stopping during an outage; the unsaved batch (%d messages) is left "
                "uncommitted and will be delivered again",
                len(messages),
            )
            raise
        self.stats.batches += 1
        self.commit(offsets)

    def _save(
        self, rows: list[HistoryRow], rejected: list[Rejected], originals: dict[Origin, Message]
    ) -> None:
        attempt = 0
        to_dead_letter = list(rejected)
        recorded: list[DeadLetterRecord] = []
        while True:
            try:
                close_old_connections()
                if to_dead_letter:
                    done = already_dead_lettered([item.origin for item in to_dead_letter])
                    fresh = [item for item in to_dead_letter if item.origin not in done]
                    self.dead_letters.send(fresh)
                    self.stats.dead_lettered += len(fresh)
                    recorded += [DeadLetterRecord(i.origin, i.key_text, i.error) for i in to_dead_letter]
                    to_dead_letter = []
                try:
                    result = save_batch(rows, recorded, self.tracker)
                except (DataError, IntegrityError):
                    refused = refused_rows(rows)
                    if not refused:
                        raise
                    refused_ids = {row.event_id for row, _ in refused}
                    rows = [row for row in rows if row.event_id not in refused_ids]
                    to_dead_letter = [
                        Rejected.from_message(originals[row.origin], row.origin, why) for row, why in refused
                    ]
                    continue
            except (DatabaseError, DeadLetterFailed, KafkaException) as exc:
                attempt += 1
                self.stats.retries += 1
                if self._back_off(
                    attempt, f"batch not saved ({type(exc).__name__}: {str(exc).strip()[:300]})"
                ):
                    raise BatchAbandoned() from exc
                continue
            if attempt:
                logger.info("history consumer: batch saved after %d failed attempts", attempt)
            self.stats.inserted += result.inserted
            self.stats.duplicates += result.duplicates
            self.stats.version_duplicates += len(result.version_duplicates)
            self.stats.gaps += len(result.gaps)
            return

    def commit(self, offsets: dict[tuple[str, int], int]) -> None:
        """Commit the next offsets to read, synchronously; only called once the batch is saved."""
        partitions = [
            TopicPartition(topic, partition, offset) for (topic, partition), offset in offsets.items()
        ]
        for attempt in range(1, _COMMIT_ATTEMPTS + 1):
            try:
                result = self._consumer.commit(offsets=partitions, asynchronous=False)
                failed = [p for p in result or [] if p.error is not None]
                if not failed:
                    return
                raise KafkaException(failed[0].error)
            except KafkaException as exc:
                error = exc.args[0] if exc.args else None
                code = error.code() if isinstance(error, KafkaError) else None
                if code in _REASSIGNED:
                    self.stats.commit_failures += 1
                    logger.warning(
                        "history consumer: offsets not committed (%s): the partitions moved to another "
                        "member, which re-reads the batch; its events are stored, so nothing doubles",
                        exc,
                    )
                    return
                if attempt == _COMMIT_ATTEMPTS or self.stopping:
                    self.stats.commit_failures += 1
                    logger.error(
                        "history consumer: offsets not committed after %d attempts (%s); the saved "
                        "batch will be re-read and ignored as duplicates",
                        attempt,
                        exc,
                    )
                    return
                delay = min(self.options.backoff_max, self.options.backoff_initial * 2 ** (attempt - 1))
                logger.warning("history consumer: offset commit failed (%s); retrying in %.1fs", exc, delay)
                self._stopping.wait(delay)
