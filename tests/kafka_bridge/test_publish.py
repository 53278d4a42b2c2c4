"""The relay against the real Kafka, Redis and a real Celery worker: what reaches the topic, and how.

Each test has a topic and a Celery queue of its own (see conftest), read back with a real consumer.
A published row is deleted and counted in `RelayStats` (issue #21); a row whose send failed stays.
"""

from __future__ import annotations

import collections
import json
import random
import re
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import redis
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kafka_bridge import publisher, tasks
from kafka_bridge.models import OutboxEvent, RelayStats
from kafka_bridge.publisher import publish_pending
from kafka_bridge.selectors import outbox_backlog
from kafka_bridge.tasks import FLAG_PREFIX, flag_key
from tests.conftest import make_client
from wallets import services
from wallets.models import LedgerEntry

from .conftest import RELAYS, pending_count, published_total, read_topic, versions_in_order, wait_until

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _expected(
    event_type: str,
    wallet: dict[str, Any],
    *,
    amount: str,
    balance_after: str,
    version: int,
    occurred_at: str,
    transaction_id: str | None = None,
    counterparty: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "event_type": event_type,
        "schema_version": 2,
        "occurred_at": occurred_at,
        "wallet_id": wallet["id"],
        "user_id": wallet["user_id"],
        "currency": "USD",
        "amount": amount,
        "balance_after": balance_after,
        "wallet_version": version,
        "transaction_id": transaction_id,
        "counterparty_wallet_id": counterparty["id"] if counterparty else None,
        "counterparty_user_id": counterparty["user_id"] if counterparty else None,
        # schema_version 2 (../shared/spec/holds.md): always present, empty for plain movements.
        "held_after": "0.0000",
        "hold_id": None,
        "reverses_transaction_id": None,
        "description": None,
        "metadata": {},
        "leg_index": None,  # issue #22: every version 2 event carries it, null outside MULTI_LEG
    }


