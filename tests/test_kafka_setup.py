"""`manage.py kafka_setup` creates the topic, its DLQ and the approvals' topic with the configured
partitions, idempotently."""

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
