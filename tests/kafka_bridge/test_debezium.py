"""RELAY=debezium (issue #24) end to end: Debezium's outbox event router on a real Kafka Connect
worker (distributed mode) and a logical-decoding PostgreSQL, both started by `scripts/stack`
(see conftest's `debezium_stack`). The format, ordering and no-loss tests of both relays are the
parametrised ones in test_publish.py and test_outages.py; here: the history consumer stores what
the connector sent and reconcile is clean, readiness and /metrics report the connector, and a
failed task is reported and restarted by beat's sweeper.
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from history.consumer import ConsumerOptions, HistoryConsumer
from history.models import HistoryEvent
from history.reconcile import reconcile
from kafka_bridge import debezium
from tests.conftest import make_client
from wallets import services

from .conftest import pending_count, read_topic, wait_until

pytestmark = pytest.mark.parametrize("bridge", ["debezium"], indirect=True)


def test_the_history_consumer_stores_what_the_connector_sent_and_the_books_reconcile(bridge):
    cleaner = bridge.make_worker()
    cleaner.start()
    wallets = [services.wallet_create(user_id=f"h{n}") for n in range(3)]
    for wallet in wallets:
        services.wallet_fund(wallet_id=wallet.id, amount=Decimal("50.00"), initiated_by="test")
    for n in range(12):
        services.transfer_create(
            from_wallet_id=wallets[n % 3].id,
            to_wallet_id=wallets[(n + 1) % 3].id,
            amount=Decimal("1.25"),
            initiated_by="test",
        )
    written = bridge.written()
    assert len(written) == 3 + 3 + 24
    read_topic(bridge.topic, expected=len(written), timeout=30, quiet=0.5)
    stats = HistoryConsumer(
        ConsumerOptions(group_id=f"test-cdc-{uuid.uuid4().hex[:8]}", stop_when_idle=2.0, poll_timeout=0.2)
    ).run()
    assert HistoryEvent.objects.count() == len(written), stats
    assert set(map(str, HistoryEvent.objects.values_list("event_id", flat=True))) == set(written)
    wait_until(lambda: pending_count() == 0, 30, "the captured rows were deleted")
    result = reconcile(history_grace=0.0)  # the history against the ledger, entry by entry
    assert result.ok, [check for check in result.checks if not check.ok]


def test_readiness_and_metrics_report_the_connector_and_a_failed_task_is_restarted(bridge, client: Client):
    # A task is RUNNING a moment before it opens its stream from the slot (seen on a busy machine).
    wait_until(lambda: bool(debezium.connector_state().slot_active), 30, "the task streams from the slot")
    state = debezium.connector_state()
    assert state.status == "ok" and state.tasks == ["RUNNING"] and state.slot_active
    operator = make_client("ops", staff=True)  # readiness' details are staff's
    body = operator.get("/health/ready").json()
    assert body["relay"]["status"] == "ok" and body["relay"]["connector"] == "RUNNING"
    metrics = operator.get("/metrics").content.decode()
    assert "wallet_relay_connector_up 1.0" in metrics
    assert "wallet_relay_slot_lag_bytes" in metrics
    assert _overview_connector(client).startswith(
        '<span class="ok">ok</span>: RUNNING, tasks RUNNING; slot lag '
    )

    # A task that cannot work fails: its slot's publication is gone (Connect marks it FAILED).
    name = settings.DEBEZIUM_CONNECTOR
    config = debezium.connector_config()
    broken = {**config, "publication.name": "no_such_publication"}
    debezium.connect_request("PUT", f"/connectors/{name}/config", broken)
    wait_until(lambda: debezium.connector_state().failed_tasks == [0], 60, "the task failed")
    body = operator.get("/health/ready").json()
    assert body["status"] == "ready", "a failed relay is reported, not a reason to stop the API"
    assert body["relay"]["status"] == "down" and body["relay"]["failed_tasks"] == [0]
    assert body["relay"]["error"]
    assert "wallet_relay_connector_up 0.0" in operator.get("/metrics").content.decode()
    assert _overview_connector(client).startswith('<span class="bad">down</span>: RUNNING, tasks FAILED; ')
    assert "wallet_relay_connector_failed_tasks 1.0" in operator.get("/metrics").content.decode()

    # Fixed, the failed task stays FAILED until restarted: beat's sweeper restarts it.
    debezium.connect_request("PUT", f"/connectors/{name}/config", config)
    restarted: list[str] = []

    def sweep_restarts() -> bool:
        restarted.extend(debezium.sweep()["restarted"])
        return debezium.connector_state().status == "ok"

    wait_until(sweep_restarts, 60, "the sweeper restarted the task", interval=1.0)
    assert operator.get("/health/ready").json()["relay"]["status"] == "ok"


def _overview_connector(client: Client) -> str:
    """The admin overview's Debezium connector line, as an operator sees it."""
    client.force_login(get_user_model().objects.get_or_create(username="cdcops", is_staff=True)[0])
    response = client.get("/admin/")
    assert response.status_code == 200
    html = re.sub(r"\s+", " ", response.content.decode())
    return html.split('id="overview-connector">', 1)[1].split("</td>", 1)[0]


def test_back_on_the_celery_relay_and_on_debezium_again_the_connector_reads_its_new_slot(bridge):
    """RELAY=debezium, then celery (relay_setup deletes the connector and drops the slot), then
    debezium again: Connect still keeps the connector name's offsets, an LSN before the new slot's
    start, which Debezium refuses; setup forgets them, so the connector runs and sends what comes."""
    cleaner = bridge.make_worker()
    cleaner.start()
    wallet = services.wallet_create(user_id="again")
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal("5.00"), initiated_by="test")
    wait_until(lambda: pending_count() == 0, 30, "the first slot's rows were captured and cleaned")
    cleaner.stop()

    debezium.teardown(log=print)  # RELAY=celery's relay_setup
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal("1.00"), initiated_by="test")
    debezium.setup(log=print)  # RELAY=debezium's again: the Celery relay publishes the row above first
    assert debezium.connector_state().status == "ok"
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal("2.00"), initiated_by="test")
    written = bridge.written()
    assert len(written) == 4
    received = read_topic(bridge.topic, expected=len(written), timeout=60, quiet=1.0)
    assert {dict(m.headers)["event_id"].decode() for m in received} == set(written)
    assert debezium.connector_state().status == "ok", "the task did not fail on its offsets"