@pytest.mark.parametrize("bridge", RELAYS, indirect=True)
def test_fund_and_transfer_through_the_api_put_exactly_the_contract_events_on_the_topic(bridge):
    """Both relays (issue #24): the same messages, byte for byte, whichever publishes them."""
    worker = bridge.make_worker()
    worker.start()
    operator, alice, bob = make_client("ops", staff=True), make_client("alice"), make_client("bob")

    a = alice.post("/wallets", {"user_id": "alice"}, format="json")
    b = bob.post("/wallets", {"user_id": "bob"}, format="json")
    assert a.status_code == b.status_code == 201
    wa, wb = a.json()["data"], b.json()["data"]
    funded = operator.post(f"/wallets/{wa['id']}/fund", {"amount": "100.00"}, format="json")
    assert funded.status_code == 200
    moved = alice.post(
        f"/wallets/{wa['id']}/transfer", {"to_wallet_id": wb["id"], "amount": "30.00"}, format="json"
    )
    assert moved.status_code == 200
    out_txn, in_txn = moved.json()["data"]
    fund_txn = str(LedgerEntry.objects.get(wallet_id=wa["id"], wallet_version=1).transaction_id)

    received = read_topic(bridge.topic, expected=5, timeout=30)

    expected = [
        _expected(
            "WALLET_CREATED",
            wa,
            amount="0.0000",
            balance_after="0.0000",
            version=0,
            occurred_at=wa["created_at"],
        ),
        _expected(
            "WALLET_CREATED",
            wb,
            amount="0.0000",
            balance_after="0.0000",
            version=0,
            occurred_at=wb["created_at"],
        ),
        _expected(
            "WALLET_FUNDED",
            wa,
            amount="100.0000",
            balance_after="100.0000",
            version=1,
            occurred_at=funded.json()["data"]["updated_at"],
            transaction_id=fund_txn,
        ),
        _expected(
            "TRANSFER_OUT",
            wa,
            amount="30.0000",
            balance_after="70.0000",
            version=2,
            occurred_at=out_txn["created_at"],
            transaction_id=out_txn["reference_id"],
            counterparty=wb,
        ),
        _expected(
            "TRANSFER_IN",
            wb,
            amount="30.0000",
            balance_after="30.0000",
            version=1,
            occurred_at=in_txn["created_at"],
            transaction_id=out_txn["reference_id"],
            counterparty=wa,
        ),
    ]
    assert len(received) == 5, [m.payload["event_type"] for m in received]
    by_type_and_wallet = {(m.payload["event_type"], m.key): m for m in received}
    written = bridge.written()
    assert len(written) == 5
    for want in expected:
        message = by_type_and_wallet[(want["event_type"], want["wallet_id"])]
        payload = message.payload
        event_id = payload.pop("event_id")
        assert TIMESTAMP.match(payload["occurred_at"])
        if want["event_type"] == "WALLET_CREATED":
            # The wallet row stamps its own created_at (auto_now_add) a moment after the event's.
            gap = _instant(want.pop("occurred_at")) - _instant(payload.pop("occurred_at"))
            assert timedelta(0) <= gap < timedelta(seconds=1)
        assert payload == want
        assert event_id in written
        assert message.key == want["wallet_id"]
        assert message.headers == [
            ("event_id", event_id.encode()),
            ("event_type", want["event_type"].encode()),
            ("schema_version", b"2"),
        ]
        # Compact UTF-8 JSON: re-encoding compactly gives the very bytes on the topic.
        assert message.value == json.dumps(json.loads(message.value), separators=(",", ":")).encode()
    # Every event of a wallet on one partition, in version order.
    for wallet in (wa, wb):
        partitions = {m.partition for m in received if m.key == wallet["id"]}
        assert len(partitions) == 1
    assert versions_in_order(received) == {wa["id"]: [0, 1, 2], wb["id"]: [0, 1]}
    if bridge.relay == "debezium":  # beat's sweeper deletes what the connector captured
        wait_until(lambda: pending_count() == 0, 30, "the captured rows were deleted")
    assert pending_count() == 0, "each row was deleted once Kafka had it"
    assert RelayStats.objects.get().published_total == 5
    if bridge.relay == "celery":
        assert "kafka_bridge.publish_outbox" in worker.tail(200)
    else:
        assert "kafka_bridge.publish_outbox[" not in worker.tail(200), "no publish task ran in this mode"
        assert "kafka_bridge.sweep_outbox[" in worker.tail(200)


def _instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def test_commits_coalesce_into_one_pending_publish_task(bridge):
    """No worker consumes the queue yet: 40 commits leave exactly one task and one flag behind."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    wallet = services.wallet_create(user_id="carol")
    for _ in range(39):
        services.wallet_fund(wallet_id=wallet.id, amount=Decimal(1), initiated_by="test")
    assert OutboxEvent.objects.count() == 40
    assert client.llen(bridge.queue) == 1, "every commit after the first found the flag set"
    assert flag_key() == FLAG_PREFIX + bridge.queue
    assert client.exists(flag_key()) == 1
    assert 0 < client.ttl(flag_key()) <= settings.OUTBOX_COALESCE_SECONDS

    worker = bridge.make_worker(OUTBOX_SWEEP_INTERVAL_SECONDS="3600")  # the task alone, no sweeper help
    worker.start()
    wait_until(lambda: pending_count() == 0, 30, "the coalesced task published everything")
    # The task lingers (OUTBOX_LINGER_SECONDS) for more commits, then clears the flag and ends.
    wait_until(lambda: client.exists(flag_key()) == 0, 10, "the task clears the flag when it is done")
    received = read_topic(bridge.topic, expected=40, timeout=20, quiet=0.5)
    assert versions_in_order(received) == {str(wallet.id): list(range(40))}


class _RedisAsks:
    """Counts this process's commit-time calls to Redis (`request_publish`)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self.at: list[float] = []  # when each call happened (monotonic), for the failure message
        real = tasks.request_publish

        def counted(*args: Any, **kwargs: Any) -> None:
            self.count += 1
            self.at.append(time.monotonic())
            real(*args, **kwargs)

        monkeypatch.setattr(tasks, "request_publish", counted)


