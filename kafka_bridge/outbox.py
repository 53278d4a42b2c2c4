"""The outbox's public face: the only way other apps write events for Kafka.

No other app imports this app's models or tasks or spells its columns. A caller hands
`OutboxMessage`s either to `insert_statement` (an `INSERT` to run inside its own statement, as the
wallet movements do, so the events are written by the very statement that makes the change) or to
`enqueue` (an insert of its own). Both register the coalesced publish for after the commit; a
rollback discards it with the rows. With RELAY=debezium nothing is registered: Debezium's
connector reads the rows from the WAL (kafka_bridge/debezium.py).

A message's `aggregatetype` picks its topic (`client.TOPIC_SETTINGS`: "wallet" the wallet topic,
"approval" the approvals' own), and its `aggregateid` is the key; any other type is refused here,
so no row is written that neither relay knows where to send.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction

from .client import TOPIC_SETTINGS
from .models import OutboxEvent
from .tasks import schedule_publish

_TABLE = OutboxEvent._meta.db_table
_COLUMNS = "(event_id, aggregatetype, aggregateid, type, payload, created_at, attempts, last_error)"


@dataclass(frozen=True)
class OutboxMessage:
    event_id: uuid.UUID
    aggregatetype: str  # "wallet" or "approval": the topic (client.TOPIC_SETTINGS)
    aggregateid: str  # the Kafka key: one aggregate's messages stay in order
    type: str  # the event type, also a Kafka header
    payload: dict[str, Any]  # the JSON value on the topic

    def __post_init__(self) -> None:
        if self.aggregatetype not in TOPIC_SETTINGS:
            raise ValueError(f"no topic for aggregatetype {self.aggregatetype!r}: {sorted(TOPIC_SETTINGS)}")


def insert_statement(messages: Sequence[OutboxMessage], at: datetime) -> tuple[str, list[Any]]:
    """`INSERT INTO <outbox> ... VALUES ...` and its parameters, for the caller to execute (alone
    or as a data-modifying CTE) in the current transaction; publishing follows the commit."""
    rows: list[str] = []
    params: list[Any] = []
    for message in messages:
        rows.append("(%s, %s, %s, %s, %s::jsonb, %s, 0, '')")
        params += [
            message.event_id,
            message.aggregatetype,
            message.aggregateid,
            message.type,
            orjson.dumps(message.payload).decode(),
            at,
        ]
    _publish_after_commit()
    return f"INSERT INTO {_TABLE} {_COLUMNS} VALUES {', '.join(rows)}", params  # noqa: S608


def insert_many_statement(messages: Sequence[OutboxMessage], at: datetime) -> tuple[str, list[Any]]:
    """The same insert in a statement whose text does not depend on how many messages there are:
    the rows as one JSON array (`jsonb_to_recordset`), inserted in the messages' order (so the
    rows' ids, the relay's order, follow it). psycopg converts it and PostgreSQL plans it once,
    where a VALUES list of a batch's thousands of placeholders was converted on every execute; one
    JSON text costs less to send than an array per column (psycopg dumps each element)."""
    rows = [
        {
            "e": message.event_id,
            "a": message.aggregatetype,
            "k": message.aggregateid,
            "t": message.type,
            "p": message.payload,
        }
        for message in messages
    ]
    _publish_after_commit()
    sql = f"""INSERT INTO {_TABLE} {_COLUMNS}
              SELECT e, a, k, t, p, %s, 0, ''
                FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS (e uuid, a text, k text, t text, p jsonb))
                     WITH ORDINALITY AS u(e, a, k, t, p, n)
               ORDER BY n"""  # noqa: S608
    return sql, [at, orjson.dumps(rows).decode()]


def _publish_after_commit() -> None:
    if settings.RELAY == "celery":  # with RELAY=debezium the connector reads the WAL: no task
        transaction.on_commit(schedule_publish, robust=True)  # coalesced: at most one task pending


def enqueue(messages: Sequence[OutboxMessage], at: datetime) -> None:
    """Write the messages now, in the current transaction."""
    sql, params = insert_statement(messages, at)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
