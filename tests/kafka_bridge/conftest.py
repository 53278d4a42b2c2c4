"""Fixtures for the relay tests: a topic and a Celery queue of the test's own, a real worker process.

The worker is `celery -A walletproject worker -B` in a subprocess (beat embedded, so the sweeper
runs too), on the test's queue, with DATABASE_URL pointing at the pytest database: with
`transactional_db` the test's writes are committed, so the subprocess sees them.

The relay deletes each outbox row once Kafka acknowledged it (issue #21), so "published" is read as
"the row is gone and `RelayStats` counted it", and what was written is kept for the no-loss checks
by a trigger of the test's own (`Bridge.written`): every committed outbox insert is copied to a
table the relay never touches.

Both relays (issue #24): `bridge` is parametrised by `relay` where a test asks for both
(`@pytest.mark.parametrize("bridge", RELAYS, indirect=True)`). "debezium" runs against a second,
logical-decoding PostgreSQL and a Kafka Connect worker that `scripts/stack` starts once per session
in `.stack/debezium-test` (STACK_DIR; the shared PostgreSQL is never restarted for it) on the shared
Kafka: the test's database connection is pointed at a database of that server, its connector gets a
slot and name of its own, and the Celery worker it starts runs beat's sweeper in that mode (it
deletes what the connector captured). Everything else — the API, the services, the checks — is
the same code in both modes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from django.db import connection

from common.caches import forget_all
from common.postgresql.url import database_url
from kafka_bridge import debezium
from kafka_bridge.client import ensure_topics
from kafka_bridge.models import OutboxEvent, RelayStats
from tests.conftest import STACK, brokers

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


RELAYS = ["celery", "debezium"]


@dataclass
class DebeziumStack:
    """The second PostgreSQL (wal_level=logical) and the Kafka Connect worker of the session."""

    env: dict[str, str]
    host: str
    port: int
    database: str
    connect_url: str

    def stack(self, *args: str) -> str:
        result = subprocess.run(
            [str(STACK), *args], capture_output=True, text=True, cwd=ROOT, env=self.env, timeout=600
        )
        if result.returncode != 0:
            pytest.fail(
                f"scripts/stack {' '.join(args)} (debezium test stack):\n{result.stdout}{result.stderr}"
            )
        return result.stdout

    def connect_pid(self) -> int | None:
        path = Path(self.env["STACK_DIR"]) / "run" / "connect.pid"
        try:
            return int(path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def psql(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(
            host=self.host, port=self.port, user="wallet", password="wallet", dbname=database, autocommit=True
        ) as conn:
            conn.execute(sql)


@pytest.fixture(scope="session")
def debezium_stack(django_db_blocker: Any) -> Iterator[DebeziumStack]:
    """Started once per session, as `scripts/stack` starts it with RELAY=debezium (idempotent: an
    already running one is reused, and left running; one this session started is stopped)."""
    port = int(os.environ.get("DEBEZIUM_TEST_PG_PORT", "5443"))
    connect_port = int(os.environ.get("DEBEZIUM_TEST_CONNECT_PORT", "8094"))
    folder = ROOT / ".stack" / "debezium-test"
    env = {
        **os.environ,
        "STACK_DIR": str(folder),
        "RELAY": "debezium",
        "DATABASE_URL": f"postgres://wallet:wallet@127.0.0.1:{port}/wallet",
        "CONNECT_PORT": str(connect_port),
        "CONNECT_GROUP_ID": "wallet-connect-test",
        "KAFKA_BROKERS": brokers(),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    stack = DebeziumStack(env, "127.0.0.1", port, "test_wallet_cdc", f"http://127.0.0.1:{connect_port}")
    already = "running" in stack.stack("status").split("connect", 1)[-1].splitlines()[0]
    stack.stack("start", "postgres")
    stack.stack("start", "connect")
    # A fresh database for the session on that server, migrated as the stack migrates.
    stack.psql(f"DROP DATABASE IF EXISTS {stack.database} WITH (FORCE)")
    stack.psql(f"CREATE DATABASE {stack.database} OWNER wallet")
    migrate_env = {**env, "DATABASE_URL": f"postgres://wallet:wallet@127.0.0.1:{port}/{stack.database}"}
    migrate_env["DJANGO_SETTINGS_MODULE"] = "walletproject.settings"
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "migrate", "--noinput", "-v", "0"],
        check=True,
        cwd=ROOT,
        env=migrate_env,
        timeout=300,
    )
    # The publication is made by the first test's `debezium.setup` (relay_setup's own code).
    yield stack
    if not already:
        stack.stack("stop", "connect")
        stack.stack("stop", "postgres")


def _point_at(db: dict[str, Any]) -> None:
    """The default connection, closed and pointed at another database (the next query connects)."""
    connection.close()
    connection.settings_dict.update(db)
    forget_all()


def _empty_cdc_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') FROM pg_tables"
            " WHERE schemaname = 'public' AND tablename <> 'django_migrations'"
        )
        (tables,) = cursor.fetchone()
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@dataclass
class Bridge:
    topic: str
    queue: str
    make_worker: Callable[..., Worker]
    relay: str = "celery"
    stack: DebeziumStack | None = None
    approvals_topic: str = ""  # the approvals' steps (aggregatetype "approval")

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
def bridge(
    request: pytest.FixtureRequest, transactional_db: Any, settings: Any, tmp_path: Path
) -> Iterator[Bridge]:
    """A topic and a queue of the test's own (this process's relay and the worker both use them);
    with the parameter "debezium", a database on the logical-decoding server and a connector of
    the test's own instead of the Celery relay."""
    relay = getattr(request, "param", "celery")
    suffix = uuid.uuid4().hex[:10]
    settings.KAFKA_TOPIC = f"test-bridge-{suffix}"
    settings.KAFKA_DLQ_TOPIC = f"{settings.KAFKA_TOPIC}.dlq"
    settings.KAFKA_APPROVALS_TOPIC = f"{settings.KAFKA_TOPIC}-approvals"
    settings.KAFKA_PARTITIONS = 3
    settings.OUTBOX_TASK_QUEUE = f"test-bridge-{suffix}"
    ensure_topics(timeout=30)
    stack: DebeziumStack | None = None
    saved = dict(connection.settings_dict)
    relay_env: dict[str, str] = {}
    if relay == "debezium":
        stack = request.getfixturevalue("debezium_stack")
        _point_at({"HOST": stack.host, "PORT": stack.port, "NAME": stack.database})
        settings.RELAY = "debezium"
        settings.CONNECT_URL = stack.connect_url
        settings.DEBEZIUM_CONNECTOR = f"test-bridge-{suffix}"
        settings.DEBEZIUM_SLOT = f"test_bridge_{suffix}"
        settings.DEBEZIUM_PUBLICATION = "wallet_outbox"
        relay_env = {
            "RELAY": "debezium",
            "CONNECT_URL": stack.connect_url,
            "DEBEZIUM_CONNECTOR": settings.DEBEZIUM_CONNECTOR,
            "DEBEZIUM_SLOT": settings.DEBEZIUM_SLOT,
        }
        debezium.setup(log=print)
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
            "KAFKA_APPROVALS_TOPIC": settings.KAFKA_APPROVALS_TOPIC,
            "OUTBOX_TASK_QUEUE": settings.OUTBOX_TASK_QUEUE,
            "OUTBOX_SWEEP_INTERVAL_SECONDS": "1",
            "OUTBOX_DELIVERY_TIMEOUT_SECONDS": "5",
            "OUTBOX_RETRY_BACKOFF_MAX_SECONDS": "4",
            **relay_env,
            **overrides,
        }
        worker = Worker(env, settings.OUTBOX_TASK_QUEUE, tmp_path)
        workers.append(worker)
        return worker

    yield Bridge(
        settings.KAFKA_TOPIC,
        settings.OUTBOX_TASK_QUEUE,
        make_worker,
        relay,
        stack,
        settings.KAFKA_APPROVALS_TOPIC,
    )
    for worker in workers:
        worker.stop()
    _stop_recording()
    if relay == "debezium":
        try:
            debezium.teardown(log=print)
        finally:
            _empty_cdc_database()
            _point_at(saved)
    try:
        admin = AdminClient({"bootstrap.servers": brokers()})
        for future in admin.delete_topics(
            [settings.KAFKA_TOPIC, settings.KAFKA_DLQ_TOPIC, settings.KAFKA_APPROVALS_TOPIC],
            operation_timeout=30,
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


def assert_everything_on_the_topic(bridge: Bridge, timeout: float) -> list[Received]:
    """Every outbox row written is on the topic (duplicates carry the same event), each wallet in
    order; the outbox is empty and the relay counted each row once, as it deleted it."""
    outbox = bridge.written()
    assert pending_count() == 0, "every published row was deleted"
    assert published_total() == len(outbox), "each row counted once, however often it was sent"
    received = read_topic(bridge.topic, expected=len(outbox), timeout=timeout, quiet=1.0)
    copies: dict[str, list[Received]] = defaultdict(list)
    for message in received:
        copies[dict(message.headers)["event_id"].decode()].append(message)
    assert set(copies) == set(outbox), "the topic holds exactly the outbox's events"
    for event_id, messages in copies.items():
        aggregateid, payload = outbox[event_id]
        for message in messages:
            assert message.key == aggregateid
            assert message.payload == payload
            assert message.value == messages[0].value, "a duplicate is the same event, byte for byte"
    expected_versions: dict[str, list[int]] = defaultdict(list)
    for aggregateid, payload in sorted(outbox.values(), key=lambda row: row[1]["wallet_version"]):
        expected_versions[aggregateid].append(payload["wallet_version"])
    assert versions_in_order(received) == expected_versions, "each wallet's events in version order"
    return received
