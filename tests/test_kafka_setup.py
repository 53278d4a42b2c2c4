"""`manage.py kafka_setup` creates the topic, its DLQ and the approvals' topic with the configured
partitions, idempotently."""

import io
import time
import uuid

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AdminClient,
    ConfigResource,
    NewTopic,
    ResourceType,
)
from django.conf import settings
from django.core.management import call_command


@pytest.fixture
def fresh_topic_names(settings):
    settings.KAFKA_TOPIC = f"test-setup-{uuid.uuid4().hex[:10]}"
    settings.KAFKA_DLQ_TOPIC = f"{settings.KAFKA_TOPIC}.dlq"
    settings.KAFKA_APPROVALS_TOPIC = f"{settings.KAFKA_TOPIC}-approvals"
    settings.KAFKA_PARTITIONS = 3
    names = (settings.KAFKA_TOPIC, settings.KAFKA_DLQ_TOPIC, settings.KAFKA_APPROVALS_TOPIC)
    yield names
    admin = AdminClient({"bootstrap.servers": settings.KAFKA_BROKERS})
    for future in admin.delete_topics(list(names)).values():
        future.result(timeout=30)


def run_setup() -> str:
    out = io.StringIO()
    call_command("kafka_setup", stdout=out)
    return out.getvalue()


def test_kafka_setup_creates_the_three_topics_once(fresh_topic_names):
    first = run_setup()
    for name in fresh_topic_names:
        assert f"{name}: created" in first

    metadata = AdminClient({"bootstrap.servers": settings.KAFKA_BROKERS}).list_topics(timeout=10)
    for name in fresh_topic_names:
        assert len(metadata.topics[name].partitions) == 3

    second = run_setup()
    for name in fresh_topic_names:
        assert f"{name}: exists" in second


def _retention(name: str) -> dict[str, str]:
    """The topic's settings, asked until the broker knows the topic (a new one takes a moment)."""
    admin = AdminClient({"bootstrap.servers": settings.KAFKA_BROKERS})
    deadline = time.monotonic() + 15
    while True:
        (future,) = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name)]).values()
        try:
            entries = future.result(timeout=30)
            break
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    return {key: entries[key].value for key in ("retention.ms", "retention.bytes", "cleanup.policy")}


FOREVER = {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}


def test_kafka_setup_creates_the_topics_kept_forever(fresh_topic_names):
    run_setup()
    for name in fresh_topic_names:
        assert _retention(name) == FOREVER, name


def test_kafka_setup_fixes_an_existing_topic_with_a_finite_retention(fresh_topic_names):
    topic = fresh_topic_names[0]
    admin = AdminClient({"bootstrap.servers": settings.KAFKA_BROKERS})
    (future,) = admin.create_topics(
        [NewTopic(topic, num_partitions=3, replication_factor=1, config={"retention.ms": "604800000"})]
    ).values()
    future.result(timeout=30)
    assert _retention(topic)["retention.ms"] == "604800000"

    out = run_setup()
    assert f"{topic}: fixed" in out
    deadline = time.monotonic() + 15  # the broker applies a config change a moment later
    while _retention(topic) != FOREVER and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _retention(topic) == FOREVER
    assert f"{topic}: exists" in run_setup()  # mended once, then left alone
