"""Writing a batch of events into the history table: one transaction, one insert, duplicates ignored.

Why raw SQL: a batch is one `INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING`
with one parameter per column, whatever the batch size; building 500 model instances per batch
would cost more Python than the insert costs PostgreSQL. `ON CONFLICT` is what makes redelivery
(at-least-once Kafka, a crash before the offset commit, a rebalance) harmless. The conflict has no
target: a row is skipped when its `event_id` is stored (a redelivery) or its `(wallet_id,
wallet_version)` is (the same event under another id: published with a random id before the ids
were derived from the ledger, read again after `rebuild_history --from-ledger`). The two are told
apart only when the insert skipped something (one more query: which id each version is stored
under), and the second kind is counted and logged on its own. (`RETURNING` the inserted ids would
tell them apart too, but costs every batch, measured a few percent of the insert.)

The same transaction records the version gaps the batch reveals and the dead letters it produced,
so a batch is either wholly saved (and its offsets may be committed) or not at all.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from .decoding import HistoryRow, Origin
from .models import DeadLetter, HistoryEvent, VersionGap

logger = logging.getLogger(__name__)

HISTORY = HistoryEvent._meta.db_table
GAPS = VersionGap._meta.db_table
DEAD_LETTERS = DeadLetter._meta.db_table

_INSERT = f"""
    INSERT INTO {HISTORY} (event_id, event_type, wallet_id, user_id, currency, amount, balance_after,
                           wallet_version, transaction_id, counterparty_wallet_id, counterparty_user_id,
                           occurred_at, recorded_at, payload, topic, "partition", "offset",
                           schema_version, held_after, hold_id, reverses_transaction_id, description,
                           metadata, leg_index)
    SELECT e, t, w, u, c, a, b, v, x, cw, cu, o, now(), p::jsonb, tp, pa, off,
           sv, ha, h, r, d, m::jsonb, li
      FROM unnest(%b::uuid[], %b::text[], %b::uuid[], %b::text[], %b::text[], %b::numeric[],
                  %b::numeric[], %b::bigint[], %b::uuid[], %b::uuid[], %b::text[], %b::timestamptz[],
                  %b::text[], %b::text[], %b::int[], %b::bigint[],
                  %b::smallint[], %b::numeric[], %b::uuid[], %b::uuid[], %b::text[], %b::text[],
                  %b::smallint[])
           AS u(e, t, w, u, c, a, b, v, x, cw, cu, o, p, tp, pa, off, sv, ha, h, r, d, m, li)
    ON CONFLICT DO NOTHING
"""  # noqa: S608 -- table names come from model metadata, every value is a parameter
_COLUMNS = 23

_MAX_CACHED_WALLETS = 100_000


@dataclass(frozen=True)
class Gap:
    wallet_id: uuid.UUID
    first_missing: int
    last_missing: int
    seen_event_id: uuid.UUID
    origin: Origin


@dataclass(frozen=True)
class DeadLetterRecord:
    origin: Origin
    key: str
    error: str


@dataclass(frozen=True)
class VersionDuplicate:
    """An event skipped because its wallet version is stored under another event id."""

    wallet_id: uuid.UUID
    wallet_version: int
    event_id: uuid.UUID  # the skipped event's
    stored_event_id: uuid.UUID  # the stored row's
    origin: Origin


@dataclass
class SaveResult:
    inserted: int = 0
    duplicates: int = 0  # events already stored under their own id (redeliveries)
    version_duplicates: list[VersionDuplicate] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    resolved_gaps: int = 0


class VersionTracker:
    """The highest version stored per wallet, to tell a missing event from a late or repeated one.

    A cache in front of the table: a wallet not in it is looked up once (one query per batch for
    all such wallets). Each wallet's events live on one partition, owned by one consumer at a
    time, so the cache is exact between rebalances; `forget()` is called on every rebalance.
    """

    def __init__(self) -> None:
        self._last: dict[uuid.UUID, int] = {}

    def forget(self) -> None:
        self._last.clear()

    def _load(self, wallet_ids: set[uuid.UUID]) -> dict[uuid.UUID, int]:
        known = {w: self._last[w] for w in wallet_ids if w in self._last}
        unknown = [w for w in wallet_ids if w not in known]
        if unknown:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT wallet_id, max(wallet_version) FROM {HISTORY} "  # noqa: S608
                    "WHERE wallet_id = ANY(%s::uuid[]) GROUP BY wallet_id",
                    [unknown],
                )
                found = dict(cursor.fetchall())
            for wallet_id in unknown:
                known[wallet_id] = found.get(wallet_id, -1)
        return known

    def detect(self, rows: Sequence[HistoryRow]) -> tuple[list[Gap], dict[uuid.UUID, int]]:
        """Gaps revealed by `rows` (in partition order), and each wallet's highest version after them."""
        last = self._load({row.wallet_id for row in rows})
        gaps: list[Gap] = []
        for row in rows:
            previous = last[row.wallet_id]
            if row.wallet_version > previous + 1:
                gaps.append(
                    Gap(row.wallet_id, previous + 1, row.wallet_version - 1, row.event_id, row.origin)
                )
            if row.wallet_version > previous:
                last[row.wallet_id] = row.wallet_version
        return gaps, last

    def saved(self, last: dict[uuid.UUID, int]) -> None:
        """Called after the batch committed."""
        if len(self._last) > _MAX_CACHED_WALLETS:
            self._last.clear()
        self._last.update(last)


