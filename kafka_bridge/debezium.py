"""RELAY=debezium (issue #24): Debezium's outbox event router on Kafka Connect relays the outbox.

What it is. A Kafka Connect worker in distributed mode (scripts/stack `connect`) runs Debezium's
PostgreSQL connector on a logical replication slot (`pgoutput`) over a publication of the outbox
table alone, inserts only (`publish = 'insert'`: the cleaner's deletes are not streamed). Its
outbox event router turns each inserted row into the message the Celery relay sends
(`publisher.encode`), byte for byte, and the tests hold both relays to the same contract:

- topic by `aggregatetype`, as the Celery relay routes (`client.topic_routes`): the router names
  the record's topic after the column (`route.topic.replacement=${routedByValue}`), then one of
  Kafka's `RegexRouter`s per type renames it (`wallet` -> KAFKA_TOPIC, `approval` ->
  KAFKA_APPROVALS_TOPIC; whole-name matches); key `aggregateid` (the wallet's or the approval's
  id) as UTF-8 (`StringConverter`);
- value: the `payload` column. It is JSONB, which Debezium reads as JSON text in PostgreSQL's
  spacing (`{"a": 1}`); `table.expand.json.payload` parses it and the schemaless `JsonConverter`
  writes it compactly, keys in the column's order (the order the Celery relay's `json.dumps`
  keeps), nulls kept as nulls (`table.json.payload.null.behavior=optional_bytes`; the default
  drops them);
- headers `event_id`, `event_type` (columns, `table.fields.additional.placement`), then
  `schema_version` (copied from the payload by Kafka's `HeaderFrom`), and nothing else: Kafka's
  `DropHeaders` removes the router's own `id` header and Debezium's context headers are off
  (`extended.headers.enabled=false`).

Order: logical decoding sends transactions in commit order and a wallet's rows are inserted under
its row lock, so one wallet's events leave in version order; one task (`tasks.max=1`), an
idempotent `acks=all` producer, the same key, so one partition each, in order. Delivery is
at-least-once: after a crash the worker resumes from its last committed offset and may send again
what it sent since; duplicates carry the same `event_id` and the history consumer drops them.

Cleaning the outbox (a choice; README, Kafka relay). The router reads the WAL, so a row could be
deleted in the very transaction that inserted it (Debezium's own practice). That needs a second
statement in every money movement (a data-modifying CTE cannot delete what its sibling inserted),
and the table would say nothing about what is not yet on Kafka. Instead rows are deleted once the
connector captured them, by beat's sweeper (`clean_captured`), and nothing on the transfer path
changes: the sweeper reads the rows its snapshot sees and the WAL insert position `L` (every
transaction it sees committed before `L`), waits until the slot's `confirmed_flush_lsn` — which
Debezium advances only after Kafka acknowledged the records and Connect committed their offsets —
reaches `L`, then deletes exactly those rows and counts them into `RelayStats`, as the Celery relay
does. The outbox stays the backlog: pending, oldest age, the stall rule and the published total
mean the same in both modes. Heartbeats (`heartbeat.action.query`, a non-transactional logical
decoding message every second) keep the confirmed position moving while no event is written.

Switching to this mode (`manage.py relay_setup`, run by `scripts/stack up`): the publication, then
the slot (so that every commit after it is streamed), then the Celery relay drains what was
committed before it (a row may go twice: a duplicate), then the connector is registered. Back to
RELAY=celery: `manage.py relay_setup` deletes the connector and drops the slot (a slot nobody reads
keeps the WAL forever).

DB_HA=patroni (docs/high-availability.md): relay_setup creates the slot as above (after the
publication: pgoutput cannot decode a change older than the publication it is asked for), then
scripts/stack makes it one of Patroni's permanent slots, so that it exists on the standby too
(copied, then advanced every loop to the primary's confirmed position) and on whichever node is
promoted; back on the Celery relay scripts/stack takes it out of Patroni's configuration and
Patroni drops it. The connector reaches the leader through scripts/stack's HAProxy
(DEBEZIUM_DATABASE_ADDRESS). After a failover it reconnects by itself and resumes from its stored
offset (or the slot, if that is further): what it sent after its last committed offset goes again
(duplicates, dropped by event_id).
"""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone

from .client import topic_routes
from .models import OutboxEvent
from .publisher import _delete_published, _relay_lock, publish_pending

logger = logging.getLogger(__name__)

OUTBOX = OutboxEvent._meta.db_table
HEARTBEAT_PREFIX = "wallet-heartbeat"
CLEAN_BATCH = 10_000


