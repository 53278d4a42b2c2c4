"""Fixtures for the relay tests: a topic and a Celery queue of the test's own, a real worker process.

The worker is `celery -A walletproject worker -B` in a subprocess (beat embedded, so the sweeper
runs too), on the test's queue, with DATABASE_URL pointing at the pytest database: with
`transactional_db` the test's writes are committed, so the subprocess sees them.
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

from common.postgresql.url import database_url
from kafka_bridge.client import ensure_topics
from kafka_bridge.models import OutboxEvent
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


@dataclass
class Bridge:
    topic: str
    queue: str
    make_worker: Callable[..., Worker]


@pytest.fixture
def bridge(transactional_db: Any, settings: Any, tmp_path: Path) -> Iterator[Bridge]:
    """A topic and a queue of the test's own (this process's relay and the worker both use them)."""
    suffix = uuid.uuid4().hex[:10]
    settings.KAFKA_TOPIC = f"test-bridge-{suffix}"
    settings.KAFKA_DLQ_TOPIC = f"{settings.KAFKA_TOPIC}.dlq"
    settings.KAFKA_PARTITIONS = 3
    settings.OUTBOX_TASK_QUEUE = f"test-bridge-{suffix}"
    ensure_topics(timeout=30)
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
    return OutboxEvent.objects.filter(published_at__isnull=True).count()


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
