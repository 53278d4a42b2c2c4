"""Consumer lag per partition: how far the history is behind the topic.

The end offsets (high watermarks) come from the process's shared admin client
(`kafka_bridge.client.admin_client`); the group's committed offsets from a consumer of the group that
never subscribes, so it never joins or disturbs the group (`offsets_reader`: the admin client's
offset listing can crash the process, see there). The seed checked this with
`kafka-consumer-groups.sh --describe`; `manage.py kafka_lag` reads it directly.

`/health/ready` and `/metrics` serve `recent_consumer_lag()`: the last read of this process, redone
in a background thread when older than REFRESH_SECONDS. A probe then answers in milliseconds
whatever Kafka's admin requests cost, and a failed read (the client is then rebuilt and asked once
more) costs a probe nothing.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import wait
from dataclasses import asdict, dataclass
from typing import Any

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import OffsetSpec  # type: ignore[attr-defined]
from django.conf import settings
from prometheus_client.core import GaugeMetricFamily, Metric

from kafka_bridge.client import admin_client, discard_admin_client, offsets_reader
from kafka_bridge.retention import topic_retention

_LATEST = OffsetSpec.latest()  # type: ignore[no-untyped-call]
_EARLIEST = OffsetSpec.earliest()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # the group's next offset to read; None: never committed
    earliest: int  # the oldest retained offset
    end: int  # the high watermark: the offset the next message will get
    lag: int  # messages not yet consumed by the group

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def consumer_lag(
    *, group_id: str | None = None, topic: str | None = None, timeout: float = 5.0
) -> list[PartitionLag]:
    """Lag of `group_id` (default KAFKA_GROUP_ID) on every partition of `topic` (default KAFKA_TOPIC).

    A partition the group never committed counts everything retained as lag (the consumer starts
    at the earliest offset). Raises KafkaException, or TimeoutError if Kafka does not answer within
    `timeout` (the whole read, not each request).
    """
    group_id = group_id or settings.KAFKA_GROUP_ID
    topic = topic or settings.KAFKA_TOPIC
    try:
        return _read_lag(group_id, topic, time.monotonic() + timeout)
    except Exception:
        discard_admin_client()  # it may be the stale one a broker restart leaves (kafka_bridge.client)
        raise


def _read_lag(group_id: str, topic: str, deadline: float) -> list[PartitionLag]:
    def left() -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no consumer lag from Kafka within the timeout ({group_id}, {topic})")
        return remaining

    admin = admin_client()
    metadata = admin.list_topics(topic, timeout=left()).topics.get(topic)
    if metadata is None or metadata.error is not None:
        raise KafkaException(metadata.error if metadata is not None else f"topic {topic} not found")
    partitions = [TopicPartition(topic, p) for p in sorted(metadata.partitions)]

    # The two offset listings in flight while the group's committed offsets are read, all bounded
    # by the same deadline.
    timeout = left()
    end_futures = admin.list_offsets({tp: _LATEST for tp in partitions}, request_timeout=timeout)
    earliest_futures = admin.list_offsets(
        {TopicPartition(topic, tp.partition): _EARLIEST for tp in partitions}, request_timeout=timeout
    )
    committed = {}
    for tp in offsets_reader(group_id).committed(partitions, timeout=timeout):
        if tp.error is not None:
            raise KafkaException(tp.error)
        committed[tp.partition] = tp.offset
    everything = [*end_futures.values(), *earliest_futures.values()]
    late = wait(everything, timeout=left()).not_done
    if late:
        raise TimeoutError(f"{len(late)} of {len(everything)} Kafka admin requests not answered in time")
    ends = {tp.partition: future.result().offset for tp, future in end_futures.items()}
    earliest = {tp.partition: future.result().offset for tp, future in earliest_futures.items()}

    result = []
    for tp in partitions:
        end, first = ends[tp.partition], earliest[tp.partition]
        offset = committed.get(tp.partition)
        position = offset if offset is not None and offset >= 0 else None
        start = first if position is None else max(position, first)
        result.append(
            PartitionLag(topic, tp.partition, position, first, end, max(end - start, 0)),
        )
    return result


# -- for /health/ready and /metrics ------------------------------------------------------------------


def consumer_lag_summary(
    *, timeout: float | None = None, group: str | None = None, topic: str | None = None
) -> dict[str, Any]:
    """The lag of the history consumer group in one small dict, read now, never raising.

    `{"group", "topic", "total", "max", "partitions": {"0": 3, ...}}`, or `{"error": "..."}` with the
    group and topic when Kafka did not answer (the caller decides whether that makes it unready).
    """
    group, topic = group or settings.KAFKA_GROUP_ID, topic or settings.KAFKA_TOPIC
    limit = settings.HEALTH_CHECK_TIMEOUT_SECONDS if timeout is None else timeout
    try:
        lags = consumer_lag(group_id=group, topic=topic, timeout=limit)
    except Exception as exc:  # Kafka down, topic missing, timeout: reported, never raised
        return {"group": group, "topic": topic, "error": type(exc).__name__}
    return {
        "group": group,
        "topic": topic,
        "total": sum(p.lag for p in lags),
        "max": max((p.lag for p in lags), default=0),
        "partitions": {str(p.partition): p.lag for p in lags},
        **event_log_state(lags, topic, limit),
    }


def event_log_state(lags: list[PartitionLag], topic: str, timeout: float) -> dict[str, Any]:
    """What the log still holds: the topic's retention (None if unreadable), the partitions whose
    earliest offset is above 0 (a rebuild from Kafka would miss their first events), and those whose
    committed offset is below the earliest (the consumer was away longer than the retention: the
    events between are lost to it; `rebuild_history --from-ledger` recovers them)."""
    try:
        retention: dict[str, Any] | None = topic_retention([topic], timeout=timeout)[topic].as_dict()
    except Exception:  # information only
        retention = None
    return {
        "retention": retention,
        "truncated_partitions": {str(p.partition): p.earliest for p in lags if p.earliest > 0},
        "behind_retention": {
            str(p.partition): {"committed": p.committed, "earliest": p.earliest}
            for p in lags
            if p.committed is not None and p.committed < p.earliest
        },
    }


REFRESH_SECONDS = 2.0  # a reader gets a lag read at most this long ago (plus one read's time)

_Key = tuple[str, str]  # (group, topic)


class _RecentLag:
    """This process's last lag read and the daemon thread renewing it (one per group and topic)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        # Also run in a forked child: the parent's thread is gone there, its lock may be held.
        self._lock = threading.Lock()
        self._last: tuple[_Key, float, dict[str, Any]] | None = None
        self._reader: tuple[_Key, threading.Thread] | None = None

    def get(self, *, first_wait: float) -> dict[str, Any]:
        key = (settings.KAFKA_GROUP_ID, settings.KAFKA_TOPIC)
        with self._lock:
            last = self._last if self._last is not None and self._last[0] == key else None
            fresh = last is not None and time.monotonic() - last[1] < REFRESH_SECONDS
            reader = self._reader if self._reader is not None and self._reader[0] == key else None
            if not fresh and (reader is None or not reader[1].is_alive()):
                reader = (key, threading.Thread(target=self._read, args=(key,), daemon=True))
                self._reader = reader
                reader[1].start()
        if last is None and reader is not None:  # nothing read yet for this group and topic: wait
            reader[1].join(first_wait)
            with self._lock:
                last = self._last if self._last is not None and self._last[0] == key else None
        if last is None:
            return {"group": key[0], "topic": key[1], "error": "TimeoutError", "age_seconds": None}
        return {**last[2], "age_seconds": round(time.monotonic() - last[1], 3)}

    def _read(self, key: _Key) -> None:
        summary = consumer_lag_summary(group=key[0], topic=key[1])
        if "error" in summary:  # the client was discarded (see consumer_lag): once more on a new one
            summary = consumer_lag_summary(group=key[0], topic=key[1])
        with self._lock:
            self._last = (key, time.monotonic(), summary)


