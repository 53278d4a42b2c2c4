"""A database outage under a running `consume_events`: it backs off and retries the same batch, never
commits an offset for an unsaved event, and a SIGTERM during the outage abandons the batch cleanly.

The outage is real and confined to the test's database: new connections are refused
(`ALLOW_CONNECTIONS false`) and the consumer's open ones are terminated. The services keep running.
"""

from __future__ import annotations

import signal
import uuid

import psycopg
from django.db import connection
from django.db.models import Count, Max
from psycopg import sql

from history.models import HistoryEvent, VersionGap

from .conftest import make_payloads, wait_until
from .test_group import ConsumerProcess


def _outage(on: bool) -> None:
    """Refuse (or allow again) new connections to the test database and end all but this test's."""
    db = connection.settings_dict
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (mine,) = cursor.fetchone()
    # A database's connections can only be disallowed from another database.
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        name = sql.Identifier(db["NAME"])
        if on:
            admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(name))
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> %s AND usename = current_user",
                [db["NAME"], mine],
            )
        else:
            admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(name))


def test_a_database_outage_is_waited_out_and_a_sigterm_during_one_abandons_the_batch(topics, tmp_path):
    payloads = make_payloads(40, 50)  # 2,000 events
    topics.produce_events(payloads[:1000])
    consumer = ConsumerProcess(topics, tmp_path / "consumer.log", batch_size=100)
    try:
        wait_until(
            lambda: HistoryEvent.objects.count() >= 1000, 60, f"first events stored\n{consumer.text()}"
        )

        # Outage while events keep coming: the consumer retries, then recovers by itself.
        _outage(True)
        try:
            topics.produce_events(payloads[1000:1500])
            wait_until(lambda: "batch not saved" in consumer.text(), 30, "a failed save", consumer.text)
            assert HistoryEvent.objects.count() == 1000
        finally:
            _outage(False)
        wait_until(lambda: HistoryEvent.objects.count() >= 1500, 60, "recovered", consumer.text)
        assert consumer.alive()

        # A second outage, and a SIGTERM in the middle of it: the batch is abandoned, not committed.
        failures_before = consumer.text().count("batch not saved")
        _outage(True)
        try:
            topics.produce_events(payloads[1500:])
            wait_until(
                lambda: consumer.text().count("batch not saved") > failures_before,
                30,
                "a second failed save",
                consumer.text,
            )
            assert consumer.stop(signal.SIGTERM) == 0
        finally:
            _outage(False)
        log = consumer.text()
        assert "left uncommitted and will be delivered again" in log
        assert "abandoned_batches 1" in log
        assert HistoryEvent.objects.count() == 1500
    finally:
        consumer.stop(signal.SIGKILL)

    # The abandoned events were not committed, so the next consumer of the group reads them.
    stats = topics.consume(stop_when_idle=2.0)
    assert stats.inserted == 500
    assert HistoryEvent.objects.count() == len(payloads)
    assert set(HistoryEvent.objects.values_list("event_id", flat=True)) == {
        uuid.UUID(p["event_id"]) for p in payloads
    }
    per_wallet = HistoryEvent.objects.values("wallet_id").annotate(n=Count("id"), high=Max("wallet_version"))
    assert all((w["n"], w["high"]) == (50, 49) for w in per_wallet)
    assert not VersionGap.objects.exists()