def enabled() -> bool:
    return bool(settings.RELAY == "debezium")


# ---------------------------------------------------------------------------------------------
# The connector's configuration.


def connector_config(
    *, topic: str | None = None, slot: str | None = None, publication: str | None = None
) -> dict[str, str]:
    """The connector's config for the database Django's default connection uses (`topic`: the
    wallet events' topic instead of KAFKA_TOPIC)."""
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", str(db["PORT"] or 5432)
    if settings.DEBEZIUM_DATABASE_ADDRESS:
        host, _, port = settings.DEBEZIUM_DATABASE_ADDRESS.rpartition(":")
    name = settings.DEBEZIUM_CONNECTOR
    prefix = name.replace("-", "_")
    routes = topic_routes()
    if topic:
        routes["wallet"] = topic
    # The renames run one after another: a topic named like an aggregate type would be renamed again.
    if set(routes.values()) & set(routes) or len(set(routes.values())) < len(routes):
        raise ImproperlyConfigured(
            f"each aggregate type needs a topic of its own, not named like one: {routes}"
        )
    route_transforms = {f"{aggregatetype}Topic": aggregatetype for aggregatetype in routes}
    transforms = ["outbox", *route_transforms, "schemaVersion", "dropRouterId"]
    config = {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "tasks.max": "1",  # one reader of the slot: commit order is the order on Kafka
        "database.hostname": host,
        "database.port": port,
        "database.user": db["USER"],
        "database.password": db["PASSWORD"],
        "database.dbname": db["NAME"],
        "topic.prefix": prefix,
        "plugin.name": "pgoutput",
        "slot.name": slot or settings.DEBEZIUM_SLOT,
        "publication.name": publication or settings.DEBEZIUM_PUBLICATION,
        "publication.autocreate.mode": "disabled",  # ours: the outbox only, inserts only
        "table.include.list": f"public.{OUTBOX}",
        # relay_setup created the slot and drained what came before it: stream from the slot.
        "snapshot.mode": "no_data",
        "tombstones.on.delete": "false",
        "extended.headers.enabled": "false",
        # How long the task waits for a batch to fill before it hands what it has to the producer
        # (Debezium's default, 500 ms, was most of the lag: p50 557 ms at half load, bench/relays.py).
        # The wait is on the task's in-memory queue, not the database, so a short one costs no query.
        "poll.interval.ms": str(settings.DEBEZIUM_POLL_INTERVAL_MS),
        # The worker's producer lingers 5 ms for a fuller batch (worker.properties): this
        # connector's records go at once (issue #37; Connect's override policy is All by default).
        "producer.override.linger.ms": "0",
        "heartbeat.interval.ms": "1000",
        "heartbeat.action.query": f"SELECT pg_logical_emit_message(false, '{HEARTBEAT_PREFIX}', '')",
        "message.prefix.exclude.list": HEARTBEAT_PREFIX,
        # The heartbeat topic (__debezium-heartbeat.<prefix>) is the only one Connect creates.
        "topic.creation.default.replication.factor": str(settings.KAFKA_REPLICATION_FACTOR),
        "topic.creation.default.partitions": "1",
        # A Kafka outage: keep retrying (the rows wait in the outbox), never fail the task for it.
        "errors.retry.timeout": "-1",
        # A lost database connection (a restart, a failover) is retriable, without limit; the task
        # starts again this long after it (Debezium's default, 10 s, is most of a failover's wait).
        "retriable.restart.connector.wait.ms": "2000",
        # Start from the slot's position when the stored offset is behind it (a slot created anew):
        # what is before the slot's start was published by relay_setup's drain.
        "offset.mismatch.strategy": "trust_slot",
        # The transforms skip heartbeats (a predicate on the outbox table's topic would stop
        # matching once the router has renamed the record's topic).
        "predicates": "heartbeat",
        "predicates.heartbeat.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
        "predicates.heartbeat.pattern": re.escape("__debezium-heartbeat.") + ".*",
        "transforms": ",".join(transforms),
        "transforms.outbox.type": "io.debezium.transforms.outbox.EventRouter",
        "transforms.outbox.table.field.event.id": "event_id",
        "transforms.outbox.table.field.event.key": "aggregateid",
        "transforms.outbox.table.field.event.payload": "payload",
        "transforms.outbox.table.fields.additional.placement": (
            "event_id:header:event_id,type:header:event_type"
        ),
        "transforms.outbox.route.by.field": "aggregatetype",
        # The record's topic is the aggregate type (the default route.topic.regex captures the
        # whole value as routedByValue); the RegexRouters below map each type to its topic.
        "transforms.outbox.route.topic.replacement": "${routedByValue}",
        "transforms.outbox.table.expand.json.payload": "true",
        "transforms.outbox.table.json.payload.null.behavior": "optional_bytes",
        "transforms.schemaVersion.type": "org.apache.kafka.connect.transforms.HeaderFrom$Value",
        "transforms.schemaVersion.fields": "schema_version",
        "transforms.schemaVersion.headers": "schema_version",
        "transforms.schemaVersion.operation": "copy",
        "transforms.dropRouterId.type": "org.apache.kafka.connect.transforms.DropHeaders",
        "transforms.dropRouterId.headers": "id",
    }
    for transform, aggregatetype in route_transforms.items():
        config[f"transforms.{transform}.type"] = "org.apache.kafka.connect.transforms.RegexRouter"
        config[f"transforms.{transform}.regex"] = re.escape(aggregatetype)  # the whole name (matches())
        config[f"transforms.{transform}.replacement"] = routes[aggregatetype]
    for transform in transforms:  # heartbeats pass untouched
        config[f"transforms.{transform}.predicate"] = "heartbeat"
        config[f"transforms.{transform}.negate"] = "true"
    return config


