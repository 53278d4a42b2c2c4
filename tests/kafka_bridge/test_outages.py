"""Every committed event reaches Kafka whatever fails in between: Kafka down, Redis down, worker killed.

Real services, a real `celery worker -B` subprocess (its beat runs the sweeper every second). The
tests marked `stack` stop a shared service with scripts/stack and always start it again. The relay
deletes each row once Kafka acknowledged it (issue #21), so the outbox holds exactly the backlog;
what was written is compared with the topic through `Bridge.written` (see conftest).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction

from kafka_bridge import debezium
from kafka_bridge.models import OutboxEvent
from kafka_bridge.publisher import RELAY_LOCK_NAME
from tests.conftest import make_client
from wallets import services

from ..conftest import stack
from .conftest import (
    RELAYS,
    Bridge,
    assert_everything_on_the_topic,
    pending_count,
    published_total,
    wait_until,
)


def _api_wallets(count: int) -> tuple[Any, list[str]]:
    """`count` funded wallets made through the API by an operator, their events published."""
    operator = make_client("ops", staff=True)
    ids = []
    for n in range(count):
        created = operator.post("/wallets", {"user_id": f"user{n}"}, format="json")
        assert created.status_code == 201
        wallet_id = created.json()["data"]["id"]
        funded = operator.post(f"/wallets/{wallet_id}/fund", {"amount": "1000.00"}, format="json")
        assert funded.status_code == 200
        ids.append(wallet_id)
    wait_until(lambda: pending_count() == 0, 30, "the set-up events were published")
    return operator, ids


def _transfers(operator: Any, ids: list[str], count: int) -> list[float]:
    """`count` transfers round the ring of wallets; every one must succeed. Returns their latencies."""
    latencies = []
    for n in range(count):
        sender, receiver = ids[n % len(ids)], ids[(n + 1) % len(ids)]
        started = time.perf_counter()
        response = operator.post(
            f"/wallets/{sender}/transfer", {"to_wallet_id": receiver, "amount": "1.00"}, format="json"
        )
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content
    return latencies


@pytest.mark.stack
def test_kafka_down_requests_succeed_backlog_grows_and_drains_in_order_once_it_is_back(bridge):
    worker = bridge.make_worker()
    worker.start()
    operator, ids = _api_wallets(5)

    stack("stop", "kafka")
    try:
        _transfers(operator, ids, 30)
        assert pending_count() == 60, "nothing can be published while Kafka is down"
        wait_until(
            lambda: OutboxEvent.objects.filter(attempts__gt=0).exists(), 30, "the relay recorded a failure"
        )
        failing = OutboxEvent.objects.filter(attempts__gt=0).order_by("id").first()
        assert failing is not None
        assert failing.status == "failing"
        assert failing.last_error
        ready = operator.get("/health/ready")  # the details are staff's
        assert ready.status_code == 503
        assert ready.json()["down"] == ["kafka"]
        assert ready.json()["outbox"]["pending"] == 60
        assert published_total() == 10, "the set-up events, deleted once Kafka had them"
    finally:
        stack("start", "kafka")

    took = wait_until(lambda: pending_count() == 0, 60, "the backlog drained after Kafka came back")
    print(f"backlog of 60 drained {took:.1f}s after Kafka was up")
    received = assert_everything_on_the_topic(bridge, timeout=30)
    assert len({m.payload["event_id"] for m in received}) == 70


@pytest.mark.stack
def test_redis_down_at_commit_requests_succeed_and_the_sweeper_publishes_once_it_is_back(bridge, caplog):
    worker = bridge.make_worker()
    worker.start()
    operator, ids = _api_wallets(3)

    caplog.set_level(logging.WARNING, logger="kafka_bridge.tasks")
    stack("stop", "redis")
    try:
        latencies = _transfers(operator, ids, 10)
        unscheduled = [r for r in caplog.records if "Redis unreachable" in r.getMessage()]
        assert len(unscheduled) == 10, "each commit tried to schedule a publish and logged why it could not"
        assert max(latencies) < 2.0, f"a Redis outage must not stall requests: {max(latencies):.2f}s"
    finally:
        stack("start", "redis")

    took = wait_until(
        lambda: pending_count() == 0, 60, "the sweeper published everything after Redis came back"
    )
    print(f"published {took:.1f}s after Redis was up")
    received = assert_everything_on_the_topic(bridge, timeout=30)
    assert len({m.payload["event_id"] for m in received}) == 6 + 20


def _relay_lock_held() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT hashtextextended(%s, 0)", [RELAY_LOCK_NAME])
        (key,) = cursor.fetchone()
        unsigned = key & 0xFFFFFFFFFFFFFFFF
        cursor.execute(
            """
            SELECT count(*) FROM pg_locks
             WHERE locktype = 'advisory' AND granted AND objsubid = 1
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND classid::bigint = %s AND objid::bigint = %s
            """,
            [unsigned >> 32, unsigned & 0xFFFFFFFF],
        )
        (held,) = cursor.fetchone()
    return bool(held)


@pytest.mark.stack
def test_worker_survives_redis_restarts_while_a_publish_task_runs(bridge):
    """Commits keep a publish task busy while Redis restarts twice: the worker outlives both
    (its acks for messages of the dead connection are logged, not fatal) and relays everything.
    Publish tasks last at most 4 s here, so several start before an outage and end in or after it."""
    worker = bridge.make_worker(OUTBOX_PUBLISH_TIME_BUDGET_SECONDS="4")
    worker.start()
    wallets = [services.wallet_create(user_id=f"blip{n}") for n in range(3)]
    offset = worker.log.stat().st_size

    def redis_blips() -> None:
        for _ in range(2):
            time.sleep(3)
            stack("stop", "redis")
            time.sleep(3)
            stack("start", "redis")

    blips = threading.Thread(target=redis_blips)
    blips.start()
    funded = 0
    while blips.is_alive():
        services.wallet_fund(wallet_id=wallets[funded % 3].id, amount=Decimal("1.00"), initiated_by="test")
        funded += 1
        time.sleep(0.02)
    blips.join()
    for wallet in wallets:  # after Redis is back: a commit that schedules a task the usual way
        services.wallet_fund(wallet_id=wallet.id, amount=Decimal("1.00"), initiated_by="test")

    log = worker.log.read_bytes()[offset:].decode(errors="replace")
    assert "Connection to broker lost" in log, "the worker did see the broker go away"
    took = wait_until(lambda: pending_count() == 0, 60, "everything published after the restarts")
    print(f"{funded + 3} commits published {took:.1f}s after Redis was back")
    assert worker.process is not None and worker.process.poll() is None, worker.tail()
    assert "Unrecoverable error" not in worker.log.read_text(errors="replace")
    received = assert_everything_on_the_topic(bridge, timeout=30)
    assert len({m.payload["event_id"] for m in received}) == 3 + funded + 3


@pytest.mark.parametrize("bridge", RELAYS, indirect=True)
def test_worker_killed_mid_batch_every_event_still_reaches_the_topic(bridge):
    if bridge.relay == "debezium":
        _connect_worker_killed_mid_stream(bridge)
        return
    wallets = [services.wallet_create(user_id=f"k{n}") for n in range(10)]
    with transaction.atomic():  # one commit: the rows wait for the worker, one task is queued
        for _ in range(150):
            for wallet in wallets:
                services.wallet_fund(wallet_id=wallet.id, amount=Decimal("1.00"), initiated_by="test")
    total = OutboxEvent.objects.count()
    assert total == 1510

    # Small batches that wait a little for Kafka: the relay holds its lock most of the time.
    worker = bridge.make_worker(OUTBOX_BATCH_SIZE="100", KAFKA_LINGER_MS="30")
    worker.start(wait=False)

    wait_until(
        lambda: published_total() > 0 and _relay_lock_held(),
        60,
        "the worker is inside a batch",
        interval=0.002,
    )
    worker.kill()
    at_kill = published_total()
    assert 0 < at_kill < total, f"killed mid-drain: {at_kill} of {total} published"
    wait_until(lambda: not _relay_lock_held(), 10, "PostgreSQL released the dead worker's lock")
    assert published_total() == at_kill, "the killed batch was not deleted (its transaction died with it)"
    assert pending_count() == total - at_kill, "exactly the rows counted published are gone"

    worker.start()
    wait_until(lambda: pending_count() == 0, 60, "the restarted worker's sweeper published the rest")
    received = assert_everything_on_the_topic(bridge, timeout=30)
    duplicates = len(received) - total
    print(f"killed at {at_kill}/{total} published; {duplicates} duplicate messages after the restart")
    assert duplicates >= 0


def _connect_worker_killed_mid_stream(bridge: Bridge) -> None:
    """RELAY=debezium: the Kafka Connect worker SIGKILLed while it streams 1,510 events; its
    supervisor (scripts/stack) starts it again, the connector resumes from its last committed
    offset, and every event arrives, each wallet in order, duplicates only of the same event."""
    assert bridge.stack is not None
    cleaner = bridge.make_worker()
    cleaner.start()
    wallets = [services.wallet_create(user_id=f"k{n}") for n in range(10)]
    for _ in range(15):
        with transaction.atomic():  # 15 commits of 100 movements each
            for _ in range(10):
                for wallet in wallets:
                    services.wallet_fund(wallet_id=wallet.id, amount=Decimal("1.00"), initiated_by="test")
    pid = bridge.stack.connect_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: bridge.stack.connect_pid() not in (None, pid), 60, "the supervisor restarted Connect")
    wait_until(lambda: debezium.connector_state().status == "ok", 120, "the connector runs again")
    wait_until(lambda: pending_count() == 0, 90, "every captured row was deleted")
    received = assert_everything_on_the_topic(bridge, timeout=60)
    print(f"Connect SIGKILLed; {len(received) - 1510} duplicate messages after its restart")


@pytest.mark.parametrize("bridge", RELAYS, indirect=True)
def test_the_outbox_holds_only_the_backlog_and_keeps_it_while_kafka_is_out_of_reach(bridge):
    """Delete on publish (issue #21): transfers through the real relay leave no row behind, each
    counted once; while the relay cannot reach Kafka (a worker given a broker address nobody
    listens on) every new row stays, failing, and once a worker reaches Kafka again all arrive.
    RELAY=debezium: the connector paused stands for the relay out of reach (the rows stay, none is
    cleaned), and resumed, it sends them all."""
    if bridge.relay == "debezium":
        _debezium_backlog_kept_while_paused(bridge)
        return
    worker = bridge.make_worker()
    worker.start()
    operator, ids = _api_wallets(4)
    _transfers(operator, ids, 40)
    wait_until(lambda: pending_count() == 0, 30, "the relay published and deleted every row")
    assert published_total() == 8 + 80 == len(bridge.written())
    worker.stop()

    cut_off = bridge.make_worker(KAFKA_BROKERS="127.0.0.1:1", OUTBOX_DELIVERY_TIMEOUT_SECONDS="2")
    cut_off.start()
    _transfers(operator, ids, 20)
    wait_until(lambda: OutboxEvent.objects.filter(attempts__gt=1).exists(), 60, "the relay failed, and again")
    assert pending_count() == 40, "no row left the outbox while Kafka was out of reach"
    assert published_total() == 88
    failing = OutboxEvent.objects.filter(attempts__gt=0).order_by("id").first()
    assert failing is not None
    assert failing.status == "failing"
    assert failing.last_error
    cut_off.stop()

    back = bridge.make_worker()
    back.start()
    took = wait_until(lambda: pending_count() == 0, 60, "the backlog drained once Kafka was in reach")
    print(f"backlog of 40 drained {took:.1f}s after the relay reached Kafka again")
    received = assert_everything_on_the_topic(bridge, timeout=30)
    assert len({m.payload["event_id"] for m in received}) == 8 + 80 + 40


def _debezium_backlog_kept_while_paused(bridge: Bridge) -> None:
    worker = bridge.make_worker()
    worker.start()
    operator, ids = _api_wallets(4)
    _transfers(operator, ids, 40)
    wait_until(lambda: pending_count() == 0, 30, "the captured rows were deleted")
    assert published_total() == 8 + 80 == len(bridge.written())

    name = settings.DEBEZIUM_CONNECTOR
    debezium.connect_request("PUT", f"/connectors/{name}/pause")
    wait_until(lambda: debezium.connector_state().connector == "PAUSED", 30, "the connector paused")
    _transfers(operator, ids, 20)
    time.sleep(12)  # more than a sweep's wait for the slot: nothing was captured, nothing goes
    assert pending_count() == 40, "no row left the outbox while the connector could not send it"
    assert published_total() == 88
    assert debezium.connector_state().status == "down"

    debezium.connect_request("PUT", f"/connectors/{name}/resume")
    took = wait_until(lambda: pending_count() == 0, 60, "the backlog drained once the connector ran")
    print(f"backlog of 40 sent and cleaned {took:.1f}s after the connector resumed")
    received = assert_everything_on_the_topic(bridge, timeout=30)
    assert len({m.payload["event_id"] for m in received}) == 8 + 80 + 40
