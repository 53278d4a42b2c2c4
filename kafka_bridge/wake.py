"""The relay wakes when an outbox row commits instead of polling for it (issue #37).

Why not a NOTIFY from every write: PostgreSQL serializes the commits of transactions that NOTIFY
(PreCommit_Notify takes a database-wide lock held through the commit's WAL flush), so concurrent
money movements would lose their group commit. Measured in one run (bench/relay_wake.py,
bench/results/relay_wake.md): a NOTIFY in every transfer cut uniform transfers/s, while this
protocol costs nothing measurable. So a write NOTIFYs only while the relay sleeps, which is when
latency matters and load is low:

- The outbox's statement trigger (kafka_bridge/sql/outbox_wake.sql) tries to take the advisory lock
  `ASLEEP_LOCK` in shared mode for its transaction. The sleeping relay holds it exclusively, so the
  try fails and the write NOTIFYs `CHANNEL`, delivered when it commits. An awake relay holds
  nothing: the try succeeds, nothing is notified, and the write keeps the shared lock until its
  transaction has ended (its row is visible by then).
- To fall asleep the relay LISTENs (once per connection), then *tries* to take the lock
  exclusively. It fails while a write is between its insert and the end of its commit: that row is
  about to land, so the relay stays awake and looks again shortly. Once it holds the lock, every
  write that did not notify has ended, so one look at the table (after the lock, in a new
  statement) sees its rows; every later write notifies. Then it waits for a notification or its
  timeout, and lets go of the lock before it drains.

Nothing the relay guarantees rests on this: a lost notification (the relay's connection dropped,
the trigger missing) costs latency up to the wait's timeout, and the Redis flag, the promise and
beat's sweeper work as before (kafka_bridge/tasks.py). The lock and the channel are per database,
like the outbox.
"""

from __future__ import annotations

import enum
import logging
import time
import weakref
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection

from .models import OutboxEvent

logger = logging.getLogger(__name__)

CHANNEL = "kafka_bridge_outbox"
ASLEEP_LOCK = "kafka_bridge.outbox_relay_asleep"
_OUTBOX = OutboxEvent._meta.db_table

# The psycopg connection this process LISTENs on (a new connection must LISTEN again).
_listening: weakref.ref[Any] | None = None


class Woken(enum.Enum):
    """Why `wait_for_commit` returned."""

    WRITING = "writing"  # a write was committing: its row is about to land
    PENDING = "pending"  # rows were already there when the relay looked
    NOTIFIED = "notified"  # a commit woke it
    TIMEOUT = "timeout"  # nothing came within the timeout


def _listen() -> Any:
    """The raw psycopg connection, LISTENing on CHANNEL."""
    global _listening
    connection.ensure_connection()
    raw = connection.connection
    if _listening is None or _listening() is not raw:
        with connection.cursor() as cursor:
            cursor.execute(f"LISTEN {CHANNEL}")
        _listening = weakref.ref(raw)
    return raw


def _lock_query(function: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(hashtextextended(%s, 0))", [ASLEEP_LOCK])
        (done,) = cursor.fetchone()
    return bool(done)


def stop_listening() -> None:
    """UNLISTEN at the end of a publish task: a connection that stays open between tasks would
    otherwise buffer notifications nobody reads."""
    global _listening
    if _listening is None:
        return
    raw, _listening = _listening(), None
    if raw is None or raw is not connection.connection or raw.closed:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute("UNLISTEN *")
    except DatabaseError:
        connection.close()


def wait_for_commit(timeout: float) -> Woken:
    """Return once an outbox row may have committed since the caller's last look, or after
    `timeout` seconds. The caller drains next; it must not be inside a transaction."""
    if not settings.OUTBOX_WAKE_ON_COMMIT:
        time.sleep(timeout)
        return Woken.TIMEOUT
    raw = _listen()
    if not _lock_query("pg_try_advisory_lock"):
        time.sleep(min(timeout, settings.OUTBOX_WAKE_WRITING_PAUSE_SECONDS))
        return Woken.WRITING
    try:
        with connection.wrap_database_errors:
            for _ in raw.notifies(timeout=0):  # sent while it was awake: already drained
                pass
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {_OUTBOX})")  # noqa: S608 -- model metadata
            (pending,) = cursor.fetchone()
        if pending:
            return Woken.PENDING
        with connection.wrap_database_errors:
            for _ in raw.notifies(timeout=timeout, stop_after=1):
                return Woken.NOTIFIED
        return Woken.TIMEOUT
    finally:
        try:
            _lock_query("pg_advisory_unlock")
        except DatabaseError:
            connection.close()  # the lock dies with the session
