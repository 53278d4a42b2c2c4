"""The dead-letter topic: messages the history cannot store, with why and where they came from.

Why a topic and not just a log line: the message itself is kept (value, key and headers byte for
byte) so it can be inspected and replayed once the producer is fixed, and the consumer can move on
without losing it. Delivery is confirmed (acks=all) before the batch's offsets are committed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaError, Message, Producer
from django.utils import timezone

from common.times import format_timestamp
from kafka_bridge.client import reliable_producer_config

from .decoding import Origin

logger = logging.getLogger(__name__)

# Headers added to a dead letter, beside the original message's own headers.
ERROR_HEADER = "dlq_error"
TOPIC_HEADER = "dlq_original_topic"
PARTITION_HEADER = "dlq_original_partition"
OFFSET_HEADER = "dlq_original_offset"
GROUP_HEADER = "dlq_consumer_group"
FAILED_AT_HEADER = "dlq_failed_at"

_MAX_ERROR_BYTES = 2000


class DeadLetterFailed(RuntimeError):
    """Kafka did not confirm every dead letter; the batch is retried, its offsets not committed."""


@dataclass(frozen=True)
class Rejected:
    """A message the history refused, as it came from Kafka."""

    origin: Origin
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    error: str

    @classmethod
    def from_message(cls, message: Message, origin: Origin, error: str) -> Rejected:
        raw = message.headers() or []
        pairs = raw.items() if isinstance(raw, dict) else raw
        headers = [
            (name, value.encode() if isinstance(value, str) else value or b"") for name, value in pairs
        ]
        return cls(origin=origin, key=message.key(), value=message.value(), headers=headers, error=error)

    @property
    def key_text(self) -> str:
        return self.key.decode("utf-8", "replace")[:200] if self.key is not None else ""


class DeadLetterProducer:
    def __init__(self, topic: str, group_id: str, *, timeout: float = 15.0) -> None:
        self.topic, self.group_id, self.timeout = topic, group_id, timeout
        self._producer: Any = None

    def _get(self) -> Any:
        if self._producer is None:
            self._producer = Producer(
                reliable_producer_config(role="history-dlq", delivery_timeout_seconds=self.timeout)
            )
        return self._producer

    def send(self, rejected: Sequence[Rejected]) -> None:
        """Produce every message and wait for Kafka's acknowledgement; DeadLetterFailed if any failed."""
        if not rejected:
            return
        producer = self._get()
        failures: list[str] = []
        delivered = 0

        fatal = False

        def on_delivery(error: KafkaError | None, message: Message) -> None:
            nonlocal delivered, fatal
            if error is None:
                delivered += 1
            else:
                failures.append(str(error))
                fatal = fatal or error.fatal()

        failed_at = format_timestamp(timezone.now()).encode()
        for item in rejected:
            headers = [
                *item.headers,
                (ERROR_HEADER, item.error.encode("utf-8", "replace")[:_MAX_ERROR_BYTES]),
                (TOPIC_HEADER, item.origin.topic.encode()),
                (PARTITION_HEADER, str(item.origin.partition).encode()),
                (OFFSET_HEADER, str(item.origin.offset).encode()),
                (GROUP_HEADER, self.group_id.encode()),
                (FAILED_AT_HEADER, failed_at),
            ]
            try:
                producer.produce(
                    self.topic, value=item.value, key=item.key, headers=headers, on_delivery=on_delivery
                )
            except Exception as exc:  # BufferError (queue full) or KafkaException (fatal producer error)
                failures.append(str(exc))
                fatal = True
                break
        remaining = producer.flush(self.timeout)
        if failures or remaining or delivered != len(rejected):
            if fatal:
                self._producer = None  # librdkafka gave this producer up: a fresh one for the retry
            raise DeadLetterFailed(
                f"{delivered} of {len(rejected)} dead letters confirmed by Kafka"
                + (f": {failures[0]}" if failures else "")
            )
        for item in rejected:
            logger.warning(
                "history: dead-lettered %s[%d]@%d to %s: %s",
                item.origin.topic,
                item.origin.partition,
                item.origin.offset,
                self.topic,
                item.error,
            )

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(self.timeout)
            self._producer = None
