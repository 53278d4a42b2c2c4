"""The overview's trends against the real PostgreSQL (and Kafka, for the sample task): the ledger is
counted into money per day once, whatever the runs; the samples are recorded and pruned; the charts
are drawn from them (the page itself: tests/test_overview.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from trends import charts, services, tasks
from trends.models import DailyVolume, RelaySample, VolumeCheckpoint
from trends.selectors import counted_until, money_per_day, relay_series
from wallets import services as wallet_services
from wallets.models import LedgerTransaction

pytestmark = pytest.mark.django_db(transaction=True)  # volume_count is a durable transaction


def moved(
    days_ago: int,
    amount: str,
    currency: str = "USD",
    *,
    transfer_to: bool = False,
    later: timedelta | None = None,
) -> None:
    """Fund a new wallet (and transfer half of it on), then date its transactions `days_ago` (or
    `later` than now)."""
    wallet = wallet_services.wallet_create(user_id=f"tr{days_ago}{currency}{amount}", currency=currency)
    wallet_services.wallet_fund(wallet_id=wallet.id, amount=Decimal(amount), initiated_by="test")
    if transfer_to:
        other = wallet_services.wallet_create(user_id=f"tr{days_ago}{currency}{amount}b", currency=currency)
        wallet_services.transfer_create(
            from_wallet_id=wallet.id, to_wallet_id=other.id, amount=Decimal(amount) / 2, initiated_by="test"
        )
    ids = list(
        LedgerTransaction.objects.filter(entries__wallet=wallet).values_list("id", flat=True).distinct()
    )
    params: list[Any] = [timedelta(days=days_ago) - (later or timedelta(0)), ids]
    with transaction.atomic(), connection.cursor() as cursor:  # the ledger is append-only: as its owner
        cursor.execute("ALTER TABLE wallets_ledgertransaction DISABLE TRIGGER USER")
        cursor.execute(
            "UPDATE wallets_ledgertransaction SET created_at = created_at - %s WHERE id = ANY(%s)",
            params,
        )
        cursor.execute("ALTER TABLE wallets_ledgertransaction ENABLE TRIGGER USER")


def test_the_ledger_is_counted_per_day_and_currency_once_however_many_runs():
    moved(0, "10")
    moved(0, "4", transfer_to=True)  # a fund of 4 and a transfer of 2: 6 moved, 2 transactions
    moved(2, "7.5")
    moved(1, "100", currency="EUR")
    now = timezone.now() + timedelta(seconds=services.SETTLE_SECONDS + 1)
    for _ in range(services.KEEP_DAYS + 2):  # a day a run: caught up, then nothing more to count
        services.volume_count(now=now)
    assert counted_until() == now - timedelta(seconds=services.SETTLE_SECONDS)

    today = now.astimezone(UTC).date()
    volumes = money_per_day(days=14, today=today)
    assert list(volumes) == ["EUR", "USD"]
    usd = {day.day: (day.amount, day.movements) for day in volumes["USD"]}
    assert len(volumes["USD"]) == 14 and volumes["USD"][-1].day == today  # oldest first, today last
    assert usd[today] == (Decimal("16"), 3)  # 10, and 4 + 2
    assert usd[today - timedelta(days=2)] == (Decimal("7.5"), 1)
    assert usd[today - timedelta(days=1)] == (Decimal("0"), 0)  # no USD that day: a zero day
    assert volumes["EUR"][-2].amount == Decimal("100")

    # A later movement (after what was counted) is counted by the next run, once, added to its day.
    moved(0, "1", later=timedelta(seconds=5))
    later = now + timedelta(minutes=1)
    services.volume_count(now=later)
    services.volume_count(now=later)
    assert DailyVolume.objects.get(day=today, currency="USD").amount == Decimal("17")
    assert DailyVolume.objects.get(day=today, currency="USD").movements == 4


def test_a_movement_younger_than_the_settling_time_waits_for_the_next_run():
    VolumeCheckpoint.objects.create(id=1, counted_until=timezone.now() - timedelta(hours=1))
    moved(0, "5")
    services.volume_count()  # its moment is within SETTLE_SECONDS of now: not counted yet
    assert not DailyVolume.objects.exists()
    services.volume_count(now=timezone.now() + timedelta(seconds=services.SETTLE_SECONDS + 1))
    assert DailyVolume.objects.get().amount == Decimal("5")


def test_the_sample_task_records_the_backlog_and_the_lag_and_prunes_old_samples():
    old = services.relay_sample_record(
        outbox_pending=1, oldest_pending_seconds=0, consumer_lag=0, at=timezone.now() - timedelta(hours=49)
    )
    wallet_services.wallet_create(user_id="trsample")  # one outbox row: WALLET_CREATED
    result = tasks.sample()
    assert not RelaySample.objects.filter(id=old.id).exists()
    sample = RelaySample.objects.get()
    assert result["sample"] == sample.id and result["pruned"][0] == 1
    assert sample.outbox_pending == 1  # nothing relays the test database's outbox
    assert sample.consumer_lag is not None and sample.consumer_lag >= 0  # Kafka is up in the tests
    assert counted_until() is not None


def test_a_kafka_outage_records_an_empty_lag(monkeypatch):
    monkeypatch.setattr(tasks, "consumer_lag_summary", lambda: {"error": "KafkaException"})
    tasks.sample()
    assert RelaySample.objects.get().consumer_lag is None


def test_the_relay_series_is_the_last_hours_oldest_first_and_the_chart_draws_it():
    now = timezone.now()
    for minutes, pending, lag in [(400, 9, 9), (30, 3, None), (20, 5, 7), (10, 2, 4)]:
        services.relay_sample_record(
            outbox_pending=pending,
            oldest_pending_seconds=1.0,
            consumer_lag=lag,
            at=now - timedelta(minutes=minutes),
        )
    series = relay_series(hours=6, now=now)
    assert [s.outbox_pending for s in series] == [3, 5, 2]  # 400 minutes ago is outside
    svg = charts.line_chart(
        [
            charts.Line("outbox backlog", "#000", [(s.at, float(s.outbox_pending)) for s in series]),
            charts.Line("consumer lag", "#f00", [(s.at, s.consumer_lag) for s in series]),
        ],
        start=now - timedelta(hours=6),
        end=now,
        css_id="c",
        label="L",
        time_labels=["a", "b"],
    )
    assert svg.startswith('<svg id="c" class="chart" role="img" aria-label="L"')
    assert svg.count("<polyline") == 2  # the backlog's three points; the lag's two after its gap
    assert "<script" not in svg and "http://" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_bars_scale_to_the_largest_and_carry_their_exact_values():
    svg = charts.bar_chart(
        [charts.Bar("01-01", 50.0, "fifty <USD>"), charts.Bar("01-02", 100.0, "a hundred")],
        css_id="b",
        label="bars",
        top_label="100",
    )
    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)" class="bar"', svg)]
    assert len(heights) == 2
    assert heights[1] == 2 * heights[0]
    assert "<title>fifty &lt;USD&gt;</title>" in svg  # escaped


def test_days_before_the_period_are_pruned():
    today = datetime.now(UTC).date()
    DailyVolume.objects.create(
        day=today - timedelta(days=services.KEEP_DAYS + 1), currency="USD", amount=1, movements=1
    )
    DailyVolume.objects.create(day=today, currency="USD", amount=1, movements=1)
    assert services.trends_prune() == (0, 1)
    assert list(DailyVolume.objects.values_list("day", flat=True)) == [today]
