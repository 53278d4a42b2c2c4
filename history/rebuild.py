"""Rebuilding the history projection from the start of the topic (`manage.py rebuild_history`).

Why it can be rebuilt at all: the history is a pure function of the event stream, so after a bug in
the projection, a lost table or a schema change, reading the topic again gives the same table. That
is also the test that the stream is complete.

How: one database transaction deletes the history and the gap records, reads every partition from
its earliest offset up to the end offsets taken *after* the delete, and inserts with the consumer's
own code (`projection.save_batch`). Readers keep seeing the old rows until the commit, then the new
ones: never an empty history. A live `consume_events` may keep running: rows it stores during the
rebuild are either re-read here (they are below the end offsets) or kept (inserted after the
delete), and `ON CONFLICT (event_id)` makes the overlap harmless. The rebuild reads with
`assign()` under a throwaway group id and commits no offsets, so the live group is not touched.
Invalid messages already dead-lettered are not sent to the DLQ again.

A topic whose first events are gone (retention, `kafka-delete-records`: a partition's earliest offset
above 0) is refused (`LogTruncated`) before anything changes: the history would silently lose them.
`history/ledger_rebuild.py` rebuilds from the ledger instead, whatever Kafka still holds.

Interrupted (Ctrl-C, a crash, a stall), the transaction rolls back whole: the old history stays as
it was and a rerun starts again from the topic's start, so stopping it is always harmless. It is
not resumed half-way on purpose: a half-built history committed would be a wrong one.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from django.conf import settings
from django.db import connection, transaction

from kafka_bridge.client import base_config

from .dead_letters import DeadLetterProducer, Rejected
from .decoding import HistoryRow, InvalidEvent, Origin, decode
from .models import HistoryEvent, ReconciledWallet, VersionGap
from .projection import DeadLetterRecord, VersionTracker, already_dead_lettered, save_batch
from .reconcile import RUN_LOCK_NAME

logger = logging.getLogger(__name__)


class RebuildStalled(RuntimeError):
    """Kafka stopped delivering before the end offsets were reached; the rebuild rolled back."""


class LogTruncated(RuntimeError):
    """The topic no longer holds its first events: a rebuild from it would silently drop them."""

    def __init__(self, topic: str, earliest: dict[int, int]) -> None:
        self.topic, self.earliest = topic, earliest
        shown = ", ".join(f"partition {p} starts at offset {o}" for p, o in sorted(earliest.items()))
        super().__init__(
            f"topic {topic} no longer holds its first events ({shown}): a rebuild from it would lose "
            "them, so nothing was changed. Rebuild from the ledger instead: "
            "`manage.py rebuild_history --from-ledger` (and keep the log: `manage.py kafka_setup`)."
        )


def refuse_truncated(ends: dict[int, tuple[int, int]], topic: str) -> None:
    """LogTruncated if any partition's earliest retained offset is above 0."""
    truncated = {p: low for p, (low, _) in ends.items() if low > 0}
    if truncated:
        raise LogTruncated(topic, truncated)


@dataclass
class RebuildResult:
    deleted: int = 0
    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    version_duplicates: int = 0  # an event already stored under another id (see history.projection)
    dead_lettered: int = 0  # sent to the DLQ now (not already dead-lettered before)
    invalid: int = 0  # invalid messages met, dead-lettered now or before
    gaps: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"deleted {self.deleted} rows, read {self.read} messages, inserted {self.inserted}, "
            f"duplicates {self.duplicates}, stored under another id {self.version_duplicates}, "
            f"invalid {self.invalid} "
            f"(newly dead-lettered {self.dead_lettered}), "
            f"version gaps {self.gaps}, {self.seconds:.1f}s"
        )


