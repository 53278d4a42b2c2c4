"""The outbox's public face: the only way other apps write events for Kafka.

No other app imports this app's models or tasks or spells its columns. A caller hands
`OutboxMessage`s either to `insert_statement` (an `INSERT` to run inside its own statement, as the
wallet movements do, so the events are written by the very statement that makes the change) or to
`enqueue` (an insert of its own). Both register the coalesced publish for after the commit; a
rollback discards it with the rows. With RELAY=debezium nothing is registered: Debezium's
connector reads the rows from the WAL (kafka_bridge/debezium.py).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from .models import OutboxEvent
from .tasks import schedule_publish

_TABLE = OutboxEvent._meta.db_table
_COLUMNS = "(event_id, aggregatetype, aggregateid, type, payload, created_at, attempts, last_error)"


@dataclass(frozen=True)
class OutboxMessage:
    event_id: uuid.UUID
    aggregatetype: str  # e.g. "wallet"
    aggregateid: str  # the Kafka key: one aggregate's messages stay in order
    type: str  # the event type, also a Kafka header
    payload: dict[str, Any]  # the JSON value on the topic


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
            json.dumps(message.payload, separators=(",", ":")),
            at,
        ]
    if settings.RELAY == "celery":  # with RELAY=debezium the connector reads the WAL: no task
        transaction.on_commit(schedule_publish, robust=True)  # coalesced: at most one task pending
    return f"INSERT INTO {_TABLE} {_COLUMNS} VALUES {', '.join(rows)}", params  # noqa: S608


def enqueue(messages: Sequence[OutboxMessage], at: datetime) -> None:
    """Write the messages now, in the current transaction."""
    sql, params = insert_statement(messages, at)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
