"""The relay's cost under load (issue #37): it drains less often once its rate is high, its deletes
do not wait for a WAL flush, and a Celery pool process connects its producer before its first task.
Against the real PostgreSQL and Kafka; the pace's arithmetic is pure."""

from __future__ import annotations

import time
from typing import Any

import pytest
from celery.signals import worker_process_init
from django.db import connection, transaction
from django.utils import timezone

from kafka_bridge import publisher, tasks
from kafka_bridge.models import OutboxEvent, RelayStats


def test_the_pace_is_the_rows_of_the_last_whole_second(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    pace = tasks._Pace()
    for _ in range(10):  # 10 drains of 30 rows within the first second
        pace.add(30)
        clock[0] += 0.09
    assert pace.rows_per_second == 0.0  # nothing measured yet: the relay starts at its quickest
    clock[0] = 101.0
    pace.add(2)
    assert pace.rows_per_second == pytest.approx(300.0)
    clock[0] = 102.0
    pace.add(0)
    assert pace.rows_per_second == pytest.approx(2.0)


def _setting(connection_: Any) -> str:
    with connection_.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_the_published_rows_are_deleted_without_waiting_for_the_flush_and_only_that_statement():
    rows = [
        OutboxEvent.objects.create(
            aggregatetype="wallet",
            aggregateid=f"w{n}",
            type="FUNDED",
            payload={"n": n},
            created_at=timezone.now(),
        ).id
        for n in range(3)
    ]
    before = RelayStats.objects.filter(id=1).values_list("published_total", flat=True).first() or 0
    assert _setting(connection) == "on"
    with transaction.atomic():  # inside a transaction the statement's setting is still visible
        publisher._delete_published(rows[:2], timezone.now())
        assert _setting(connection) == "off"
    assert _setting(connection) == "on"  # the session's own setting is untouched
    publisher._delete_published(rows[2:], timezone.now())  # autocommit, as the relay runs it
    assert _setting(connection) == "on"
    assert not OutboxEvent.objects.filter(id__in=rows).exists()
    assert RelayStats.objects.get(id=1).published_total == before + 3


@pytest.mark.django_db
def test_a_pool_process_connects_its_producer_before_its_first_task(settings, monkeypatch):
    settings.RELAY = "celery"
    monkeypatch.setattr(publisher, "_producer", None)
    assert tasks.warm_relay_producer in [receiver() for _, receiver in worker_process_init.receivers]
    worker_process_init.send(sender=None)
    warmed = publisher._producer
    assert warmed is not None
    metadata = warmed.producer.list_topics(settings.KAFKA_TOPIC, timeout=0.5)
    assert metadata.topics[settings.KAFKA_TOPIC].partitions  # known without another round trip
    assert publisher.get_producer() is warmed  # the first batch uses it
