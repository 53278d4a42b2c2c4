"""`GET /wallets/{id}/history` and `GET /users/{user_id}/activity`: permissions, order, pagination,
filters, errors. The history rows are written by the consumer's own projection code from the outbox
payloads the wallet services wrote (the Kafka path itself is covered in test_consumer)."""

from __future__ import annotations

import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import yaml

from history.api.serializers import HistoryEventOutput
from tests.conftest import make_client
from wallets import services
from wallets.events import WalletEvent

from .conftest import project, project_outbox

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def books() -> dict[str, Any]:
    """alice has two wallets, bob one; money moved between them; the history is up to date."""
    a1 = services.wallet_create(user_id="alice")
    a2 = services.wallet_create(user_id="alice")
    b1 = services.wallet_create(user_id="bob")
    services.wallet_fund(wallet_id=a1.id, amount=Decimal("100"), initiated_by="ops")
    services.wallet_fund(wallet_id=b1.id, amount=Decimal("50"), initiated_by="ops")
    for n in range(3):
        services.transfer_create(
            from_wallet_id=a1.id, to_wallet_id=b1.id, amount=Decimal(f"{n + 1}.5"), initiated_by="alice"
        )
    services.transfer_create(
        from_wallet_id=b1.id, to_wallet_id=a2.id, amount=Decimal("5"), initiated_by="bob"
    )
    services.wallet_withdraw(wallet_id=a1.id, amount=Decimal("10.0001"), initiated_by="ops")
    project_outbox()
    return {"a1": a1, "a2": a2, "b1": b1}


@pytest.fixture
def alice() -> Any:
    return make_client("alice")


@pytest.fixture
def staff() -> Any:
    return make_client("ops", staff=True)


def test_a_wallets_history_is_its_events_newest_first_in_the_documented_shape(books, alice):
    response = alice.get(f"/wallets/{books['a1'].id}/history")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["has_more"] is False
    assert body["next_cursor"] is None
    events = body["data"]
    assert [e["wallet_version"] for e in events] == [5, 4, 3, 2, 1, 0]
    assert [e["event_type"] for e in events] == [
        "WALLET_WITHDRAWN",
        "TRANSFER_OUT",
        "TRANSFER_OUT",
        "TRANSFER_OUT",
        "WALLET_FUNDED",
        "WALLET_CREATED",
    ]
    assert [e["amount"] for e in events] == ["10.0001", "3.5000", "2.5000", "1.5000", "100.0000", "0.0000"]
    assert events[0]["balance_after"] == "82.4999"
    assert set(events[0]) == set(HistoryEventOutput().fields)
    transfer = events[1]
    assert transfer["counterparty_wallet_id"] == str(books["b1"].id)
    assert transfer["user_id"] == "alice"
    assert transfer["currency"] == "USD"
    assert uuid.UUID(transfer["transaction_id"])
    assert transfer["created_at"].endswith("Z")
    assert transfer["recorded_at"].endswith("Z")
    # The same transfer seen from bob's wallet carries the same transaction id.
    bobs = make_client("bob").get(f"/wallets/{books['b1'].id}/history?event_type=TRANSFER_IN").json()["data"]
    assert transfer["transaction_id"] in {e["transaction_id"] for e in bobs}
    # Both URL forms work.
    assert alice.get(f"/wallets/{books['a1'].id}/history/").json()["data"] == events


def test_permissions_follow_the_wallet_rules(books, alice, staff):
    bobs_wallet = f"/wallets/{books['b1'].id}/history"
    refused = alice.get(bobs_wallet)
    assert refused.status_code == 404
    assert refused.json()["code"] == "wallet_not_found"
    assert alice.get(f"/wallets/{uuid.uuid4()}/history").json()["code"] == "wallet_not_found"
    assert alice.get("/wallets/not-a-uuid/history").status_code == 404
    denied = alice.get("/users/bob/activity")
    assert denied.status_code == 403
    assert denied.json()["code"] == "permission_denied"
    assert alice.get("/users/alice/activity").status_code == 200
    assert staff.get(bobs_wallet).status_code == 200
    assert len(staff.get("/users/bob/activity").json()["data"]) == 1 + 1 + 3 + 1
    anonymous = make_client("x")
    anonymous.credentials()
    assert anonymous.get(bobs_wallet).status_code == 401
    assert anonymous.get("/users/bob/activity").json()["code"] == "not_authenticated"