# ---------------------------------------------------------------------------------------------
# Kafka Connect's REST API.


class ConnectError(Exception):
    """Kafka Connect did not answer, or answered an error."""


def connect_request(method: str, path: str, body: Any = None, *, timeout: float = 5.0) -> Any:
    """One call of Connect's REST API; the decoded JSON answer (None for an empty one)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 -- CONNECT_URL is configuration, http(s) only
        settings.CONNECT_URL.rstrip("/") + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            text = response.read()
    except urllib.error.HTTPError as exc:
        raise ConnectError(f"{method} {path}: HTTP {exc.code} {exc.read()[:300]!r}") from None
    except (OSError, ValueError) as exc:
        raise ConnectError(f"{method} {path}: {exc}") from None
    return json.loads(text) if text else None


@dataclass(frozen=True)
class ConnectorState:
    """What Connect says of the connector, and how far the slot is behind the WAL."""

    reachable: bool  # Connect answered
    connector: str  # RUNNING, PAUSED, STOPPED, FAILED, UNASSIGNED, MISSING (not registered), UNKNOWN
    tasks: list[str] = field(default_factory=list)  # each task's state
    failed_tasks: list[int] = field(default_factory=list)
    error: str = ""  # the first failure's first trace line, or why Connect could not say
    slot_active: bool | None = None  # a connection streams from the slot
    slot_lag_bytes: int | None = None  # WAL written since what the connector confirmed

    @property
    def status(self) -> str:
        """ok: connector and every task RUNNING; else down (a failed task is restarted by beat)."""
        if (
            self.reachable
            and self.connector == "RUNNING"
            and self.tasks
            and all(state == "RUNNING" for state in self.tasks)
        ):
            return "ok"
        return "down"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}


def _slot_position(slot: str) -> tuple[bool | None, int | None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint"
            " FROM pg_replication_slots WHERE slot_name = %s",
            [slot],
        )
        row = cursor.fetchone()
    return (None, None) if row is None else (bool(row[0]), int(row[1]) if row[1] is not None else None)


def connector_state(*, timeout: float = 2.0) -> ConnectorState:
    """Connect's status of the connector and the slot's lag; never raises."""
    try:
        active, lag = _slot_position(settings.DEBEZIUM_SLOT)
    except Exception as exc:
        logger.warning("debezium relay: slot position unknown: %s", exc)
        connection.close()
        active, lag = None, None
    try:
        status = connect_request("GET", f"/connectors/{settings.DEBEZIUM_CONNECTOR}/status", timeout=timeout)
    except ConnectError as exc:
        missing = "HTTP 404" in str(exc)
        return ConnectorState(
            reachable=missing,
            connector="MISSING" if missing else "UNKNOWN",
            error=str(exc)[:300],
            slot_active=active,
            slot_lag_bytes=lag,
        )
    tasks = sorted(status.get("tasks", []), key=lambda task: task.get("id", 0))
    failed = [task["id"] for task in tasks if task.get("state") == "FAILED"]
    traces = [status["connector"].get("trace", "")] + [task.get("trace", "") for task in tasks]
    error = next((trace.splitlines()[0] for trace in traces if trace), "")
    return ConnectorState(
        reachable=True,
        connector=status.get("connector", {}).get("state", "UNKNOWN"),
        tasks=[task.get("state", "UNKNOWN") for task in tasks],
        failed_tasks=failed,
        error=error[:300],
        slot_active=active,
        slot_lag_bytes=lag,
    )


def restart_failed() -> list[str]:
    """Restart the connector and its tasks if any failed (Connect leaves a FAILED task failed).
    Returns what was restarted; never raises."""
    state = connector_state()
    name = settings.DEBEZIUM_CONNECTOR
    restarted: list[str] = []
    try:
        if state.connector == "FAILED":
            connect_request("POST", f"/connectors/{name}/restart?includeTasks=true&onlyFailed=true")
            restarted.append("connector")
        else:
            for task in state.failed_tasks:
                connect_request("POST", f"/connectors/{name}/tasks/{task}/restart")
                restarted.append(f"task {task}")
    except ConnectError as exc:
        logger.warning("debezium relay: restart of %s failed: %s", name, exc)
    if restarted:
        logger.warning("debezium relay: restarted %s of %s (%s)", ", ".join(restarted), name, state.error)
    return restarted


# ---------------------------------------------------------------------------------------------
# Cleaning what the connector captured.


@dataclass
class CleanResult:
    deleted: int = 0
    waiting: int = 0  # rows seen but not yet confirmed captured when the wait ended
    locked_out: bool = False
    no_slot: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def clean_captured(*, wait_seconds: float = 8.0, poll_seconds: float = 0.1) -> CleanResult:
    """Delete the outbox rows the connector has captured (see the module's docstring): rows this
    snapshot sees, once the slot's confirmed position passed the WAL insert position read after
    the snapshot. Under the relay's advisory lock (one cleaner, never during relay_setup's drain)."""
    result = CleanResult()
    slot = settings.DEBEZIUM_SLOT
    deadline = time.monotonic() + wait_seconds
    with _relay_lock() as acquired:
        if not acquired:
            result.locked_out = True
            return result
        while True:
            with connection.cursor() as cursor:
                # One statement: its snapshot is taken before pg_current_wal_insert_lsn() runs.
                cursor.execute(
                    f"""
                    SELECT pg_current_wal_insert_lsn()::text,
                           (SELECT array_agg(id ORDER BY id) FROM
                              (SELECT id FROM {OUTBOX} ORDER BY id LIMIT %s) AS batch),
                           EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = %s)
                    """,  # noqa: S608 -- the table name comes from model metadata
                    [CLEAN_BATCH, slot],
                )
                insert_lsn, ids, slot_exists = cursor.fetchone()
            if not slot_exists:
                result.no_slot = True
                logger.warning("debezium relay: no replication slot %s; nothing is cleaned", slot)
                return result
            if not ids:
                return result
            while not _confirmed_past(slot, insert_lsn):
                if time.monotonic() >= deadline:
                    result.waiting += len(ids)
                    return result
                time.sleep(poll_seconds)
            _delete_published(list(ids), timezone.now())
            result.deleted += len(ids)
            if len(ids) < CLEAN_BATCH or time.monotonic() >= deadline:
                return result


def _confirmed_past(slot: str, lsn: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT confirmed_flush_lsn >= %s::pg_lsn FROM pg_replication_slots WHERE slot_name = %s",
            [lsn, slot],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def sweep() -> dict[str, Any]:
    """Beat's sweeper in this mode: clean what was captured, restart what failed."""
    result = clean_captured().as_dict()
    result["restarted"] = restart_failed()
    return result


