"""Each dependency is the real server: round trips through PostgreSQL, Redis, Celery and Kafka."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from walletproject.celery import ping


@pytest.mark.django_db
def test_postgres_round_trip_through_the_orm():
    with connection.cursor() as cursor:
        cursor.execute("SELECT version(), current_setting('server_version_num')::int")
        version, version_num = cursor.fetchone()
    assert version.startswith("PostgreSQL")
    assert version_num >= 150000
    assert connection.vendor == "postgresql"

    name = f"roundtrip-{uuid.uuid4().hex[:8]}"
    get_user_model().objects.create(username=name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM auth_user WHERE username = %s", [name])
        assert cursor.fetchone() == (1,)


def test_redis_round_trip():
    client = redis.Redis.from_url(settings.REDIS_URL)
    key, value = f"test:{uuid.uuid4()}", uuid.uuid4().hex
    client.set(key, value, ex=60)
    assert client.get(key) == value.encode()
    assert client.delete(key) == 1
    assert "redis_version" in client.info("server")


def test_celery_task_runs_on_a_real_worker_through_redis(celery_worker_queue):
    result = ping.apply_async(queue=celery_worker_queue)
    assert result.get(timeout=30) == "pong"


@pytest.fixture
def celery_worker_queue():
    """An in-process Celery worker on a queue of its own, consuming from the real Redis broker.

    Its own queue keeps a background worker (`make up`) from taking the test's task.
    """
    from celery.contrib.testing.worker import start_worker

    from walletproject.celery import app

    queue = f"test-{uuid.uuid4().hex[:8]}"
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=[queue]):
        yield queue


@pytest.fixture
def scratch_topic():
    admin = AdminClient({"bootstrap.servers": settings.KAFKA_BROKERS})
    name = f"test-roundtrip-{uuid.uuid4().hex[:12]}"
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(timeout=30)
    yield name
    admin.delete_topics([name])[name].result(timeout=30)


def test_kafka_produce_and_consume_round_trip(scratch_topic):
    producer = Producer(
        {"bootstrap.servers": settings.KAFKA_BROKERS, "acks": "all", "enable.idempotence": True}
    )
    delivered = []
    payload = uuid.uuid4().hex.encode()
    producer.produce(
        scratch_topic,
        key=b"wallet-1",
        value=payload,
        headers={"event_id": b"e-1"},
        on_delivery=lambda err, msg: delivered.append((err, msg)),
    )
    assert producer.flush(30) == 0
    [(error, message)] = delivered
    assert error is None
    assert message.offset() == 0

    consumer = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BROKERS,
            "group.id": f"test-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([scratch_topic])
    try:
        deadline = time.monotonic() + 30
        received = None
        while received is None and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                received = msg
    finally:
        consumer.close()
    assert received is not None, "the message never came back from Kafka"
    assert received.value() == payload
    assert received.key() == b"wallet-1"
    assert received.headers() == [("event_id", b"e-1")]
