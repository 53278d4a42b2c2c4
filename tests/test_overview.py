"""The operators' overview on the admin index (walletproject/overview.py): the figures are right, a
breach shows, and the page renders whatever is down. (That it reads no more as the ledger and the
history grow: tests/test_admin_scale.py.)

(The same page in a real browser, with its links: tests/browser/test_admin.py.)
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone

from history.models import ReconcileRun
from history.reconcile import reconcile, store
from kafka_bridge.models import OutboxEvent
from tests.conftest import behind_the_ledgers_back
from wallets import services
from wallets.models import Wallet
from wallets.selectors import currency_totals

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_index(client):
    client.force_login(get_user_model().objects.create_user("overviewops", is_staff=True))

    def get() -> str:
        response = client.get("/admin/")
        assert response.status_code == 200
        return re.sub(r"\s+", " ", response.content.decode())

    return get


def books() -> tuple[Wallet, Wallet]:
    alice = services.wallet_create(user_id="ovalice")
    bob = services.wallet_create(user_id="ovbob")
    services.wallet_fund(wallet_id=alice.id, amount=Decimal("100.00"), initiated_by="test")
    services.wallet_withdraw(wallet_id=alice.id, amount=Decimal("0.0001"), initiated_by="test")
    services.transfer_create(
        from_wallet_id=alice.id, to_wallet_id=bob.id, amount=Decimal("30"), initiated_by="test"
    )
    services.wallet_create(user_id="ovchloe", currency="EUR")  # no system account yet
    return alice, bob


def test_currency_totals_count_and_sum_the_user_wallets():
    books()
    eur, usd = currency_totals()  # by currency code
    system = Wallet.objects.get(kind="system", currency="USD")
    assert (usd.currency, usd.user_wallets, usd.user_balance, usd.system_account_id) == (
        "USD",
        2,
        Decimal("99.9999"),
        system.id,
    )
    assert (eur.currency, eur.user_wallets, eur.user_balance, eur.system_account_id) == (
        "EUR",
        1,
        Decimal("0"),
        None,
    )


def test_the_index_shows_each_figure_with_its_link(admin_index):
    books()
    html = admin_index()
    assert (
        '<th scope="row">USD</th> <td class="number"><a href="/admin/wallets/wallet/?currency__exact=USD'
        '&amp;kind__exact=user">2</a></td> <td class="number">99.9999</td>'
    ) in html
    system = Wallet.objects.get(kind="system", currency="USD")
    assert f'<a href="/admin/wallets/wallet/{system.id}/change/">its entries</a>' in html
    assert "none yet (no fund or withdrawal)" in html  # EUR
    assert "Books: not checked yet" in html
    assert '<a href="/admin/kafka_bridge/outboxevent/?status=pending" id="overview-outbox-pending">' in html
    assert re.search(r'id="overview-consumer-lag">.*?(messages? behind|unreadable)', html)
    assert "never run" in html
    assert "<title>Wallet operations | Wallet operations</title>" in html  # the branding
    assert '<div id="site-name"><a href="/admin/">Wallet operations</a></div>' in html
    assert '<a href="/">View site</a>' in html  # the API root


def test_the_books_are_the_last_reconciles_answer(admin_index):
    alice, _ = books()
    run = store(reconcile(skip_history=True))
    link = f'<a href="/admin/history/reconcilerun/{run.pk}/change/">last reconcile</a>'
    assert f'Books <span class="ok">balanced</span> at the {link}' in admin_index()
    behind_the_ledgers_back("UPDATE wallets_wallet SET balance = 70.9999 WHERE id = %s", [alice.id])
    run = store(reconcile(skip_history=True))
    html = admin_index()
    link = f'<a href="/admin/history/reconcilerun/{run.pk}/change/">last reconcile</a>'
    assert f'Books <span class="bad">off</span> at the {link}' in html
    assert (
        "<li>USD: user balances sum to 100.9999, the system account&#x27;s entries to -99.9999 "
        "(expected -100.9999)</li>"
    ) in html


def test_a_stalled_relay_and_a_failed_reconcile_show(admin_index):
    books()
    assert '<span class="ok">ok</span>' in admin_index()
    # Events waiting for five minutes: longer than OUTBOX_STALL_SECONDS (30).
    OutboxEvent.objects.update(created_at=F("created_at") - timedelta(minutes=5))
    run = ReconcileRun.objects.create(
        started_at=timezone.now(), finished_at=timezone.now(), ok=False, breaches=1, checks=[], report="x"
    )
    html = admin_index()
    assert '<span class="bad">stalled</span>' in html
    assert (
        f'<a href="/admin/history/reconcilerun/{run.pk}/change/"><span class="bad">1 breach</span></a>'
        in html
    )


def test_the_page_renders_with_kafka_down_and_a_figure_failing(admin_index, monkeypatch):
    import walletproject.overview as overview

    # What history.lag.recent_consumer_lag answers when Kafka does not (it never raises).
    monkeypatch.setattr(
        overview,
        "recent_consumer_lag",
        lambda: {"group": "g", "topic": "t", "error": "KafkaException", "age_seconds": 1.5},
    )

    def broken() -> None:
        raise RuntimeError("the outbox query failed")

    monkeypatch.setattr(overview, "outbox_backlog", broken)
    books()
    html = admin_index()
    assert '<span class="bad">unreadable</span> (KafkaException: is Kafka up?)' in html
    assert "Not available right now: outbox backlog" in html
    assert "99.9999" in html  # the other figures are still there


def test_with_the_debezium_relay_the_connectors_state_shows_and_a_dead_connect_is_down(admin_index, settings):
    """RELAY=debezium (issue #24): the overview reads Connect's REST API for the connector's state
    and the slot's lag; with nothing listening it says down, and the page still renders."""
    from walletproject.serve import free_port

    assert 'id="overview-connector"' not in admin_index()  # the Celery relay: no connector
    settings.RELAY = "debezium"
    settings.CONNECT_URL = f"http://127.0.0.1:{free_port()}"
    html = admin_index()
    connector = html.split('id="overview-connector">', 1)[1].split("</td>", 1)[0]
    assert connector.startswith('<span class="bad">down</span>: UNKNOWN, tasks none; slot lag unknown')
    assert "Connection refused" in connector or "refused" in connector.lower()
    assert "Kafka relay (outbox)" in html


def test_the_index_draws_money_per_day_and_the_relays_backlog_and_lag_as_inline_svg(admin_index):
    from trends import services as trend_services
    from trends.models import DailyVolume

    assert "No samples yet" in admin_index()  # before beat's first sample
    today = timezone.now().date()
    DailyVolume.objects.create(day=today, currency="USD", amount=Decimal("125.5"), movements=3)
    DailyVolume.objects.create(
        day=today - timedelta(days=3), currency="USD", amount=Decimal("10"), movements=1
    )
    DailyVolume.objects.create(
        day=today - timedelta(days=20), currency="EUR", amount=Decimal("9"), movements=1
    )
    now = timezone.now()
    for minutes, pending, lag in [(50, 4, 12), (30, 0, None), (5, 2, 3)]:
        trend_services.relay_sample_record(
            outbox_pending=pending,
            oldest_pending_seconds=0.5,
            consumer_lag=lag,
            at=now - timedelta(minutes=minutes),
        )
    html = admin_index()
    usd = html.split('<figure class="chart-figure" data-currency="USD">', 1)[1].split("</figure>", 1)[0]
    assert "<figcaption>USD: 135.5000 in 14 days</figcaption>" in usd
    assert '<svg id="chart-volume-USD" class="chart" role="img"' in usd
    assert usd.count('class="bar"') == 14  # one a day, empty days too
    assert f"<title>{today:%Y-%m-%d}: 125.5000 USD in 3 transaction(s)</title>" in usd
    assert 'data-currency="EUR"' not in html  # nothing in the last 14 days
    relay = html.split('id="overview-relay-chart"', 1)[1].split("</figure>", 1)[0]
    assert '<svg id="chart-relay"' in relay
    assert "outbox backlog" in relay and "consumer lag" in relay
    assert relay.count("<polyline") == 1  # the backlog's three samples
    assert relay.count("<circle") == 2  # the lag: a reading, a gap (Kafka unreadable), a reading
    assert "<script" not in html.split('id="operator-overview"', 1)[1].split('id="content-related"')[0]


@pytest.mark.parametrize(
    ("log", "shown"),
    [
        ({"retention": {"forever": True}}, "kept forever, whole"),
        ({"retention": {"forever": False, "ms": 604800000}}, "Kafka will drop old events"),
        (
            {"retention": {"forever": True}, "truncated_partitions": {"2": 17}},
            "its first events are gone</span> on partition(s) 2",
        ),
        (
            {"retention": {"forever": False}, "truncated_partitions": {"0": 5}, "behind_retention": {"0": 3}},
            "the history misses events",
        ),
    ],
)
def test_the_event_log_row_says_whether_kafka_still_holds_every_event(admin_index, monkeypatch, log, shown):
    import walletproject.overview as overview

    lag = {"group": "g", "topic": "t", "total": 0, "max": 0, "age_seconds": 1.0, **log}
    monkeypatch.setattr(overview, "recent_consumer_lag", lambda: lag)
    row = admin_index().split('id="overview-event-log">')[1].split("</td>")[0]
    assert shown in row
    if "from-ledger" in shown or "misses" in shown or "gone" in shown:
        assert "rebuild_history --from-ledger" in row
