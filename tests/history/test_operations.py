"""The operator's tools: `kafka_lag` and the lag functions, `consume_events` options, the admin pages."""

from __future__ import annotations

import io
import re
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from history.lag import consumer_lag, consumer_lag_summary
from history.models import HistoryEvent, ReconcileRun
from history.reconcile import reconcile, store
from history.selectors import history_status
from wallets import services

from .conftest import make_payloads, project_outbox


def test_lag_per_partition_before_and_after_consuming(topics, settings):
    payloads = make_payloads(12, 5)
    topics.produce_events(payloads)
    before = consumer_lag(group_id=topics.group, topic=topics.topic)
    assert [p.partition for p in before] == list(range(6))
    assert all(p.committed is None for p in before)
    assert sum(p.lag for p in before) == sum(p.end for p in before) == len(payloads)

    topics.consume(max_messages=len(payloads))
    after = consumer_lag(group_id=topics.group, topic=topics.topic)
    assert all(p.lag == 0 for p in after)
    assert all(p.committed == p.end for p in after if p.end > 0)  # empty partitions: nothing to commit
    out = io.StringIO()
    call_command("kafka_lag", stdout=out)  # settings point at the test's topic and group
    table = out.getvalue().splitlines()
    assert table[0] == f"group {topics.group}, topic {topics.topic}"
    assert table[1].split() == ["partition", "committed", "end", "lag"]
    assert len(table) == 2 + 6 + 1
    assert table[-1].split() == ["total", "0"]
    summary = consumer_lag_summary()
    assert {key: summary.pop(key) for key in ("group", "topic", "total", "max", "partitions")} == {
        "group": topics.group,
        "topic": topics.topic,
        "total": 0,
        "max": 0,
        "partitions": {str(p): 0 for p in range(6)},
    }
    # The test's topic has the broker's default retention (not kafka_setup's): reported as finite.
    assert summary["retention"]["topic"] == topics.topic
    assert summary["retention"]["forever"] is False
    assert summary["truncated_partitions"] == {}
    assert summary["behind_retention"] == {}
    topics.produce_events(make_payloads(1, 3))
    assert consumer_lag_summary()["total"] == 3
    settings.KAFKA_TOPIC = f"missing-{uuid.uuid4().hex[:8]}"
    assert "error" in consumer_lag_summary(timeout=2)


def test_consume_events_options(topics):
    payloads = make_payloads(10, 10)
    topics.produce_events(payloads)
    out = io.StringIO()
    call_command(
        "consume_events", "--max-messages", "30", "--batch-size", "7", "--stop-when-idle", "5", stdout=out
    )
    assert "received 30, inserted 30" in out.getvalue()
    call_command("consume_events", "--stop-when-idle", "1.5", stdout=out)
    assert "received 70, inserted 70" in out.getvalue()
    assert HistoryEvent.objects.count() == 100
    # --from-beginning re-reads what the group had committed; the re-read inserts nothing.
    call_command("consume_events", "--from-beginning", "--stop-when-idle", "1.5", stdout=out)
    assert "received 100, inserted 0, duplicates 100" in out.getvalue()
    # --group: another group reads everything on its own.
    call_command("consume_events", "--group", f"{topics.group}-other", "--stop-when-idle", "1.5", stdout=out)
    assert out.getvalue().count("duplicates 100") == 2
    assert HistoryEvent.objects.count() == 100


@pytest.fixture
def operator_browser(db) -> Client:
    call_command("issue_token", "opsadmin", "--operator", stdout=io.StringIO())
    client = Client()
    client.force_login(get_user_model().objects.get(username="opsadmin"))
    return client


def test_admin_history_is_read_only_and_searchable_by_exact_ids(operator_browser):
    a = services.wallet_create(user_id="hana")
    b = services.wallet_create(user_id="ivan")
    services.wallet_fund(wallet_id=a.id, amount=Decimal("9"), initiated_by="ops")
    moved = services.transfer_create(
        from_wallet_id=a.id, to_wallet_id=b.id, amount=Decimal("4"), initiated_by="x"
    )
    project_outbox()
    url = "/admin/history/historyevent/"

    def listed(query: str | None = None, **filters: str) -> list[str]:
        """The event types of the rows the changelist shows."""
        params = {**filters, **({"q": query} if query is not None else {})}
        page = operator_browser.get(url, params)
        assert page.status_code == 200
        return sorted(re.findall(r'class="field-event_type">([A-Z_]+)<', page.content.decode()))

    assert listed() == sorted(
        ["WALLET_CREATED", "WALLET_CREATED", "WALLET_FUNDED", "TRANSFER_OUT", "TRANSFER_IN"]
    )
    assert listed(str(a.id)) == ["TRANSFER_OUT", "WALLET_CREATED", "WALLET_FUNDED"]
    assert listed(str(moved.transaction_id)) == ["TRANSFER_IN", "TRANSFER_OUT"]
    assert listed("ivan") == ["TRANSFER_IN", "WALLET_CREATED"]
    assert listed("iva") == []  # exact ids only: no scan of the table
    assert listed(event_type__exact="TRANSFER_IN") == ["TRANSFER_IN"]
    assert listed(str(uuid.uuid4())) == []

    event = HistoryEvent.objects.get(event_type="TRANSFER_OUT")
    detail = operator_browser.get(f"{url}{event.id}/change/")
    assert detail.status_code == 200
    assert 'name="amount"' not in detail.content.decode()
    assert "counterparty_user_id" in detail.content.decode()
    operator_browser.post(f"{url}{event.id}/change/", {"amount": "1000"})
    event.refresh_from_db()
    assert event.amount == Decimal("4")
    assert operator_browser.get(f"{url}add/").status_code == 403
    assert operator_browser.get(f"{url}{event.id}/delete/").status_code == 403
    for model in ("versiongap", "deadletter", "reconcilerun"):
        assert operator_browser.get(f"/admin/history/{model}/").status_code == 200


def test_admin_and_status_show_the_last_reconcile_result(transactional_db, operator_browser):
    assert history_status().last_reconcile_ok is None
    wallet = services.wallet_create(user_id="jo")
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal("3"), initiated_by="ops")
    store(reconcile(skip_history=True))
    run = ReconcileRun.objects.get()
    page = operator_browser.get(f"/admin/history/reconcilerun/{run.id}/change/").content.decode()
    assert "every wallet&#x27;s balance equals its ledger (1 user wallet)" in page
    status = history_status()
    assert status.last_reconcile_ok is True
    assert status.last_reconcile_breaches == 0
    assert status.open_gaps == status.dead_letters_total == 0