_recent = _RecentLag()
os.register_at_fork(after_in_child=_recent.reset)


def recent_consumer_lag() -> dict[str, Any]:
    """`consumer_lag_summary()` plus `age_seconds`, at once from this process's last read (renewed in
    the background when older than REFRESH_SECONDS). Only a process's first call waits for Kafka,
    up to the health check timeout."""
    return _recent.get(first_wait=settings.HEALTH_CHECK_TIMEOUT_SECONDS)


class EventLogCollector:
    """`/metrics`: whether the event log is whole, from this process's last lag read (no request of
    its own). `wallet_event_log_events_lost`: partitions whose committed offset is below the
    earliest retained one (the consumer was away longer than the retention); alert rule
    WalletHistoryEventsLost (docker/prometheus/alerts.yml)."""

    def collect(self) -> Iterator[Metric]:
        lag = recent_consumer_lag()
        known = "error" not in lag
        retention = lag.get("retention") if known else None
        figures = {  # declared always; a sample only when known (as the lag's gauges)
            "wallet_event_log_events_lost": (
                "Partitions of the event topic whose committed offset is below the earliest retained one.",
                len(lag.get("behind_retention") or {}) if known else None,
            ),
            "wallet_event_log_truncated_partitions": (
                "Partitions of the event topic whose earliest retained offset is above 0.",
                len(lag.get("truncated_partitions") or {}) if known else None,
            ),
            "wallet_event_log_kept_forever": (
                "1 when the event topic's retention is infinite (kafka_setup), 0 when Kafka drops events.",
                int(bool(retention.get("forever"))) if isinstance(retention, dict) else None,
            ),
        }
        for name, (text, value) in figures.items():
            family = GaugeMetricFamily(name, text, labels=[])
            if value is not None:
                family.add_metric([], value)
            yield family