def unique_rows(rows: Sequence[HistoryRow]) -> list[HistoryRow]:
    """The first copy of each event in the batch (the same event may be in a batch twice)."""
    seen: set[uuid.UUID] = set()
    result = []
    for row in rows:
        if row.event_id not in seen:
            seen.add(row.event_id)
            result.append(row)
    return result


def insert_rows(rows: Sequence[HistoryRow]) -> int:
    """Insert the rows, skipping those whose event id or wallet version is stored; how many were new."""
    if not rows:
        return 0
    columns: list[list[object]] = [[] for _ in range(_COLUMNS)]
    for row in rows:
        values = (
            row.event_id,
            row.event_type,
            row.wallet_id,
            row.user_id,
            row.currency,
            row.amount,
            row.balance_after,
            row.wallet_version,
            row.transaction_id,
            row.counterparty_wallet_id,
            row.counterparty_user_id,
            row.occurred_at,
            row.payload,
            row.origin.topic,
            row.origin.partition,
            row.origin.offset,
            row.schema_version,
            row.held_after,
            row.hold_id,
            row.reverses_transaction_id,
            row.description,
            None if row.metadata is None else json.dumps(row.metadata, ensure_ascii=False),
            row.leg_index,
        )
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    # A server-side-binding psycopg cursor with binary parameters: psycopg's C dumpers turn each
    # column into one binary array, where Django's client-side cursor would quote every element.
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_INSERT, columns)
        inserted: int = cursor.rowcount
    return inserted


def version_duplicates(rows: Sequence[HistoryRow]) -> list[VersionDuplicate]:
    """Of these rows (just inserted or skipped), those whose wallet version is stored under another
    id; the others are stored under their own (inserted, or redelivered). Called only when the
    insert skipped something."""
    if not rows:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT h.wallet_id, h.wallet_version, h.event_id FROM {HISTORY} AS h
                  JOIN unnest(%s::uuid[], %s::bigint[]) AS u(w, v)
                    ON h.wallet_id = u.w AND h.wallet_version = u.v""",  # noqa: S608
            [[row.wallet_id for row in rows], [row.wallet_version for row in rows]],
        )
        stored = {(w, v): e for w, v, e in cursor.fetchall()}
    found = []
    for row in rows:
        stored_id = stored.get((row.wallet_id, row.wallet_version))
        if stored_id is not None and stored_id != row.event_id:
            found.append(
                VersionDuplicate(row.wallet_id, row.wallet_version, row.event_id, stored_id, row.origin)
            )
    return found


def _insert_gaps(gaps: Sequence[Gap]) -> None:
    if not gaps:
        return
    VersionGap.objects.bulk_create(
        [
            VersionGap(
                wallet_id=gap.wallet_id,
                first_missing=gap.first_missing,
                last_missing=gap.last_missing,
                seen_event_id=gap.seen_event_id,
                topic=gap.origin.topic,
                partition=gap.origin.partition,
                offset=gap.origin.offset,
                detected_at=timezone.now(),
            )
            for gap in gaps
        ],
        ignore_conflicts=True,
    )


def _resolve_gaps(wallet_ids: set[uuid.UUID]) -> int:
    """Close the open gaps of these wallets whose missing versions are all stored now.

    Cheap when there is nothing to close: open gaps have a partial index of their own."""
    if not wallet_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {GAPS} AS g SET resolved_at = now()
             WHERE g.resolved_at IS NULL AND g.wallet_id = ANY(%s::uuid[])
               AND (SELECT count(DISTINCT h.wallet_version) FROM {HISTORY} AS h
                     WHERE h.wallet_id = g.wallet_id
                       AND h.wallet_version BETWEEN g.first_missing AND g.last_missing)
                   = g.last_missing - g.first_missing + 1
            """,  # noqa: S608
            [list(wallet_ids)],
        )
        resolved: int = cursor.rowcount
    return resolved


