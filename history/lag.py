"""Consumer lag per partition: how far the history is behind the topic.

Why the admin API and not a Consumer: a Consumer built with the group's id could join or disturb the
group; the admin client only reads the committed offsets and the end offsets (high watermarks), on
the process's shared admin client (`kafka_bridge.client.admin_client`). The seed checked this with
`kafka-consumer-groups.sh --describe`; `manage.py kafka_lag`, `/health/ready` and `/metrics` use this.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import OffsetSpec  # type: ignore[attr-defined]
from django.conf import settings

from kafka_bridge.client import admin_client

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
    at the earliest offset). Raises KafkaException if Kafka does not answer within `timeout`.
    """
    group_id = group_id or settings.KAFKA_GROUP_ID
    topic = topic or settings.KAFKA_TOPIC
    admin = admin_client()
    metadata = admin.list_topics(topic, timeout=timeout).topics.get(topic)
    if metadata is None or metadata.error is not None:
        raise KafkaException(metadata.error if metadata is not None else f"topic {topic} not found")
    partitions = [TopicPartition(topic, p) for p in sorted(metadata.partitions)]

    committed_future = admin.list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group_id, partitions)], request_timeout=timeout
    )[group_id]
    end_futures = admin.list_offsets({tp: _LATEST for tp in partitions}, request_timeout=timeout)
    earliest_futures = admin.list_offsets(
        {TopicPartition(topic, tp.partition): _EARLIEST for tp in partitions},
        request_timeout=timeout,
    )
    committed = {tp.partition: tp.offset for tp in committed_future.result(timeout=timeout).topic_partitions}
    ends = {tp.partition: future.result(timeout=timeout).offset for tp, future in end_futures.items()}
    earliest = {
        tp.partition: future.result(timeout=timeout).offset for tp, future in earliest_futures.items()
    }

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


def consumer_lag_summary(*, timeout: float | None = None) -> dict[str, Any]:
    """The lag of the history consumer group in one small dict, never raising.

    `{"group", "topic", "total", "max", "partitions": {"0": 3, ...}}`, or `{"error": "..."}` with the
    group and topic when Kafka did not answer (the caller decides whether that makes it unready).
    """
    group, topic = settings.KAFKA_GROUP_ID, settings.KAFKA_TOPIC
    wait = settings.HEALTH_CHECK_TIMEOUT_SECONDS if timeout is None else timeout
    try:
        lags = consumer_lag(group_id=group, topic=topic, timeout=wait)
    except Exception as exc:  # Kafka down, topic missing, timeout: reported, never raised
        return {"group": group, "topic": topic, "error": type(exc).__name__}
    return {
        "group": group,
        "topic": topic,
        "total": sum(p.lag for p in lags),
        "max": max((p.lag for p in lags), default=0),
        "partitions": {str(p.partition): p.lag for p in lags},
    }
