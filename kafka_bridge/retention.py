"""The event log is kept forever: the topics' retention, set on creation and mended on an existing topic.

Why: a broker's default (`retention.ms` 7 days, `cleanup.policy=delete`) silently drops events a
week old, and with them what `rebuild_history` reads and what a consumer stopped for longer needs.
`cleanup.policy=compact` would be as bad (a wallet's key would keep only its last event). So every
topic `kafka_setup` makes has `retention.ms=-1`, `retention.bytes=-1`, `cleanup.policy=delete`
(docs/relays.md: what that costs in disk). `topic_retention` reads what a topic really has, for
readiness and the admin.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)
from django.conf import settings

from .client import admin_client, cluster_topics, wanted_topics

KEEP_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


@dataclass(frozen=True)
class Retention:
    """A topic's retention settings as the broker has them."""

    topic: str
    retention_ms: int
    retention_bytes: int
    cleanup_policy: str

    @property
    def forever(self) -> bool:
        return self.retention_ms < 0 and self.retention_bytes < 0 and self.cleanup_policy == "delete"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "forever": self.forever}


def _resource(topic: str) -> ConfigResource:
    return ConfigResource(ResourceType.TOPIC, topic)


def topic_retention(topics: list[str], *, timeout: float = 10.0) -> dict[str, Retention]:
    """The retention of each topic (raises KafkaException if one is missing or Kafka does not answer)."""
    futures = admin_client().describe_configs([_resource(t) for t in topics], request_timeout=timeout)
    found = {}
    for resource, future in futures.items():
        entries = future.result(timeout=timeout)
        found[resource.name] = Retention(
            topic=resource.name,
            retention_ms=int(entries["retention.ms"].value),
            retention_bytes=int(entries["retention.bytes"].value),
            cleanup_policy=str(entries["cleanup.policy"].value),
        )
    return found


def ensure_topics_kept(*, timeout: float = 30.0) -> dict[str, str]:
    """Create the topics `kafka_setup` wants with infinite retention, and set it on those that
    exist with another. Returns each topic's outcome: "created", "fixed" or "exists"."""
    wanted = wanted_topics()
    existing = cluster_topics(timeout)
    outcome = {}
    missing = [name for name in wanted if name not in existing]
    if missing:
        futures = admin_client().create_topics(
            [
                NewTopic(
                    name,
                    num_partitions=settings.KAFKA_PARTITIONS,
                    replication_factor=settings.KAFKA_REPLICATION_FACTOR,
                    config=dict(KEEP_FOREVER),
                )
                for name in missing
            ],
            operation_timeout=timeout,
            request_timeout=timeout,
        )
        for name, future in futures.items():
            try:
                future.result()
                outcome[name] = "created"
            except KafkaException as exc:
                # Created meanwhile by another process: its settings are checked below.
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
    present = [name for name in wanted if name not in outcome]
    if present:
        current = topic_retention(present, timeout=timeout)
        to_fix = [name for name in present if not current[name].forever]
        if to_fix:
            resources = [
                ConfigResource(
                    ResourceType.TOPIC,
                    name,
                    incremental_configs=[
                        ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
                        for key, value in KEEP_FOREVER.items()
                    ],
                )
                for name in to_fix
            ]
            for future in (
                admin_client().incremental_alter_configs(resources, request_timeout=timeout).values()
            ):
                future.result(timeout=timeout)
        for name in present:
            outcome[name] = "fixed" if name in to_fix else "exists"
    return {name: outcome[name] for name in wanted}