def _promise_ahead(client: redis.Redis) -> bool:
    flag = client.get(flag_key())
    return flag is not None and float(flag) > time.time()


def test_a_running_relay_promises_ahead_so_commits_skip_redis_and_none_is_missed(bridge, monkeypatch):
    """Under a steady stream of commits the task writes a promise into its flag; this process reads
    it and stops asking Redis after most commits, and the task alone (no sweeper) publishes all."""
    worker = bridge.make_worker(OUTBOX_SWEEP_INTERVAL_SECONDS="3600")
    worker.start()
    started_by = time.monotonic()
    client = redis.Redis.from_url(settings.REDIS_URL)
    wallet = services.wallet_create(user_id="dave")
    commits = 1
    # Until the task has started and drained once, its flag holds no promise and every commit asks
    # Redis, as it must (on a loaded machine that start took over a second). Measure the running task.
    while not _promise_ahead(client):
        services.wallet_fund(wallet_id=wallet.id, amount=Decimal(1), initiated_by="test")
        commits += 1
        assert time.monotonic() < started_by + 30, "the task never wrote a promise into its flag"
    asks = _RedisAsks(monkeypatch)
    promises_seen, first_measured = 0, commits
    started = time.monotonic()
    stop_at = started + 3
    while time.monotonic() < stop_at:
        services.wallet_fund(wallet_id=wallet.id, amount=Decimal(1), initiated_by="test")
        commits += 1
        promises_seen += _promise_ahead(client)
    assert promises_seen > 0, "the running task wrote a promise ahead of now into its flag"
    measured = commits - first_measured
    assert 1 <= asks.count <= measured // 4, (
        f"{asks.count} Redis calls for {measured} commits, per tenth of a second: "
        f"{collections.Counter(int((at - started) * 10) for at in asks.at)}"
    )
    wait_until(lambda: pending_count() == 0, 10, "the promising task published every commit")
    received = read_topic(bridge.topic, expected=commits, timeout=20, quiet=0.5)
    assert versions_in_order(received) == {str(wallet.id): list(range(commits))}


def test_no_commit_waits_for_the_sweeper_wherever_it_lands_in_a_relays_life(bridge, monkeypatch, settings):
    """Commits in pairs at random moments of a task's life (starting, draining, promising, lingering,
    clearing its flag, gone), each pair waited for before the next: none is left to the sweeper."""
    settings.OUTBOX_CLOCK_SKEW_SECONDS = 0  # one host: this process trusts a promise to its end
    worker = bridge.make_worker(
        OUTBOX_SWEEP_INTERVAL_SECONDS="3600", OUTBOX_LINGER_SECONDS="0.3", OUTBOX_RELAY_PROMISE_SECONDS="0.3"
    )
    worker.start()
    asks = _RedisAsks(monkeypatch)
    wallet = services.wallet_create(user_id="erin")
    wait_until(lambda: pending_count() == 0, 10, "the wallet's creation was published")
    rng = random.Random(13)
    commits = 0
    for probe in range(30):
        time.sleep(rng.uniform(0, 0.4))
        for _ in range(2):
            services.wallet_fund(wallet_id=wallet.id, amount=Decimal(1), initiated_by="test")
            commits += 1
            time.sleep(rng.uniform(0, 0.05))
        wait_until(lambda: pending_count() == 0, 2, f"probe {probe}: published without the sweeper", 0.02)
    assert asks.count < commits, "some commits skipped Redis on a promise"
    received = read_topic(bridge.topic, expected=commits + 1, timeout=20, quiet=0.5)
    assert versions_in_order(received) == {str(wallet.id): list(range(commits + 1))}