def record_dead_letters(records: Sequence[DeadLetterRecord]) -> None:
    if records:
        DeadLetter.objects.bulk_create(
            [
                DeadLetter(
                    topic=r.origin.topic,
                    partition=r.origin.partition,
                    offset=r.origin.offset,
                    key=r.key,
                    error=r.error,
                    dead_lettered_at=timezone.now(),
                )
                for r in records
            ],
            ignore_conflicts=True,
        )


def already_dead_lettered(origins: Sequence[Origin]) -> set[Origin]:
    """Which of these messages a previous delivery of the same batch already sent to the DLQ."""
    if not origins:
        return set()
    found = DeadLetter.objects.filter(
        topic__in={o.topic for o in origins},
        partition__in={o.partition for o in origins},
        offset__in={o.offset for o in origins},
    ).values_list("topic", "partition", "offset")
    return {Origin(*row) for row in found} & set(origins)


def save_batch(
    rows: Sequence[HistoryRow], dead_letters: Sequence[DeadLetterRecord], tracker: VersionTracker
) -> SaveResult:
    """Store a batch in one transaction (a savepoint when the caller already holds one)."""
    unique = unique_rows(rows)
    result = SaveResult()
    with transaction.atomic():
        gaps, last = tracker.detect(unique)
        result.inserted = insert_rows(unique)
        if result.inserted < len(unique):
            result.version_duplicates = version_duplicates(unique)
        result.duplicates = len(rows) - result.inserted - len(result.version_duplicates)
        _insert_gaps(gaps)
        record_dead_letters(dead_letters)
        result.resolved_gaps = _resolve_gaps(set(last))
    result.gaps = gaps
    transaction.on_commit(lambda: tracker.saved(last))
    for gap in gaps:
        logger.warning(
            "history: version gap in wallet %s: versions %d..%d not seen before version %d "
            "(event %s at %s[%d]@%d)",
            gap.wallet_id,
            gap.first_missing,
            gap.last_missing,
            gap.last_missing + 1,
            gap.seen_event_id,
            gap.origin.topic,
            gap.origin.partition,
            gap.origin.offset,
        )
    _log_version_duplicates(result.version_duplicates)
    return result


_LOGGED_PER_BATCH = 20


def _log_version_duplicates(found: Sequence[VersionDuplicate]) -> None:
    """A warning per skipped event (the first few of a batch, then their number): such an event is
    harmless but says the stream and the history disagree on its id."""
    for dup in found[:_LOGGED_PER_BATCH]:
        logger.warning(
            "history: event %s skipped: wallet %s version %d is stored as event %s "
            "(an id from before the ids were derived from the ledger?) (%s[%d]@%d)",
            dup.event_id,
            dup.wallet_id,
            dup.wallet_version,
            dup.stored_event_id,
            dup.origin.topic,
            dup.origin.partition,
            dup.origin.offset,
        )
    if len(found) > _LOGGED_PER_BATCH:
        logger.warning(
            "history: %d more events of this batch skipped: their wallet versions are stored under "
            "other event ids",
            len(found) - _LOGGED_PER_BATCH,
        )


def refused_rows(rows: Sequence[HistoryRow]) -> list[tuple[HistoryRow, str]]:
    """The rows PostgreSQL refuses, found one by one in a transaction that is then rolled back.

    Only called after a batch insert failed with a data or integrity error: validation should make
    that impossible, so this is the safety net that keeps one bad row from blocking the partition.
    """
    refused: list[tuple[HistoryRow, str]] = []
    with transaction.atomic():
        for row in rows:
            try:
                with transaction.atomic():
                    insert_rows([row])
            except (DataError, IntegrityError) as exc:
                refused.append((row, f"the database refused the event: {str(exc).splitlines()[0][:300]}"))
        transaction.set_rollback(True)
    return refused
