"""`manage.py kafka_setup` creates the topic and its DLQ with the configured partitions, idempotently."""

import io
import uuid

import pytest
from confluent_kafka.admin import AdminClient
from django.conf import settings
from django.core.management import call_command


@pytest.fixture
def fresh_topic_names(settings):
    settings.KAFKA_TOPIC = f"test-setup-{uuid.uuid4().hex[:10]}"
    settings.KAFKA_DLQ_TOPIC = f"{settings.KAFKA_TOPIC}.dlq"
    settings.KAFKA_PARTITIONS = 3
    yield settings.KAFKA_TOPIC, settings.KAFKA_DLQ_TOPIC
    admin = AdminClient({"bootstrap.servers": settings.KAFKA_BROKERS})
    for future in admin.delete_topics([settings.KAFKA_TOPIC, settings.KAFKA_DLQ_TOPIC]).values():
        future.result(timeout=30)


def run_setup() -> str:
    out = io.StringIO()
    call_command("kafka_setup", stdout=out)
    return out.getvalue()


def test_kafka_setup_creates_both_topics_once(fresh_topic_names):
    topic, dlq = fresh_topic_names
    first = run_setup()
    assert f"{topic}: created" in first
    assert f"{dlq}: created" in first

    metadata = AdminClient({"bootstrap.servers": settings.KAFKA_BROKERS}).list_topics(timeout=10)
    assert len(metadata.topics[topic].partitions) == 3
    assert len(metadata.topics[dlq].partitions) == 3

    second = run_setup()
    assert f"{topic}: exists" in second
    assert f"{dlq}: exists" in second
