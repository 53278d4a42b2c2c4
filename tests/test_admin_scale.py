"""Costs that stay flat as the tables grow (issue #21), against the real PostgreSQL: the change lists
of large tables count nothing (the planner's estimate, shown as one), filter without asking the
table for its distinct values, are ordered by an index, render pages past the real end; small
tables are still counted exactly; the overview, `/metrics` and `/health/ready` read no more rows
of the ledger and the history however many there are.

"Large" is made cheap here: `EstimatedCountPaginator.exact_below` is lowered to 300 and the rows
inserted are ANALYZEd inside the test's transaction, so the planner knows them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import Approval, ApprovalEvent
from common import admin as common_admin
from common.admin import EstimatedCountPaginator
from history.models import DeadLetter, HistoryEvent, VersionGap
from tests.conftest import issue_key
from wallets import services
from wallets.models import Hold, IdempotencyRecord, LedgerEntry, LedgerTransaction, Wallet

pytestmark = pytest.mark.django_db

EXACT_BELOW = 300


@pytest.fixture
def operator_browser(client: Client) -> Client:
    client.force_login(get_user_model().objects.create_superuser("scaleops"))
    return client


@pytest.fixture
def exact_below(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(EstimatedCountPaginator, "exact_below", EXACT_BELOW)
    return EXACT_BELOW


def analyze(model: type[Model]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {model._meta.db_table}")


def add_history_events(count: int, *, event_type: str = "TRANSFER_IN") -> None:
    now = timezone.now()
    HistoryEvent.objects.bulk_create(
        HistoryEvent(
            event_id=uuid.uuid4(),
            event_type=event_type,
            wallet_id=uuid.uuid4(),
            user_id=f"bulk{n}",
            currency="USD",
            amount=Decimal(1),
            balance_after=Decimal(1),
            wallet_version=n,
            occurred_at=now,
            recorded_at=now,
            payload={},
            topic="wallet-events",
            partition=0,
            offset=n,
        )
        for n in range(count)
    )
    analyze(HistoryEvent)


def add_ledger_entries(count: int) -> None:
    """`count` more entries on the USD system account, in the transaction of a fund: as many of -1
    as of +1, so that the transaction still balances."""
    wallet = services.wallet_create(user_id="bulkfund")
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal(1), initiated_by="test")
    fund = LedgerEntry.objects.get(wallet=wallet)
    system = Wallet.objects.get(kind=Wallet.Kind.SYSTEM, currency="USD")
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            transaction_id=fund.transaction_id,
            wallet=system,
            currency="USD",
            amount=Decimal(-1 if n % 2 else 1),
            type=LedgerEntry.Type.FUND,
            created_at=fund.created_at,
        )
        for n in range(count)
    )
    analyze(LedgerEntry)
    # The list joins the wallets: an autovacuum ANALYZE of that table during the test (it sees none
    # of the test's uncommitted rows) would make the join's estimate a handful of rows. Our own
    # ANALYZE gives it the rows it has, and holds its lock (SHARE UPDATE EXCLUSIVE) until the test's
    # transaction ends, so autovacuum skips the table meanwhile.
    analyze(Wallet)


def add_wallets(count: int) -> None:
    now = timezone.now()
    Wallet.objects.bulk_create(
        Wallet(user_id=f"bulk{n}", currency="USD", created_at=now, updated_at=now) for n in range(count)
    )
    analyze(Wallet)


LARGE_TABLES: dict[str, tuple[type[Model], Callable[[int], None]]] = {
    "history/historyevent": (HistoryEvent, add_history_events),
    "wallets/ledgerentry": (LedgerEntry, add_ledger_entries),
    "wallets/wallet": (Wallet, add_wallets),
}


def text(html: bytes) -> str:
    return re.sub(r"\s+", " ", html.decode())


def paginator_text(html: bytes) -> str:
    """What the change list says under its rows: page links and the count."""
    found = re.search(r'<p class="paginator">(.*?)</p>', html.decode(), re.S)
    assert found, "no paginator on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def result_rows(html: bytes) -> int:
    body = re.search(r'<table id="result_list">.*?<tbody>(.*?)</tbody>', html.decode(), re.S)
    return 0 if body is None else body.group(1).count("<tr")


@pytest.mark.parametrize("path", list(LARGE_TABLES))
def test_a_large_tables_change_list_counts_nothing_and_says_its_count_is_an_estimate(
    operator_browser, exact_below, path
):
    model, fill = LARGE_TABLES[path]
    fill(1000)
    table = model._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        page = operator_browser.get(f"/admin/{path}/")
    assert page.status_code == 200
    sql = [query["sql"] for query in queries.captured_queries]
    assert not [q for q in sql if "COUNT(" in q.upper() and f'"{table}"' in q], "the table was counted"
    assert not [q for q in sql if "DISTINCT" in q.upper()], "a filter asked the table for its values"
    assert [q for q in sql if q.startswith("EXPLAIN") and f'"{table}"' in q], "the planner was not asked"
    shown = paginator_text(page.content)
    assert re.search(r"about 1,0\d0 ", shown), shown  # 1,000 rows, and the user wallet of the fund
    # The first pages, then "…": not the last ones, whose number is a guess and whose OFFSET reads it all.
    assert shown.startswith("1 2 3 4 … about"), shown
    assert 'class="end"' not in page.content.decode()
    assert "title=\"PostgreSQL's estimate" in page.content.decode()


def test_a_filtered_large_list_is_the_planners_estimate_for_the_filter(operator_browser, exact_below):
    add_history_events(600, event_type="TRANSFER_IN")
    add_history_events(400, event_type="WALLET_CREATED")
    with CaptureQueriesContext(connection) as queries:
        page = operator_browser.get("/admin/history/historyevent/", {"event_type__exact": "TRANSFER_IN"})
    assert page.status_code == 200
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert "about 600 history events" in paginator_text(page.content)
    # A filter on the schema version offers the versions the consumer accepts, and filters by them.
    assert "schema_version__exact=2" in page.content.decode()
    version_2 = operator_browser.get("/admin/history/historyevent/", {"schema_version__exact": "2"})
    assert "0 history events" in paginator_text(version_2.content)  # every row added is version 1


def test_pages_past_the_real_end_render_and_the_real_end_gives_the_exact_count(operator_browser, exact_below):
    add_history_events(1000)
    # The statistics say 1,000 rows; 250 are left (the planner keeps its estimate until the next ANALYZE).
    HistoryEvent.objects.filter(id__in=HistoryEvent.objects.order_by("id").values("id")[:750]).delete()
    url = "/admin/history/historyevent/"

    first = operator_browser.get(url)
    assert result_rows(first.content) == 100
    assert "about 1,000 history events" in paginator_text(first.content)

    last = operator_browser.get(url, {"p": 3})  # rows 201 to 250: the real end, so the real count
    assert last.status_code == 200
    assert result_rows(last.content) == 50
    assert paginator_text(last.content) == "1 2 3 250 history events"

    for beyond in (5, 10, 11, 40):  # past the real end, inside the estimate and past it too
        page = operator_browser.get(url, {"p": beyond})
        assert page.status_code == 200, beyond
        assert result_rows(page.content) == 0
        assert "about 1,000 history events" in paginator_text(page.content)
    assert paginator_text(operator_browser.get(url, {"p": 11}).content).startswith("1 2 … 8 9 10 11 about")


def test_small_tables_are_counted_exactly(operator_browser, exact_below):
    add_history_events(5)
    now = timezone.now()
    VersionGap.objects.bulk_create(
        VersionGap(
            wallet_id=uuid.uuid4(),
            first_missing=2,
            last_missing=3,
            seen_event_id=uuid.uuid4(),
            topic="t",
            partition=0,
            offset=n,
            detected_at=now,
        )
        for n in range(3)
    )
    events = operator_browser.get("/admin/history/historyevent/")
    assert paginator_text(events.content) == "5 history events"
    assert result_rows(events.content) == 5
    with CaptureQueriesContext(connection) as queries:
        gaps = operator_browser.get("/admin/history/versiongap/")
    assert paginator_text(gaps.content) == "3 version gaps"
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and f"LIMIT {EXACT_BELOW}" in counts[0], counts  # counted, never past 300
    # A search on a small result is counted too, and says so without "about".
    found = operator_browser.get("/admin/history/historyevent/", {"q": "bulk3"})
    assert "1 result" in text(found.content) and "about" not in paginator_text(found.content)


def test_counting_stops_at_the_threshold_when_the_statistics_are_stale(
    operator_browser, exact_below, monkeypatch
):
    add_history_events(500)
    monkeypatch.setattr(common_admin, "planner_rows", lambda queryset: 0)  # statistics from before the rows
    page = operator_browser.get("/admin/history/historyevent/")
    assert page.status_code == 200
    assert f"at least {EXACT_BELOW} history events" in paginator_text(page.content)
    assert result_rows(page.content) == 100


def index_leading_columns(model: type[Model]) -> set[str]:
    """The first column of each of the table's btree indexes that covers every row (not partial)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.attname FROM pg_index i
              JOIN pg_class c ON c.oid = i.indexrelid
              JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
             WHERE i.indrelid = %s::regclass AND i.indpred IS NULL
            """,
            [model._meta.db_table],
        )
        return {row[0] for row in cursor.fetchall()}


def column(model: type[Model], order_field: str) -> str:
    name = order_field.lstrip("-")
    return str(model._meta.pk.column if name == "pk" else model._meta.get_field(name).column)


# The tables that grow with the ledger, the history and the traffic. (The outbox is the backlog only:
# the relay deletes what it published.)
GROWING: list[type[Model]] = [
    Wallet,
    LedgerTransaction,
    LedgerEntry,
    Hold,
    HistoryEvent,
    IdempotencyRecord,
    Approval,
    ApprovalEvent,
]
FAULTS: list[type[Model]] = [VersionGap, DeadLetter]  # they grow with what went wrong


def changelists(browser: Client, models: list[type[Model]]) -> Iterator[tuple[type[Model], Any]]:
    for model in models:
        opts = model._meta
        page = browser.get(f"/admin/{opts.app_label}/{opts.model_name}/")
        assert page.status_code == 200, model
        yield model, page.context["cl"]


def test_every_growing_tables_list_is_ordered_and_sorted_by_indexes_only(operator_browser):
    for model, cl in changelists(operator_browser, GROWING + FAULTS):
        indexed = index_leading_columns(model)
        ordering = cl.queryset.query.order_by
        assert column(model, ordering[0]) in indexed, f"{model.__name__} is ordered by {ordering}"
        if model in FAULTS:
            continue
        for name in cl.list_display:
            if cl.sortable_by is not None and name not in cl.sortable_by:
                continue
            order_field = cl.get_ordering_field(name)
            if isinstance(order_field, str):
                assert column(model, order_field) in indexed, f"{model.__name__} sorts by {name}"


def test_no_growing_tables_list_asks_for_distinct_values_or_facets(operator_browser):
    with CaptureQueriesContext(connection) as queries:
        for _model, cl in changelists(operator_browser, GROWING + FAULTS):
            assert cl.model_admin.show_facets == admin.ShowFacets.NEVER
            assert cl.model_admin.date_hierarchy is None
    assert not [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]


BIG = (HistoryEvent, LedgerEntry, LedgerTransaction)


def rows_read() -> dict[str, int]:
    """Rows this transaction has read so far from the ledger's and the history's tables."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0) "
            "FROM pg_stat_xact_user_tables WHERE relname = ANY(%s)",
            [[model._meta.db_table for model in BIG]],
        )
        return dict(cursor.fetchall())


@pytest.mark.parametrize("path", ["/admin/", "/metrics", "/health/ready"])
def test_the_overview_metrics_and_readiness_read_no_more_as_the_history_grows(operator_browser, path):
    add_history_events(3000)
    add_ledger_entries(3000)
    key = issue_key("scalemetrics", staff=True)
    before = rows_read()
    response = operator_browser.get(path, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200, response.content[:500]
    after = rows_read()
    read = {table: after.get(table, 0) - before.get(table, 0) for table in after}
    assert all(count <= 1 for count in read.values()), read  # at most the newest history row


def test_the_system_accounts_page_lists_its_newest_entries(operator_browser):
    add_ledger_entries(500)
    system = Wallet.objects.get(kind=Wallet.Kind.SYSTEM, currency="USD")
    page = operator_browser.get(f"/admin/wallets/wallet/{system.id}/change/")
    assert page.status_code == 200
    entries = re.search(r"Recent ledger entries.*?<table>(.*?)</table>", page.content.decode(), re.S)
    assert entries is not None
    assert entries.group(1).count("<tr") == 1 + 20  # the header and the newest 20