def rebuild_history(
    *,
    topic: str | None = None,
    batch_size: int = 2000,
    stall_timeout: float = 30.0,
    on_progress: Callable[[int, int], None] | None = None,
) -> RebuildResult:
    """Rebuild the history from the topic; `on_progress(read, total)` after each batch, `total`
    being the messages between the earliest and the end offsets taken at the start."""
    topic = topic or settings.KAFKA_TOPIC
    started = time.monotonic()
    result = RebuildResult()
    consumer = Consumer(
        {
            **base_config(),
            "group.id": f"{settings.KAFKA_GROUP_ID}-rebuild-{os.getpid()}-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "logger": logging.getLogger("history.librdkafka"),
        }
    )
    dead_letters = DeadLetterProducer(settings.KAFKA_DLQ_TOPIC, settings.KAFKA_GROUP_ID)
    tracker = VersionTracker()
    try:
        # Refused before anything is deleted, and again on the offsets read after the delete (the
        # broker may have dropped a segment meanwhile), which rolls the delete back.
        refuse_truncated(_end_offsets(consumer, topic, stall_timeout), topic)
        with transaction.atomic():
            with connection.cursor() as cursor:
                # One rebuild at a time; a second one waits for the first to commit.
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('history.rebuild_history'))")
                cursor.execute(f"DELETE FROM {HistoryEvent._meta.db_table}")  # noqa: S608
                result.deleted = cursor.rowcount
                cursor.execute(f"DELETE FROM {VersionGap._meta.db_table}")  # noqa: S608
                # A new history is verified anew: the periodic reconcile replays every wallet's
                # history from its creation again (its ledger checkpoints stay). A reconcile run
                # under way is waited for; one starting meanwhile finds the lock taken and skips.
                cursor.execute("SET LOCAL lock_timeout = 0")
                cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [RUN_LOCK_NAME])
                cursor.execute(
                    f"UPDATE {ReconciledWallet._meta.db_table} "  # noqa: S608
                    "SET history_version = -1, history_balance = 0, history_held = 0"
                )
            ends = _end_offsets(consumer, topic, stall_timeout)
            refuse_truncated(ends, topic)
            remaining = {p: end for p, (low, end) in ends.items() if end > low}
            total = sum(end - low for low, end in ends.values())
            if on_progress is not None:
                on_progress(0, total)
            if remaining:
                consumer.assign([TopicPartition(topic, p, ends[p][0]) for p in sorted(remaining)])
            last_progress = time.monotonic()
            while remaining:
                messages = consumer.consume(num_messages=batch_size, timeout=1.0)
                rows, rejected = _decode(messages, remaining, consumer, topic)
                _drop_finished(consumer, topic, remaining)
                if rows or rejected:
                    last_progress = time.monotonic()
                elif time.monotonic() - last_progress > stall_timeout:
                    raise RebuildStalled(
                        f"no message for {stall_timeout:.0f}s with partitions {sorted(remaining)} unfinished"
                    )
                result.read += len(rows) + len(rejected)
                result.invalid += len(rejected)
                records = []
                if rejected:
                    done = already_dead_lettered([r.origin for r in rejected])
                    fresh = [r for r in rejected if r.origin not in done]
                    dead_letters.send(fresh)
                    result.dead_lettered += len(fresh)
                    records = [DeadLetterRecord(r.origin, r.key_text, r.error) for r in rejected]
                saved = save_batch(rows, records, tracker)
                result.inserted += saved.inserted
                result.duplicates += saved.duplicates
                result.version_duplicates += len(saved.version_duplicates)
                result.gaps += len(saved.gaps)
                if on_progress is not None:
                    on_progress(result.read, total)
    finally:
        consumer.close()
        dead_letters.close()
    result.seconds = time.monotonic() - started
    logger.info("history rebuilt from %s: %s", topic, result.summary())
    return result


def _end_offsets(consumer: Consumer, topic: str, timeout: float) -> dict[int, tuple[int, int]]:
    """Each partition's (earliest, end) offsets, read now."""
    metadata = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    if metadata is None or metadata.error is not None:
        raise KafkaException(metadata.error if metadata is not None else f"topic {topic} not found")
    ends = {}
    for partition in sorted(metadata.partitions):
        low, high = consumer.get_watermark_offsets(
            TopicPartition(topic, partition), timeout=timeout, cached=False
        )
        ends[partition] = (int(low), int(high))
    return ends


def _decode(
    messages: list[Message], remaining: dict[int, int], consumer: Consumer, topic: str
) -> tuple[list[HistoryRow], list[Rejected]]:
    """The messages below each partition's end offset; partitions reaching their end are paused."""
    rows: list[HistoryRow] = []
    rejected: list[Rejected] = []
    for message in messages:
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                if error.fatal():
                    raise KafkaException(error)
                logger.warning("rebuild: Kafka reported %s", error)
            continue
        partition, offset = int(message.partition() or 0), int(message.offset() or 0)
        end = remaining.get(partition)
        if end is None or offset >= end:
            continue  # past the end captured at the start: the live consumer's business
        origin = Origin(topic, partition, offset)
        try:
            rows.append(decode(message.value(), message.key(), origin))
        except InvalidEvent as exc:
            rejected.append(Rejected.from_message(message, origin, str(exc)))
        if offset + 1 >= end:
            del remaining[partition]
            consumer.pause([TopicPartition(topic, partition)])
    return rows, rejected


def _drop_finished(consumer: Consumer, topic: str, remaining: dict[int, int]) -> None:
    """Partitions whose read position passed their end offset (also when the last offsets hold no
    message, e.g. after compaction) are done."""
    if not remaining:
        return
    for tp in consumer.position([TopicPartition(topic, p) for p in remaining]):
        if tp.offset >= 0 and tp.offset >= remaining.get(tp.partition, 0):
            del remaining[tp.partition]
            consumer.pause([TopicPartition(topic, tp.partition)])