def _row(wallet: str, version: int, **extra: Any) -> OutboxEvent:
    """A pending outbox row written directly (no commit hook): only the relay in this test sends it."""
    event_id = uuid.uuid4()
    payload = {
        "event_id": str(event_id),
        "event_type": "WALLET_FUNDED",
        "schema_version": 1,
        "wallet_id": wallet,
        "wallet_version": version,
        **extra,
    }
    return OutboxEvent.objects.create(
        event_id=event_id,
        aggregatetype="wallet",
        aggregateid=wallet,
        type="WALLET_FUNDED",
        payload=payload,
        created_at=timezone.now(),
    )


def test_a_wallet_whose_event_is_refused_keeps_its_later_events_back_and_others_go(bridge):
    """The producer refuses an over-large message (librdkafka's own 1 MB limit): that row and the
    wallet's later rows stay in the outbox, unsent; another wallet's row is published and deleted."""
    stuck, other = str(uuid.uuid4()), str(uuid.uuid4())
    first = _row(stuck, 1, blob="x" * 1_100_000)
    second = _row(stuck, 2)
    third = _row(other, 1)
    fourth = _row(stuck, 3)

    result = publish_pending()

    assert (result.published, result.failed) == (1, 1)
    first.refresh_from_db()
    assert first.status == "failing"
    assert first.attempts == 1
    assert "produce failed" in first.last_error
    for later in (second, fourth):
        later.refresh_from_db()
        assert later.status == "pending"
        assert later.attempts == 0
    assert set(OutboxEvent.objects.values_list("id", flat=True)) == {first.id, second.id, fourth.id}
    assert not OutboxEvent.objects.filter(id=third.id).exists(), "the published row was deleted"
    assert published_total() == 1
    assert [m.key for m in read_topic(bridge.topic, expected=1, timeout=10, quiet=1)] == [other]

    # Once the row can be sent, the wallet's events follow in order.
    OutboxEvent.objects.filter(id=first.id).update(payload={**first.payload, "blob": "small"})
    assert publish_pending().published == 3
    assert pending_count() == 0
    assert published_total() == 4
    received = read_topic(bridge.topic, expected=4, timeout=10, quiet=1)
    assert versions_in_order(received) == {other: [1], stuck: [1, 2, 3]}


def test_a_fatal_producer_error_fails_the_batch_and_the_producer_is_rebuilt(bridge, settings):
    """A topic whose brokers take at most 2 KiB: a larger message is rejected by Kafka, which an
    idempotent, gap-less producer cannot survive. Nothing is deleted, nothing is out of order."""
    small = f"{bridge.topic}-small"
    admin = AdminClient({"bootstrap.servers": settings.KAFKA_BROKERS})
    admin.create_topics(
        [NewTopic(small, num_partitions=1, replication_factor=1, config={"max.message.bytes": "2048"})]
    )[small].result(timeout=30)
    settings.KAFKA_TOPIC = small  # the relay reads the topic per batch: the override applies
    try:
        wallet = str(uuid.uuid4())
        big = _row(wallet, 1, blob="x" * 5000)
        later = _row(wallet, 2)
        before = publisher.get_producer()

        result = publish_pending()

        assert result.published == 0
        assert result.delivery_failed
        assert before.fatal_error is not None
        assert set(OutboxEvent.objects.values_list("id", flat=True)) == {big.id, later.id}
        assert published_total() == 0
        big.refresh_from_db()
        later.refresh_from_db()
        assert (big.status, later.status) == ("failing", "pending")
        assert (big.attempts, later.attempts) == (1, 0)
        assert "Message size too large" in big.last_error or "gap" in big.last_error.lower()

        OutboxEvent.objects.filter(id=big.id).update(payload={**big.payload, "blob": "small"})
        assert publish_pending().published == 2
        assert (pending_count(), published_total()) == (0, 2)
        assert publisher.get_producer() is not before
        received = read_topic(small, expected=2, timeout=10, quiet=1)
        assert [m.payload["wallet_version"] for m in received] == [1, 2]
    finally:
        admin.delete_topics([small])[small].result(timeout=30)