# ---------------------------------------------------------------------------------------------
# Setting the mode up (manage.py relay_setup), and back.


def ensure_publication(publication: str | None = None) -> bool:
    """The publication of the outbox's inserts; True if it was created."""
    name = publication or settings.DEBEZIUM_PUBLICATION
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", [name])
        if cursor.fetchone():
            return False
        # DDL takes no bind parameters (the connection binds server-side): the option is a literal.
        cursor.execute(f"CREATE PUBLICATION \"{name}\" FOR TABLE {OUTBOX} WITH (publish = 'insert')")
    return True


def ensure_slot(slot: str | None = None) -> bool:
    """The logical replication slot (pgoutput); True if it was created. Needs wal_level=logical and
    the REPLICATION attribute (scripts/stack sets both in this mode)."""
    name = slot or settings.DEBEZIUM_SLOT
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [name])
        if cursor.fetchone():
            return False
        # Creating a slot waits for every transaction running on the server to end (its snapshot
        # must be consistent); that wait counts against the session's lock_timeout (5 s), which a
        # busy server's longer transactions can exceed (seen in a test run beside another suite).
        cursor.execute("SET lock_timeout = '60s'")
        try:
            cursor.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", [name])
        finally:
            cursor.execute("RESET lock_timeout")
    return True


