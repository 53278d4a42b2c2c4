"""A stalled relay is visible: readiness' outbox status, the `wallet_outbox_stalled` gauge and the
admin's banner all apply the one rule (`Backlog.stalled`, OUTBOX_STALL_SECONDS), and readiness
stays 200 (see walletproject/health.py for why)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from kafka_bridge.models import OutboxEvent
from tests.conftest import make_client

pytestmark = pytest.mark.django_db


def _pending_row(age_seconds: float) -> OutboxEvent:
    event_id = uuid.uuid4()
    return OutboxEvent.objects.create(
        event_id=event_id,
        aggregatetype="wallet",
        aggregateid="w-stall",
        type="WALLET_FUNDED",
        payload={"event_id": str(event_id), "event_type": "WALLET_FUNDED", "wallet_version": 1},
        created_at=timezone.now() - timedelta(seconds=age_seconds),
    )


def _seen(client, admin_client) -> tuple[int, dict[str, Any], str, str]:
    """(readiness status code, its outbox object, the wallet_outbox_stalled sample, the admin banner)."""
    operator = make_client("stall-ops", staff=True)
    ready = operator.get("/health/ready")  # the details are staff's
    metrics = operator.get("/metrics").content.decode().splitlines()
    gauge = next(line.split()[1] for line in metrics if line.startswith("wallet_outbox_stalled "))
    page = admin_client.get("/admin/kafka_bridge/outboxevent/")
    banner = next(str(m) for m in page.context["messages"] if "Backlog:" in str(m))
    return ready.status_code, ready.json()["outbox"], gauge, banner


def test_nothing_pending_is_ok(client, admin_client):
    status, outbox, gauge, banner = _seen(client, admin_client)
    assert (status, outbox["status"], gauge) == (200, "ok", "0.0")
    assert banner.startswith("Relay ok.")


def test_a_pending_event_older_than_the_stall_threshold_is_a_stall_everywhere(client, admin_client, settings):
    settings.OUTBOX_STALL_SECONDS = 30
    row = _pending_row(age_seconds=5)  # a backlog that moves is not a stall
    status, outbox, gauge, banner = _seen(client, admin_client)
    assert (status, outbox["status"], outbox["pending"], gauge) == (200, "ok", 1, "0.0")
    assert banner.startswith("Relay ok.")

    OutboxEvent.objects.filter(id=row.id).update(created_at=timezone.now() - timedelta(seconds=120))
    status, outbox, gauge, banner = _seen(client, admin_client)
    assert status == 200, "a stall is reported, never a reason to stop taking money"
    assert (outbox["status"], outbox["pending"], gauge) == ("stalled", 1, "1.0")
    assert outbox["oldest_pending_age_seconds"] > 30
    assert banner.startswith("Relay stalled: events have waited over 30 s")

    settings.OUTBOX_STALL_SECONDS = 600  # the threshold is the setting's, in all three places
    status, outbox, gauge, banner = _seen(client, admin_client)
    assert (outbox["status"], gauge) == ("ok", "0.0")
    assert banner.startswith("Relay ok.")