def test_activity_covers_all_of_a_users_wallets_newest_first(books, alice):
    events = alice.get("/users/alice/activity").json()["data"]
    assert {e["wallet_id"] for e in events} == {str(books["a1"].id), str(books["a2"].id)}
    assert len(events) == 6 + 2  # a1: create, fund, 3 transfers, withdraw; a2: create, transfer in
    keys = [(e["created_at"], e["event_id"]) for e in events]
    assert keys == sorted(keys, reverse=True)
    assert all(e["user_id"] == "alice" for e in events)


def _walk(client: Any, url: str, limit: int) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        query = f"limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(f"{url}{'&' if '?' in url else '?'}{query}").json()
        assert len(body["data"]) <= limit
        seen += body["data"]
        pages += 1
        assert pages < 100
        if not body["has_more"]:
            assert body["next_cursor"] is None
            return seen
        assert body["next_cursor"]
        cursor = body["next_cursor"]


def test_walking_the_pages_yields_every_event_once_in_order(books, alice, staff):
    whole = alice.get(f"/wallets/{books['a1'].id}/history?limit=500").json()["data"]
    for limit in (1, 2, 4):
        assert _walk(alice, f"/wallets/{books['a1'].id}/history", limit) == whole
    # Activity: the transfers' legs share a timestamp, so ties are broken by event id, never lost.
    everything = staff.get("/users/alice/activity?limit=500").json()["data"]
    for limit in (1, 3):
        walked = _walk(staff, "/users/alice/activity", limit)
        assert walked == everything
        assert len({e["event_id"] for e in walked}) == len(walked)
    # With a filter, too.
    outs = _walk(alice, f"/wallets/{books['a1'].id}/history?event_type=TRANSFER_OUT", 1)
    assert [e["wallet_version"] for e in outs] == [4, 3, 2]


def test_event_type_filters(books, alice):
    url = f"/wallets/{books['a1'].id}/history"
    funded = alice.get(f"{url}?event_type=WALLET_FUNDED").json()["data"]
    assert [e["event_type"] for e in funded] == ["WALLET_FUNDED"]
    several = alice.get(f"{url}?event_type=WALLET_CREATED,WALLET_WITHDRAWN").json()["data"]
    assert [e["event_type"] for e in several] == ["WALLET_WITHDRAWN", "WALLET_CREATED"]
    activity = alice.get("/users/alice/activity?event_type=TRANSFER_IN").json()["data"]
    assert [e["wallet_id"] for e in activity] == [str(books["a2"].id)]


@pytest.fixture
def timed() -> Any:
    """One wallet of carol's with events one minute apart from T0 (versions 0..5)."""
    wallet = services.wallet_create(user_id="carol")
    payloads = []
    for version in range(6):
        event = WalletEvent(
            event_type="WALLET_CREATED" if version == 0 else "WALLET_FUNDED",
            occurred_at=T0 + timedelta(minutes=version),
            wallet_id=wallet.id,
            user_id="carol",
            currency="USD",
            amount=Decimal(version),
            balance_after=Decimal(version * (version + 1) // 2),
            wallet_version=version,
            transaction_id=None if version == 0 else uuid.uuid4(),
        )
        payloads.append(event.payload(uuid.uuid4()))
    project(payloads)
    return wallet


def _versions(client: Any, url: str) -> list[int]:
    response = client.get(url)
    assert response.status_code == 200, response.json()
    return [e["wallet_version"] for e in response.json()["data"]]


def test_since_is_inclusive_and_until_exclusive_in_rfc3339(timed):
    carol = make_client("carol")
    url = f"/wallets/{timed.id}/history"
    assert _versions(carol, f"{url}?since=2026-03-01T12:02:00Z") == [5, 4, 3, 2]
    assert _versions(carol, f"{url}?until=2026-03-01T12:02:00Z") == [1, 0]
    assert _versions(carol, f"{url}?since=2026-03-01T12:01:00Z&until=2026-03-01T12:04:00Z") == [3, 2, 1]
    # Any offset; %2B is "+" in a query string.
    assert _versions(carol, f"{url}?since=2026-03-01T14:03:00%2B02:00") == [5, 4, 3]
    assert _versions(carol, f"{url}?since=2026-03-01T12:02:30.5Z") == [5, 4, 3]
    activity = "/users/carol/activity"
    assert _versions(carol, f"{activity}?since=2026-03-01T12:04:00Z") == [5, 4]
    assert _versions(carol, f"{activity}?since=2026-03-01T12:01:00Z&event_type=WALLET_FUNDED&limit=2") == [
        5,
        4,
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("since=yesterday", "since"),
        ("since=2026-03-01", "since"),  # a date is not a time
        ("since=2026-03-01T12:00:00", "since"),  # no offset: ambiguous
        ("until=2026-13-01T12:00:00Z", "until"),  # month 13
        ("until=2026-03-01T25:00:00Z", "until"),
        ("event_type=FUND", "event_type"),
        ("event_type=", "event_type"),
        ("event_type=WALLET_FUNDED,nope", "event_type"),
        ("event_type=WALLET_FUNDED,", "event_type"),
        ("event_type=WALLET_FUNDED,%20TRANSFER_IN", "event_type"),  # the enum, exactly
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
    ],
)
def test_bad_query_values_are_a_400_validation_error_naming_the_parameter(timed, query, field):
    carol = make_client("carol")
    for url in (f"/wallets/{timed.id}/history", "/users/carol/activity"):
        response = carol.get(f"{url}?{query}")
        assert response.status_code == 400, (url, query)
        body = response.json()
        assert body["code"] == "validation_error"
        assert field in body["details"]


