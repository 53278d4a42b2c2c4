"""A log that lost its first events, on the real broker: `rebuild_history` refuses it and changes
nothing; readiness (staff details) says the log is truncated, and that a consumer whose committed
offset is below the earliest one lost events."""

from __future__ import annotations

import time
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from django.core.management import CommandError, call_command
from django.db import connection

from history.lag import consumer_lag, consumer_lag_summary
from history.models import HistoryEvent
from tests.conftest import brokers, make_client
from walletproject.health import event_log_info

from .conftest import make_payloads


def delete_first_records(topic: str, partition: int, before: int) -> None:
    """What `kafka-delete-records` does: the partition now starts at offset `before`."""
    admin = AdminClient({"bootstrap.servers": brokers()})
    for future in admin.delete_records([TopicPartition(topic, partition, before)]).values():
        future.result(timeout=30)


def commit(group: str, topic: str, partition: int, offset: int) -> None:
    consumer = Consumer({"bootstrap.servers": brokers(), "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(topic, partition, offset)], asynchronous=False)
    finally:
        consumer.close()


def history_rows() -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        table = HistoryEvent._meta.db_table
        cursor.execute(f"SELECT event_id, wallet_version, balance_after FROM {table}")  # noqa: S608
        return sorted(cursor.fetchall())


def test_rebuild_refuses_a_truncated_log_and_changes_nothing(topics):
    payloads = make_payloads(12, 4)
    topics.produce_events(payloads)
    assert topics.consume(max_messages=len(payloads)).received == len(payloads)
    before = history_rows()
    assert len(before) == len(payloads)

    ends = {p.partition: p for p in consumer_lag()}
    partition = max(ends, key=lambda p: ends[p].end)
    assert ends[partition].end >= 2
    delete_first_records(topics.topic, partition, 2)

    with pytest.raises(CommandError) as refused:
        call_command("rebuild_history", "--stall-timeout", "10")
    message = str(refused.value)
    assert "refused" in message
    assert f"partition {partition} starts at offset 2" in message
    assert "--from-ledger" in message
    assert history_rows() == before  # nothing deleted, nothing re-inserted

    # Readiness' view of the same log: truncated, and (the group is past offset 2) nothing lost.
    state = event_log_info(consumer_lag_summary())
    assert state is not None
    assert state["status"] == "truncated"
    assert state["truncated_partitions"] == {str(partition): 2}
    assert state["behind_retention"] == {}


def test_readiness_reports_a_consumer_behind_the_retention(topics):
    payloads = make_payloads(10, 3)
    topics.produce_events(payloads)
    ends = {p.partition: p.end for p in consumer_lag()}
    partition = max(ends, key=lambda p: ends[p])
    commit(topics.group, topics.topic, partition, 1)  # the consumer stopped after one event
    delete_first_records(topics.topic, partition, 3)  # ... and the retention dropped three

    state = event_log_info(consumer_lag_summary())
    assert state is not None
    assert state["status"] == "events_lost"
    assert state["behind_retention"] == {str(partition): {"committed": 1, "earliest": 3}}

    staff = make_client("log-ops", staff=True)
    deadline = time.monotonic() + 15  # the probe serves this process's last lag read (2 s old at most)
    while True:
        body = staff.get("/health/ready").json()
        if (body.get("event_log") or {}).get("status") == "events_lost" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert body["event_log"]["status"] == "events_lost"
    assert body["event_log"]["behind_retention"] == {str(partition): {"committed": 1, "earliest": 3}}
    assert "event_log" not in make_client("log-user").get("/health/ready").json()  # staff only


def test_event_log_status_of_a_topic_kept_forever():
    whole = {"retention": {"forever": True}, "truncated_partitions": {}, "behind_retention": {}}
    assert event_log_info(whole)["status"] == "ok"  # type: ignore[index]
    assert event_log_info({**whole, "retention": {"forever": False}})["status"] == "finite_retention"  # type: ignore[index]
    assert event_log_info({**whole, "retention": None})["status"] == "finite_retention"  # type: ignore[index]
    assert event_log_info({"error": "TimeoutError"}) is None
