"""Fixtures for the relay tests: a topic and a Celery queue of the test's own, a real worker process.

The worker is `celery -A walletproject worker -B` in a subprocess (beat embedded, so the sweeper
runs too), on the test's queue, with DATABASE_URL pointing at the pytest database: with
`transactional_db` the test's writes are committed, so the subprocess sees them.

The relay deletes each outbox row once Kafka acknowledged it (issue #21), so "published" is read as
"the row is gone and `RelayStats` counted it", and what was written is kept for the no-loss checks
by a trigger of the test's own (`Bridge.written`): every committed outbox insert is copied to a
table the relay never touches.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from django.db import connection

from common.postgresql.url import database_url
from kafka_bridge.client import ensure_topics
from kafka_bridge.models import OutboxEvent, RelayStats
from tests.conftest import brokers

ROOT = Path(__file__).resolve().parents[2]
CELERY = ROOT / ".venv" / "bin" / "celery"


@dataclass
class Received:
    topic: str
    partition: int
    offset: int
    key: str
    headers: list[tuple[str, bytes]]
    value: bytes

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.value)
        return parsed


def read_topic(topic: str, *, expected: int, timeout: float, quiet: float = 2.0) -> list[Received]:
    """Every message of the topic from the beginning: waits until `expected` arrived (or the
    timeout), then `quiet` seconds more, so that an extra message would be seen too."""
    admin = AdminClient({"bootstrap.servers": brokers()})
    partitions = admin.list_topics(topic, timeout=10).topics[topic].partitions
    consumer = Consumer(
        {
            "bootstrap.servers": brokers(),
            "group.id": f"bridge-test-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    received: list[Received] = []
    try:
        deadline = time.monotonic() + timeout
        quiet_until: float | None = None
        while True:
            now = time.monotonic()
            if quiet_until is None and (len(received) >= expected or now >= deadline):
                quiet_until = now + quiet
            if quiet_until is not None and now >= quiet_until:
                break
            messages: list[Any] = consumer.consume(num_messages=500, timeout=0.5)
            for message in messages:
                if message.error() is not None:
                    continue
                received.append(
                    Received(
                        topic=message.topic(),
                        partition=message.partition(),
                        offset=message.offset(),
                        key=message.key().decode(),
                        headers=list(message.headers() or []),
                        value=message.value(),
                    )
                )
    finally:
        consumer.close()
    return received


class Worker:
    """A real Celery worker (+ embedded beat) process on the test's queue, topic and database."""

    def __init__(self, env: dict[str, str], queue: str, folder: Path) -> None:
        self.env, self.queue, self.folder = env, queue, folder
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "worker.log"
        self.starts = 0

    def start(self, timeout: float = 60.0, *, wait: bool = True) -> None:
        assert self.process is None
        self.starts += 1
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    str(CELERY),
                    "-A",
                    "walletproject",
                    "worker",
                    "-B",
                    "--schedule",
                    str(self.folder / f"beat-schedule-{self.starts}"),
                    "-Q",
                    self.queue,
                    "--hostname",
                    f"{self.queue}-{self.starts}@%h",
                    "--concurrency",
                    "2",
                    "--loglevel",
                    "INFO",
                    "--without-gossip",
                    "--without-mingle",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
                env=self.env,
                start_new_session=True,  # its own process group: a kill takes the pool children too
            )
        if not wait:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the Celery worker exited {self.process.returncode}:\n{self.tail()}")
            if b"ready." in self.log.read_bytes()[offset:]:
                return
            time.sleep(0.2)
        pytest.fail(f"the Celery worker was not ready within {timeout:.0f}s:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL the worker's whole process group: no shutdown, no acks, no cleanup."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


WRITTEN = "test_outbox_written"
OUTBOX = OutboxEvent._meta.db_table


def _record_written_events() -> None:
    """From now on, copy each inserted outbox row (event id, key, payload) into WRITTEN, in the
    inserting transaction: a rolled-back row is not copied, a committed one stays after the relay
    deleted it."""
    _stop_recording()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {WRITTEN} (id bigint PRIMARY KEY, event_id uuid NOT NULL UNIQUE,"
            " aggregateid text NOT NULL, payload jsonb NOT NULL)"
        )
        cursor.execute(
            f"""
            CREATE FUNCTION {WRITTEN}_copy() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO {WRITTEN} VALUES (NEW.id, NEW.event_id, NEW.aggregateid, NEW.payload);
                RETURN NULL;
            END $$
            """  # noqa: S608 -- table names are this module's constants
        )
        cursor.execute(
            f"CREATE TRIGGER {WRITTEN}_copy AFTER INSERT ON {OUTBOX}"
            f" FOR EACH ROW EXECUTE FUNCTION {WRITTEN}_copy()"
        )


def _stop_recording() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS {WRITTEN}_copy ON {OUTBOX}")
        cursor.execute(f"DROP FUNCTION IF EXISTS {WRITTEN}_copy()")
        cursor.execute(f"DROP TABLE IF EXISTS {WRITTEN}")


@dataclass
class Bridge:
    topic: str
    queue: str
    make_worker: Callable[..., Worker]

    def written(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """Every outbox row committed during the test, published or not: event id (text) ->
        (aggregateid, payload)."""
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT event_id::text, aggregateid, payload FROM {WRITTEN} ORDER BY id")  # noqa: S608
            rows = cursor.fetchall()
        return {event_id: (aggregateid, _json(payload)) for event_id, aggregateid, payload in rows}


def _json(value: Any) -> dict[str, Any]:
    """A jsonb column as a dict, whether the driver decoded it or not."""
    decoded: dict[str, Any] = json.loads(value) if isinstance(value, str | bytes) else value
    return decoded


@pytest.fixture
def bridge(transactional_db: Any, settings: Any, tmp_path: Path) -> Iterator[Bridge]:
    """A topic and a queue of the test's own (this process's relay and the worker both use them)."""
    suffix = uuid.uuid4().hex[:10]
    settings.KAFKA_TOPIC = f"test-bridge-{suffix}"
    settings.KAFKA_DLQ_TOPIC = f"{settings.KAFKA_TOPIC}.dlq"
    settings.KAFKA_PARTITIONS = 3
    settings.OUTBOX_TASK_QUEUE = f"test-bridge-{suffix}"
    ensure_topics(timeout=30)
    _record_written_events()
    workers: list[Worker] = []

    def make_worker(**overrides: str) -> Worker:
        env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "walletproject.settings",
            "DATABASE_URL": database_url(),
            "DB_CONN_MAX_AGE": "0",
            "KAFKA_TOPIC": settings.KAFKA_TOPIC,
            "KAFKA_DLQ_TOPIC": settings.KAFKA_DLQ_TOPIC,
            "OUTBOX_TASK_QUEUE": settings.OUTBOX_TASK_QUEUE,
            "OUTBOX_SWEEP_INTERVAL_SECONDS": "1",
            "OUTBOX_DELIVERY_TIMEOUT_SECONDS": "5",
            "OUTBOX_RETRY_BACKOFF_MAX_SECONDS": "4",
            **overrides,
        }
        worker = Worker(env, settings.OUTBOX_TASK_QUEUE, tmp_path)
        workers.append(worker)
        return worker

    yield Bridge(settings.KAFKA_TOPIC, settings.OUTBOX_TASK_QUEUE, make_worker)
    for worker in workers:
        worker.stop()
    _stop_recording()
    try:
        admin = AdminClient({"bootstrap.servers": brokers()})
        for future in admin.delete_topics(
            [settings.KAFKA_TOPIC, settings.KAFKA_DLQ_TOPIC], operation_timeout=30
        ).values():
            future.result(timeout=30)
    except Exception as exc:  # a topic left behind is only clutter; say so and carry on
        print(f"could not delete the test topics: {exc}")


def wait_until(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll until `condition()`; returns the seconds it took, fails the test after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what}: not within {timeout:.0f}s")
        time.sleep(interval)
    return time.monotonic() - started


def pending_count() -> int:
    """Rows in the outbox: every one is still to be published (the relay deletes published rows)."""
    return OutboxEvent.objects.count()


def published_total() -> int:
    """Rows the relay deleted once Kafka acknowledged them, as `RelayStats` counted them."""
    return RelayStats.objects.filter(id=1).values_list("published_total", flat=True).first() or 0


def versions_in_order(received: list[Received]) -> dict[str, list[int]]:
    """Each wallet's event versions in the order the topic holds them, first copy of each event."""
    seen: set[str] = set()
    per_wallet: dict[str, list[int]] = {}
    for message in sorted(received, key=lambda m: (m.partition, m.offset)):
        payload = message.payload
        if payload["event_id"] in seen:
            continue
        seen.add(payload["event_id"])
        per_wallet.setdefault(message.key, []).append(payload["wallet_version"])
    return per_wallet