def test_an_interval_that_ends_before_it_starts_is_empty(timed):
    carol = make_client("carol")
    query = "since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z"
    for url in (f"/wallets/{timed.id}/history", "/users/carol/activity"):
        response = carol.get(f"{url}?{query}")
        assert response.status_code == 200, response.content
        assert response.json()["data"] == []
    assert (
        _versions(carol, "/users/carol/activity?since=2026-03-01T12:04:00Z&until=2026-03-01T12:04:00Z") == []
    )


@pytest.mark.parametrize(
    "moment",
    [
        "2026-03-01T12:04:00.000000000001Z",  # RFC 3339 allows any number of fraction digits
        "2026-03-01T13:04:00+01:00",
        "2026-03-01t12:04:00z",
        "2026-03-01T12:03:60Z",  # a leap second is the start of the next one, as PostgreSQL reads it
        "2026-03-02T11:04:00+23:00",  # an offset PostgreSQL itself would refuse
    ],
)
def test_every_rfc_3339_spelling_of_a_time_is_accepted(timed, moment):
    carol = make_client("carol")
    assert _versions(carol, f"/users/carol/activity?since={urllib.parse.quote(moment)}") == [5, 4]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-02:00"])
def test_times_at_the_ends_of_the_calendar_are_not_a_500(timed, moment):
    carol = make_client("carol")
    response = carol.get(f"/users/carol/activity?until={urllib.parse.quote(moment)}")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("cursor", ["not-base64!!", "WzEsMl0", "WyJ4IiwieSJd", "eyJhIjoxfQ"])
def test_a_forged_cursor_is_a_400_not_a_500(timed, cursor):
    carol = make_client("carol")
    for url in (f"/wallets/{timed.id}/history", "/users/carol/activity"):
        response = carol.get(f"{url}?cursor={cursor}")
        assert response.status_code == 400, (url, cursor, response.content)
        assert response.json()["code"] == "validation_error"


def test_the_endpoints_are_in_the_openapi_schema(staff):
    response = staff.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = {p.rstrip("/"): v for p, v in schema["paths"].items()}
    for path in ("/wallets/{wallet_id}/history", "/users/{user_id}/activity"):
        operation = paths[path]["get"]
        assert {p["name"] for p in operation["parameters"]} >= {
            "limit",
            "cursor",
            "event_type",
            "since",
            "until",
        }
    # Exactly the statuses each can answer (the full tables: tests/wallets/test_contract.py).
    history = set(paths["/wallets/{wallet_id}/history"]["get"]["responses"])
    activity = set(paths["/users/{user_id}/activity"]["get"]["responses"])
    assert {"200", "400", "401", "404", "503"} <= history and "403" not in history
    assert {"200", "400", "401", "403", "404", "503"} <= activity
    assert not {"413", "415", "422"} & (history | activity)
    assert set(schema["components"]["schemas"]["HistoryEventOutput"]["properties"]) == set(
        HistoryEventOutput().fields
    )


def test_a_cursor_handed_out_before_the_version_became_unique_still_pages(books, alice):
    """Cursors carried (version, event id) when the id broke ties; the version alone orders a
    wallet's history now (one event per version), and such a cursor still gives the next page,
    whichever event id it names."""
    from common.pagination import encode_cursor

    url = f"/wallets/{books['a1'].id}/history"
    whole = alice.get(f"{url}?limit=500").json()["data"]
    versions = [e["wallet_version"] for e in whole]
    assert versions == sorted(set(versions), reverse=True)
    middle = whole[2]
    for event_id in (middle["event_id"], str(uuid.uuid4())):
        cursor = encode_cursor([middle["wallet_version"], event_id])
        page = alice.get(f"{url}?limit=500&cursor={cursor}")
        assert page.status_code == 200, page.content
        assert page.json()["data"] == whole[3:]
