"""One history row per (wallet, version) across the change of event ids (issue #32), on the real
PostgreSQL and Kafka.

Events published before the ids were derived from the ledger carry random ids. After
`rebuild_history --from-ledger` a consumer reading them again (offset reset, new group) must skip
them by their wallet version, count and log the skips apart from plain redeliveries, and leave the
history equal to the ledger-built one; the migration adding the unique index refuses a history that
already holds a (wallet, version) twice.
"""

from __future__ import annotations

import io
import logging
import uuid
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from history.ledger_rebuild import HISTORY, rebuild_from_ledger
from history.models import HistoryEvent, VersionGap
from kafka_bridge.models import OutboxEvent

from .conftest import Topics, event_payload, project
from .test_ledger_rebuild import assert_whole, every_event_type, snapshot

UNIQUE_INDEX = "history_wallet_version_unique"
OLD_INDEX = "history_wallet_version_idx"


def old_payloads() -> list[dict[str, Any]]:
    """The outbox's events as the code before the derived ids published them: a random id each."""
    payloads = []
    for row in OutboxEvent.objects.filter(aggregatetype="wallet").order_by("id"):
        payload = dict(row.payload)
        payload["event_id"] = str(uuid.uuid4())
        payloads.append(payload)
    return payloads


def projection_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "history.projection" and r.levelno >= logging.WARNING
    ]


def test_old_random_ids_read_again_after_the_ledger_rebuild_are_skipped_by_version(
    topics: Topics, caplog: pytest.LogCaptureFixture
):
    every_event_type()
    old = old_payloads()
    produced = topics.produce_events(old)
    first = topics.consume(max_messages=produced)
    assert (first.received, first.inserted, first.version_duplicates) == (produced, produced, 0)
    assert set(HistoryEvent.objects.values_list("event_id", flat=True)) == {
        uuid.UUID(p["event_id"]) for p in old
    }

    call_command("rebuild_history", "--from-ledger", stdout=io.StringIO())
    from_ledger = snapshot()
    assert len(from_ledger) == produced
    assert not from_ledger.keys() & {uuid.UUID(p["event_id"]) for p in old}  # the ids changed

    # The consumer is reset to offset 0 and reads the old events again.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="history.projection"):
        again = topics.consume(max_messages=produced, from_beginning=True)
    assert again.received == produced
    assert (again.inserted, again.duplicates, again.version_duplicates) == (0, 0, produced)
    assert snapshot() == from_ledger  # row for row, nothing added
    assert_whole(produced)
    assert not VersionGap.objects.exists()  # a skipped version is no gap

    # Each skip says the wallet, the version and both ids (the first 20 of a batch one by one).
    warnings = projection_warnings(caplog)
    assert warnings, "the skips were not logged"
    stored = {(row["wallet_id"], row["wallet_version"]): event_id for event_id, row in from_ledger.items()}
    logged = 0
    for payload in old:
        key = (uuid.UUID(payload["wallet_id"]), payload["wallet_version"])
        line = next((w for w in warnings if payload["event_id"] in w), None)
        if line is not None:
            assert str(key[0]) in line and f"version {key[1]} " in line and str(stored[key]) in line
            logged += 1
    assert logged >= 1

    # A plain redelivery (the ids the ledger gives, as the relay publishes them now): silent, harmless.
    current = topics.produce_outbox()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="history.projection"):
        plain = topics.consume(max_messages=current)
    assert plain.received == current
    assert (plain.inserted, plain.duplicates, plain.version_duplicates) == (0, current, 0)
    assert projection_warnings(caplog) == []
    assert snapshot() == from_ledger


def test_the_swap_skips_old_ids_stored_during_the_build(topics: Topics):
    """The consumer stores old random-id events while the ledger is read: the rows copied over at
    the swap skip them by their wallet version."""
    every_event_type()
    old = old_payloads()

    def during(step: str, rows: int) -> None:
        if step == "read the ledger":
            project(old)  # the consumer's own projection code, into the live table

    result = rebuild_from_ledger(on_step=during)
    assert result.built == len(old)
    assert result.carried == 0
    assert_whole(len(old))
    assert not HistoryEvent.objects.filter(event_id__in=[p["event_id"] for p in old]).exists()


def _indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [HISTORY])
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_the_migration_refuses_a_history_holding_a_version_twice():
    from django.db.migrations.recorder import MigrationRecorder

    from history.models import HistoryEvent as Event

    assert "UNIQUE INDEX" in _indexes()[UNIQUE_INDEX]
    call_command("migrate", "history", "0004", stdout=io.StringIO())
    try:
        indexes = _indexes()
        assert UNIQUE_INDEX not in indexes and OLD_INDEX in indexes
        wallet = uuid.uuid4()
        project(_two_events_of_one_version(wallet))
        assert Event.objects.filter(wallet_id=wallet, wallet_version=0).count() == 2

        with pytest.raises(Exception, match="rebuild_history --from-ledger") as refused:
            call_command("migrate", "history", "0005", stdout=io.StringIO())
        assert f"wallet {wallet} version 0" in str(refused.value)
        indexes = _indexes()
        assert UNIQUE_INDEX not in indexes and OLD_INDEX in indexes  # nothing changed
        assert not MigrationRecorder.Migration.objects.filter(
            app="history", name="0005_wallet_version_unique"
        ).exists()
    finally:
        Event.objects.all().delete()
        call_command("migrate", "history", stdout=io.StringIO())
    indexes = _indexes()
    assert "UNIQUE INDEX" in indexes[UNIQUE_INDEX] and OLD_INDEX not in indexes


def _two_events_of_one_version(wallet: uuid.UUID) -> list[dict[str, Any]]:
    """WALLET_CREATED twice, under two ids: what an old consumer and a re-read could leave."""
    first = event_payload("WALLET_CREATED", (wallet, "dup"), 0, "0.0000", "0.0000")
    return [first, {**first, "event_id": str(uuid.uuid4())}]