def test_only_one_relay_drains_at_a_time(bridge):
    """Another session holding the relay lock (a relay mid-batch elsewhere): this one returns at once."""
    row = _row(str(uuid.uuid4()), 1)
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"], dbname=db["NAME"]
    ) as other:
        with other.transaction():
            other.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [publisher.RELAY_LOCK_NAME]
            )
            started = time.monotonic()
            result = publish_pending()
            assert time.monotonic() - started < 1.0
            assert result.locked_out
            assert (result.claimed, result.published) == (0, 0)
            row.refresh_from_db()
            assert row.status == "pending"
        assert publish_pending().published == 1
        assert (pending_count(), published_total()) == (0, 1)


def test_no_transaction_is_open_while_kafka_answers(bridge, settings):
    """The relay waits for Kafka (here: a broker address nobody listens on, so no ack comes before
    the delivery timeout) with no database transaction open; the row stays in the outbox, its
    failure noted."""
    real_brokers, settings.KAFKA_BROKERS = settings.KAFKA_BROKERS, "127.0.0.1:1"
    settings.OUTBOX_DELIVERY_TIMEOUT_SECONDS = 2.0
    publisher._producer = None  # the timeout is the producer's own setting: build one with it
    row = _row(str(uuid.uuid4()), 1)
    db = connection.settings_dict
    seen: list[tuple[str, float]] = []
    stop = threading.Event()

    def watch() -> None:
        with psycopg.connect(
            host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"], dbname=db["NAME"]
        ) as watcher:
            watcher.autocommit = True
            while not stop.is_set():
                seen.extend(
                    watcher.execute(
                        """
                        SELECT state, EXTRACT(EPOCH FROM now() - xact_start)::float FROM pg_stat_activity
                         WHERE datname = current_database() AND pid <> pg_backend_pid()
                           AND xact_start IS NOT NULL
                        """
                    ).fetchall()
                )
                time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        started = time.monotonic()
        result = publish_pending()
        waited = time.monotonic() - started
    finally:
        stop.set()
        watcher.join()
        publisher._producer = None
        settings.KAFKA_BROKERS = real_brokers  # the fixture's teardown deletes the topics
    assert waited >= 2.0, "the relay did wait for Kafka's answer"
    assert result.delivery_failed and result.published == 0
    long_transactions = [age for _state, age in seen if age > 1.0]
    assert not long_transactions, f"a transaction stayed open {max(long_transactions):.1f}s"
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failing", 1)
    assert "delivery failed" in row.last_error or "no delivery report" in row.last_error
    assert published_total() == 0


def test_an_empty_outbox_costs_one_statement_and_takes_no_lock(bridge):
    """The relay looks every few milliseconds under load (issue #37): an empty outbox is one
    statement, without the lock, so even a relay lock held elsewhere does not lock it out. With rows
    the lock is taken by the same statement, and released after the drain."""
    db = connection.settings_dict
    with (
        psycopg.connect(
            host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"], dbname=db["NAME"]
        ) as other,
        other.transaction(),
    ):
        other.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [publisher.RELAY_LOCK_NAME])
        with CaptureQueriesContext(connection) as empty:
            result = publish_pending()
        assert not result.locked_out and result.claimed == 0
    assert len(empty.captured_queries) == 1
    for version in (1, 2, 3):
        _row("w-short", version)
    with CaptureQueriesContext(connection) as drain:
        result = publish_pending(batch_size=10)
    assert (result.published, result.batches, result.locked_out) == (3, 1, False)
    statements = [q["sql"] for q in drain.captured_queries]
    assert "pg_try_advisory_lock" in statements[0] and "outboxevent" in statements[0]
    assert "pg_advisory_unlock" in statements[-1]
    assert pending_count() == 0


