"""The relay woken by commits (issue #37, kafka_bridge/wake.py), against the real PostgreSQL, Kafka,
Redis and a real Celery worker.

What is checked: a write notifies only while the relay sleeps, and then at its commit; the relay
never falls asleep on a row that is still committing; an event reaches Kafka without waiting for a
poll; and when no wake-up comes (the trigger gone, Redis down) every event is still published, by
the lingering task's own look or by beat's sweeper.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections, transaction

from common.postgresql.url import database_url
from kafka_bridge import tasks, wake
from kafka_bridge.models import OutboxEvent
from wallets import services

from .conftest import pending_count, read_topic, versions_in_order, wait_until

OUTBOX = OutboxEvent._meta.db_table
WAKE_SQL = settings.BASE_DIR / "kafka_bridge" / "sql" / "outbox_wake.sql"


def _session() -> psycopg.Connection[Any]:
    """A connection of its own to the test database (another process's, in effect)."""
    return psycopg.connect(database_url(), autocommit=True)


def _asleep_holders() -> int:
    """Sessions holding the relay's asleep lock exclusively."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND mode = 'ExclusiveLock'"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND (classid::bigint << 32 | objid::bigint) = hashtextextended(%s, 0)",
            [wake.ASLEEP_LOCK],
        )
        (count,) = cursor.fetchone()
    return int(count)


def _insert_row(session: psycopg.Connection[Any], wallet: str = "w") -> None:
    session.execute(
        f"INSERT INTO {OUTBOX} (event_id, aggregatetype, aggregateid, type, payload, created_at, attempts,"  # noqa: S608
        " last_error) VALUES (gen_random_uuid(), 'wallet', %s, 'WALLET_FUNDED', '{}', now(), 0, '')",
        [wallet],
    )


def _notifications(listener: psycopg.Connection[Any], wait: float) -> int:
    return sum(1 for _ in listener.notifies(timeout=wait))


def test_a_write_notifies_only_while_the_relay_sleeps_and_only_at_its_commit(transactional_db):
    listener, writer, relay = _session(), _session(), _session()
    try:
        listener.execute(f"LISTEN {wake.CHANNEL}")
        _insert_row(writer)
        assert _notifications(listener, 0.3) == 0, "an awake (or absent) relay is not notified"

        relay.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [wake.ASLEEP_LOCK])  # asleep
        with writer.transaction():
            _insert_row(writer)
            _insert_row(writer)
            assert _notifications(listener, 0.3) == 0, "nothing is delivered before the commit"
        assert _notifications(listener, 2.0) == 1, "the commit woke the sleeping relay, once"
    finally:
        for session in (listener, writer, relay):
            session.close()


def test_the_relay_does_not_fall_asleep_while_a_write_is_committing(transactional_db):
    """A write that found the relay awake holds the lock shared until it ends: the relay cannot
    take it meanwhile (it looks again shortly), and once the write committed its row is seen."""
    writer = _session()
    try:
        with writer.transaction():
            _insert_row(writer)
            started = time.monotonic()
            assert wake.wait_for_commit(5.0) is wake.Woken.WRITING
            assert time.monotonic() - started < 1.0
        assert wake.wait_for_commit(5.0) is wake.Woken.PENDING
        assert _asleep_holders() == 0, "the relay let go of the lock"
    finally:
        writer.close()
        wake.stop_listening()


def test_a_commit_wakes_a_sleeping_relay_at_once(transactional_db):
    woken: list[tuple[wake.Woken, float]] = []

    def relay() -> None:
        try:
            woken.append((wake.wait_for_commit(20.0), time.monotonic()))
        finally:
            wake.stop_listening()
            connections.close_all()

    thread = threading.Thread(target=relay)
    thread.start()
    wait_until(lambda: _asleep_holders() == 1, 10, "the relay fell asleep", 0.01)
    writer = _session()
    try:
        _insert_row(writer)
        committed = time.monotonic()
    finally:
        writer.close()
    thread.join(10)
    assert woken, "the relay woke"
    how, at = woken[0]
    assert how is wake.Woken.NOTIFIED
    assert at - committed < 0.5, f"woken {at - committed:.3f}s after the commit, not by its 20 s timeout"
    assert _asleep_holders() == 0


def _funds(wallet_id: Any, count: int) -> None:
    for _ in range(count):
        services.wallet_fund(wallet_id=wallet_id, amount=Decimal(1), initiated_by="test")


def test_an_event_reaches_kafka_without_waiting_for_a_poll(bridge):
    """The task's fallback poll is 30 s and it lingers a minute: each of these commits, spaced out
    so that the task sleeps before each, is on Kafka within a second, so a commit woke it."""
    worker = bridge.make_worker(
        OUTBOX_SWEEP_INTERVAL_SECONDS="3600", OUTBOX_LINGER_SECONDS="60", OUTBOX_LINGER_POLL_SECONDS="30"
    )
    worker.start()
    wallet = services.wallet_create(user_id="wake")
    wait_until(lambda: pending_count() == 0, 30, "the task started and published the wallet's creation")
    wait_until(lambda: _asleep_holders() == 1, 10, "the lingering task sleeps until a commit")
    for n in range(5):
        _funds(wallet.id, 1)
        took = wait_until(lambda: pending_count() == 0, 1.0, f"commit {n} published without a poll", 0.005)
        assert took < 1.0
        wait_until(lambda: _asleep_holders() == 1, 5, "asleep again", 0.01)
    received = read_topic(bridge.topic, expected=6, timeout=20, quiet=0.5)
    assert versions_in_order(received) == {str(wallet.id): list(range(6))}


@pytest.fixture
def no_wake_trigger(transactional_db):
    """The outbox without its wake-up trigger (every notification lost), put back afterwards."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER kafka_bridge_outbox_wake ON {OUTBOX}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP FUNCTION kafka_bridge_outbox_wake()")
        cursor.execute(WAKE_SQL.read_text())


def test_without_wake_ups_the_lingering_task_still_publishes_every_commit(bridge, no_wake_trigger):
    worker = bridge.make_worker(OUTBOX_SWEEP_INTERVAL_SECONDS="3600", OUTBOX_LINGER_SECONDS="30")
    worker.start()
    wallet = services.wallet_create(user_id="nowake")
    for _ in range(10):
        _funds(wallet.id, 3)
        time.sleep(0.15)
    wait_until(lambda: pending_count() == 0, 10, "the task's own looks published everything")
    received = read_topic(bridge.topic, expected=31, timeout=20, quiet=0.5)
    assert versions_in_order(received) == {str(wallet.id): list(range(31))}


def test_without_wake_ups_or_redis_the_sweeper_publishes_every_commit(bridge, no_wake_trigger, settings):
    """No notification and no Redis at commit time (no task is enqueued): beat's sweeper alone."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # this process's commits cannot reach Redis
    tasks._promised_until.clear()
    worker = bridge.make_worker()  # the fixture's sweeper runs every second
    wallet = services.wallet_create(user_id="noredis")
    with transaction.atomic():
        _funds(wallet.id, 5)
    _funds(wallet.id, 14)
    assert pending_count() == 20
    worker.start()
    wait_until(lambda: pending_count() == 0, 30, "the sweeper published everything")
    received = read_topic(bridge.topic, expected=20, timeout=20, quiet=0.5)
    assert versions_in_order(received) == {str(wallet.id): list(range(20))}