def drop_slot(slot: str | None = None, *, timeout: float = 30.0) -> bool:
    """Drop the slot once nobody streams from it; True if it existed. Under DB_HA=patroni Patroni
    may drop it at the same moment: gone is gone."""
    name = slot or settings.DEBEZIUM_SLOT
    deadline = time.monotonic() + timeout
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", [name])
            row = cursor.fetchone()
            if row is None:
                return False
            if not row[0]:
                cursor.execute(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                    " WHERE slot_name = %s AND NOT active",
                    [name],
                )
                return True
        if time.monotonic() >= deadline:
            raise RuntimeError(f"replication slot {name} is still in use after {timeout:.0f}s")
        time.sleep(0.2)


def forget_offsets(*, timeout: float = 60.0) -> None:
    """Delete the source offsets Connect keeps for this connector's name (KIP-875), so that it reads
    a new slot from the slot's start. Offsets outlive the connector and its slot: after RELAY=celery
    dropped the slot, the stored LSN points before the new slot's start and Debezium refuses to
    start ("trying to read change stream starting at ... no longer available"). Offsets can be
    deleted only from a STOPPED connector: an existing one is stopped, a missing one is created
    stopped; `register` then runs it."""
    name = settings.DEBEZIUM_CONNECTOR
    try:
        connect_request("PUT", f"/connectors/{name}/stop", timeout=timeout)
    except ConnectError as exc:
        if "HTTP 404" not in str(exc):
            raise
        body = {"name": name, "config": connector_config(), "initial_state": "STOPPED"}
        connect_request("POST", "/connectors", body, timeout=timeout)
    deadline = time.monotonic() + timeout
    while connector_state().connector != "STOPPED":
        if time.monotonic() >= deadline:
            raise ConnectError(f"connector {name} not stopped after {timeout:.0f}s")
        time.sleep(0.25)
    connect_request("DELETE", f"/connectors/{name}/offsets", timeout=timeout)


def register(config: dict[str, str] | None = None, *, timeout: float = 60.0) -> ConnectorState:
    """Create or update the connector (PUT is idempotent), run it (a no-op unless it was stopped
    or paused) and wait until it and its task run."""
    name = settings.DEBEZIUM_CONNECTOR
    connect_request("PUT", f"/connectors/{name}/config", config or connector_config())
    connect_request("PUT", f"/connectors/{name}/resume")
    deadline = time.monotonic() + timeout
    while True:
        state = connector_state()
        if state.status == "ok":
            return state
        if time.monotonic() >= deadline:
            raise ConnectError(f"connector {name} not running after {timeout:.0f}s: {state.as_dict()}")
        time.sleep(0.25)


def unregister(*, timeout: float = 30.0) -> bool:
    """Delete the connector; True if it existed."""
    name = settings.DEBEZIUM_CONNECTOR
    try:
        connect_request("DELETE", f"/connectors/{name}", timeout=timeout)
    except ConnectError as exc:
        if "HTTP 404" in str(exc):
            return False
        raise
    return True


def setup(*, log: Any = logger.info) -> None:
    """RELAY=debezium: publication, slot, the Celery relay's last rows, connector, in that order."""
    if ensure_publication():
        log(f"publication {settings.DEBEZIUM_PUBLICATION} created (the outbox's inserts)")
    if ensure_slot():
        log(f"replication slot {settings.DEBEZIUM_SLOT} created")
        # Offsets of an earlier slot (RELAY=celery dropped it) would point before this one.
        forget_offsets()
        log(f"connector {settings.DEBEZIUM_CONNECTOR}: stored offsets of an earlier slot forgotten")
    # What committed before the slot existed is not in it: the Celery relay publishes it now.
    drained = publish_pending()
    if drained.delivery_failed or drained.locked_out:
        raise RuntimeError(
            f"the outbox rows from before the slot could not be published: {drained.as_dict()}"
        )
    if drained.published:
        log(f"{drained.published} outbox rows from before the slot published by the Celery relay")
    state = register()
    log(f"connector {settings.DEBEZIUM_CONNECTOR} {state.connector}, tasks {state.tasks}")


def teardown(*, log: Any = logger.info) -> None:
    """RELAY=celery again: no connector, no slot (the Celery relay publishes what is left)."""
    try:
        if unregister():
            log(f"connector {settings.DEBEZIUM_CONNECTOR} deleted")
    except ConnectError as exc:
        log(f"Kafka Connect not reachable ({exc}); only the slot is dropped")
    if drop_slot():
        log(f"replication slot {settings.DEBEZIUM_SLOT} dropped")