def test_a_drain_deletes_exactly_the_rows_kafka_acknowledged_and_counts_them(bridge):
    """Delete on publish (issue #21): after a drain the outbox holds only the rows Kafka did not
    take (the refused one with its attempt and error, the wallet's later one behind it); RelayStats
    counts exactly the deleted rows, which are exactly the events on the topic."""
    sent = [_row(wallet, version) for version in range(1, 6) for wallet in ("w-a", "w-b", "w-c")]
    refused = _row("w-stuck", 1, blob="x" * 1_100_000)  # over librdkafka's 1 MB: produce() refuses it
    behind = _row("w-stuck", 2)

    result = publish_pending(batch_size=4)  # several batches, each deleting what it delivered

    assert (result.published, result.failed, result.batches) == (15, 1, 4)
    left = {row.id: row for row in OutboxEvent.objects.all()}
    assert set(left) == {refused.id, behind.id}
    assert (left[refused.id].status, left[refused.id].attempts) == ("failing", 1)
    assert "produce failed" in left[refused.id].last_error
    assert (left[behind.id].status, left[behind.id].attempts) == ("pending", 0)
    stats = RelayStats.objects.get()
    assert stats.published_total == 15
    assert stats.last_published_at is not None
    backlog = outbox_backlog()
    assert (backlog.pending, backlog.failing, backlog.published_total) == (2, 1, 15)
    on_topic = read_topic(bridge.topic, expected=15, timeout=10, quiet=1)
    assert sorted(m.payload["event_id"] for m in on_topic) == sorted(str(row.event_id) for row in sent)

    # Only a row the statement deletes is counted: settling the same rows again adds nothing.
    with transaction.atomic():
        publisher._delete_published([row.id for row in sent], timezone.now())
    assert RelayStats.objects.get().published_total == 15

    # Once the refused row can be sent, the wallet's rows follow and the outbox is empty.
    OutboxEvent.objects.filter(id=refused.id).update(payload={**refused.payload, "blob": "small"})
    assert publish_pending().published == 2
    assert not OutboxEvent.objects.exists()
    assert RelayStats.objects.get().published_total == 17 == len(bridge.written())
    received = read_topic(bridge.topic, expected=17, timeout=10, quiet=1)
    assert versions_in_order(received)["w-stuck"] == [1, 2]


def test_metrics_need_a_staff_token_and_report_backlog_age_and_published_total(bridge, client):
    staff, user = make_client("metrics-ops", staff=True), make_client("dave")
    assert client.get("/metrics").status_code == 401
    assert user.get("/metrics").status_code == 403

    _row(str(uuid.uuid4()), 1)
    OutboxEvent.objects.update(created_at=datetime(2020, 1, 1, tzinfo=UTC))
    response = staff.get("/metrics/", HTTP_ACCEPT="text/plain")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    values = _samples(response.content.decode())
    assert values["wallet_outbox_pending_events"] == 1
    assert values["wallet_outbox_oldest_pending_age_seconds"] > 365 * 86400
    assert values["wallet_outbox_published_events_total"] == 0

    assert publish_pending().published == 1
    values = _samples(staff.get("/metrics").content.decode())
    assert values["wallet_outbox_pending_events"] == 0
    assert values["wallet_outbox_oldest_pending_age_seconds"] == 0
    assert values["wallet_outbox_published_events_total"] == 1


