"""Kafka clients shared by the process: one admin client (and one committed-offsets reader per
consumer group), configured from settings.

confluent-kafka clients are thread-safe and expensive to create (each owns librdkafka threads and
broker connections), so a process builds each kind once and reuses it. Two exceptions:

- after a fork the child builds its own (librdkafka's threads do not survive a fork);
- a caller that saw a request fail discards it (`discard_admin_client`). An admin client that lived
  through a broker restart keeps the partitions' old leader epochs: every ListOffsets it sends is
  refused FENCED_LEADER_EPOCH, and offset fetches can time out, for minutes, while a new client works
  at once (librdkafka 2.16, measured).
"""

from __future__ import annotations

import functools
import logging
import os
import socket
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from django.conf import settings

logger = logging.getLogger(__name__)


def base_config() -> dict[str, Any]:
    return {
        "bootstrap.servers": settings.KAFKA_BROKERS,
        # librdkafka logs every failed reconnect at ERROR; a broker outage is reported by the
        # health checks instead, so keep the noise to one line per failure kind.
        "log.connection.close": False,
    }


def reliable_producer_config(*, role: str, delivery_timeout_seconds: float) -> dict[str, Any]:
    """A producer that loses nothing and duplicates nothing on its own: every replica acknowledges
    (`acks=all`), retries are idempotent, and a message without an answer within the timeout is
    reported failed. `role` names the client in the broker's logs (with host and pid)."""
    return {
        **base_config(),
        "client.id": f"{role}-{socket.gethostname()}-{os.getpid()}",
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": settings.KAFKA_LINGER_MS,
        "message.timeout.ms": int(delivery_timeout_seconds * 1000),
        "logger": logging.getLogger(f"{role}.librdkafka"),
    }


@functools.cache
def admin_client() -> AdminClient:
    return AdminClient(base_config())


@functools.cache
def offsets_reader(group_id: str) -> Consumer:
    """A consumer of `group_id` that only reads the group's committed offsets (`committed()`): it
    never subscribes, so it never joins or rebalances the group, and commits nothing.

    Why not the admin client's `list_consumer_group_offsets`: when the broker answers it
    NOT_COORDINATOR (a fresh or restarted broker still loading its group metadata), librdkafka 2.16
    dereferences the admin client's missing group handle and the whole process dies (SIGSEGV in
    rdk:main; librdkafka issue 5040, seen here in the test run's readiness probe). A consumer has
    that handle and looks the coordinator up again instead."""
    return Consumer({**base_config(), "group.id": group_id, "enable.auto.commit": False})


def discard_admin_client() -> None:
    """Build new admin and offset-reading clients on next use (the old ones live on while a caller
    still holds them)."""
    admin_client.cache_clear()
    offsets_reader.cache_clear()


os.register_at_fork(after_in_child=discard_admin_client)


# Which topic an outbox row goes to, by its `aggregatetype`: the setting naming the topic. Both relays
# route by it (publisher.py per row; debezium.py one RegexRouter per entry), and outbox.py refuses a
# message of any other type. A wallet's events go to the history's topic, an approval's steps to
# their own, so the history never sees them.
TOPIC_SETTINGS = {"wallet": "KAFKA_TOPIC", "approval": "KAFKA_APPROVALS_TOPIC"}


def topic_routes() -> dict[str, str]:
    """aggregatetype -> topic, as the settings are now."""
    return {aggregatetype: str(getattr(settings, name)) for aggregatetype, name in TOPIC_SETTINGS.items()}


def cluster_topics(timeout: float) -> set[str]:
    """Names of the topics the cluster has; raises KafkaException if it does not answer in time."""
    metadata = admin_client().list_topics(timeout=timeout)
    return set(metadata.topics)


def wanted_topics() -> list[str]:
    """The topics `kafka_setup` creates: the event topic, its DLQ, the approvals' topic."""
    return [settings.KAFKA_TOPIC, settings.KAFKA_DLQ_TOPIC, settings.KAFKA_APPROVALS_TOPIC]


def ensure_topics(*, timeout: float = 30.0) -> list[str]:
    """Create the event topic, its dead-letter topic and the approvals' topic if missing. Returns
    the names created."""
    wanted = wanted_topics()
    missing = [name for name in wanted if name not in cluster_topics(timeout)]
    if not missing:
        return []
    futures = admin_client().create_topics(
        [
            NewTopic(
                name,
                num_partitions=settings.KAFKA_PARTITIONS,
                replication_factor=settings.KAFKA_REPLICATION_FACTOR,
            )
            for name in missing
        ],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    created = []
    for name, future in futures.items():
        try:
            future.result()
            created.append(name)
        except KafkaException as exc:
            # Another process created it between our metadata read and the request: fine.
            if exc.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise
    return created