def _samples(text: str) -> dict[str, float]:
    assert "# TYPE wallet_outbox_published_events_total counter" in text
    return {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def test_readiness_reports_the_backlog_without_failing_on_it(bridge):
    for version in range(3):
        _row("w-backlog", version)
    response = make_client("ready-ops", staff=True).get("/health/ready")  # the details are staff's
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["outbox"]["pending"] == 3
    assert body["outbox"]["failing"] == 0
    assert body["outbox"]["oldest_pending_age_seconds"] >= 0


@pytest.mark.parametrize("search", ["by-wallet", "by-event"])
def test_admin_lists_the_backlog_with_status_and_queues_publish_now(bridge, admin_client, search):
    """The page lists what is still to be published, pending or failing; once the relay has
    published it the list is empty and the banner counts it."""
    rows = [_row("w-admin", version) for version in range(3)]
    OutboxEvent.objects.filter(id=rows[0].id).update(attempts=2, last_error="delivery failed: test")
    changelist = "/admin/kafka_bridge/outboxevent/"
    listing = admin_client.get(changelist, {"status": "pending"})
    assert listing.status_code == 200
    assert listing.content.count(b">pending</b>") == 2
    failing = admin_client.get(changelist, {"status": "failing"})
    assert failing.context["cl"].result_count == 1
    assert b">failing</b>" in failing.content
    assert b"delivery failed: test" in failing.content
    everything = admin_client.get(changelist)
    assert everything.context["cl"].result_count == 3
    assert b"?status=pending" in everything.content
    assert b"?status=published" not in everything.content, "a published row is gone: no such filter"
    term = "w-admin" if search == "by-wallet" else str(rows[1].event_id)
    found = admin_client.get(changelist, {"q": term})
    assert found.status_code == 200
    assert found.context["cl"].result_count == (3 if search == "by-wallet" else 1)
    assert admin_client.get(f"{changelist}{rows[0].id}/change/").status_code == 200

    # "Publish now" queues the relay task (no worker runs yet) instead of publishing in the request.
    done = admin_client.post(
        changelist, {"action": "publish_now", "_selected_action": [rows[0].id]}, follow=True
    )
    assert done.status_code == 200
    assert "Relay task queued" in done.content.decode()
    assert pending_count() == 3, "the web request published nothing itself"
    assert redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(bridge.queue) == 1
    worker = bridge.make_worker()
    worker.start()
    wait_until(lambda: pending_count() == 0, 30, "the worker publishes every pending row")
    assert "kafka_bridge.publish_outbox" in worker.log.read_text()
    after = admin_client.get(changelist)
    assert after.context["cl"].result_count == 0
    banner = next(str(m) for m in after.context["messages"] if "Backlog:" in str(m))
    assert "Backlog: 0 pending (0 failing)" in banner
    assert "3 published in all" in banner
    # A published row's page is gone; the admin says so and goes back to its index.
    assert admin_client.get(f"{changelist}{rows[0].id}/change/").status_code == 302


def test_a_producer_that_gets_no_acknowledgement_batch_after_batch_is_replaced(bridge, settings):
    """A producer that Kafka stops acknowledging (here: a broker address nobody listens on; in the
    field, an idempotent producer whose sequence numbers a restarted broker no longer knows) is
    replaced after OUTBOX_PRODUCER_REBUILD_AFTER_FAILED_BATCHES failed batches, without anyone
    restarting the worker; a batch that gets an acknowledgement resets the count. Nothing is lost."""
    real_brokers, settings.KAFKA_BROKERS = settings.KAFKA_BROKERS, "127.0.0.1:1"
    settings.OUTBOX_DELIVERY_TIMEOUT_SECONDS = 1.0
    settings.OUTBOX_PRODUCER_REBUILD_AFTER_FAILED_BATCHES = 2
    publisher._producer = None
    row = _row(str(uuid.uuid4()), 1)
    try:
        first = publisher.get_producer()
        assert publish_pending().delivery_failed
        assert (publisher.get_producer() is first, first.failed_batches) == (True, 1)
        assert publish_pending().delivery_failed
        assert first.failed_batches == 2
        settings.KAFKA_BROKERS = real_brokers  # Kafka answers again, but only a new producer sees it
        second = publisher.get_producer()
        assert second is not first and second.failed_batches == 0
        assert publish_pending().published == 1
        assert second.failed_batches == 0
    finally:
        publisher._producer = None
        settings.KAFKA_BROKERS = real_brokers
    assert not OutboxEvent.objects.filter(id=row.id).exists()
