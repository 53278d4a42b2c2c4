"""API v1.1 events (schema_version 2: holds, reversals, metadata) in the history: what the decoder
accepts and refuses, what the consumer stores from the real topic, what goes to the DLQ, and what
the history API and admin show and filter."""

from __future__ import annotations

import json
import re
import urllib.parse
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import yaml

from history.dead_letters import ERROR_HEADER, OFFSET_HEADER
from history.decoding import InvalidEvent, Origin, decode
from history.event_types import EVENT_TYPES
from history.models import DeadLetter, HistoryEvent
from tests.conftest import make_client
from wallets import events as wallet_events
from wallets import services

from .conftest import event_message, hold_story, make_payloads, project

NEW_TYPES = ("HOLD_CREATED", "HOLD_RELEASED", "REVERSAL_OUT", "REVERSAL_IN")


def _decode(payload: dict[str, Any]) -> Any:
    return decode(json.dumps(payload).encode(), payload["wallet_id"].encode(), Origin("t", 0, 0))


def test_the_history_accepts_every_type_the_wallets_emit_and_the_v1_1_types():
    assert set(wallet_events.EVENT_TYPES) <= set(EVENT_TYPES)
    assert EVENT_TYPES[: len(wallet_events.EVENT_TYPES)] == tuple(wallet_events.EVENT_TYPES)
    assert set(NEW_TYPES) <= set(EVENT_TYPES)
    assert len(set(EVENT_TYPES)) == len(EVENT_TYPES) == 9


def test_a_version_1_event_leaves_the_version_2_fields_null():
    row = _decode(make_payloads(1, 2)[1])
    assert row.schema_version == 1
    assert (row.held_after, row.hold_id, row.reverses_transaction_id, row.description, row.metadata) == (
        None,
        None,
        None,
        None,
        None,
    )


def test_every_event_of_a_holds_life_decodes_with_its_version_2_fields():
    story = hold_story()
    rows = [_decode(p) for p in story.payloads]
    assert [r.schema_version for r in rows] == [1, 1] + [2] * 9
    hold, capture, released, reversal = rows[2], rows[4], rows[5], rows[7]
    assert (hold.event_type, hold.hold_id, hold.held_after, hold.transaction_id) == (
        "HOLD_CREATED",
        story.h1,
        Decimal("30.0000"),
        None,
    )
    assert hold.description == "order A-1"
    assert hold.metadata == {"order": "A-1", "channel": "web"}
    assert hold.counterparty_wallet_id == story.bob[0]
    assert (capture.hold_id, capture.transaction_id, capture.held_after) == (
        story.h1,
        story.capture,
        Decimal("40.0000"),
    )
    assert (released.transaction_id, released.amount) == (story.capture, Decimal("20.0000"))
    assert (reversal.reverses_transaction_id, reversal.transaction_id, reversal.hold_id) == (
        story.capture,
        story.reversal,
        None,
    )
    assert rows[-1].counterparty_wallet_id is None  # a reversal's counterparty may be null
    assert rows[-1].metadata == {}


def test_the_limits_of_description_and_metadata_are_accepted_to_the_character():
    base = hold_story().alices[2]
    metadata = {f"{n:02d}" + "k" * 38: "é" * 500 for n in range(20)}
    row = _decode({**base, "description": "ü" * 255, "metadata": metadata})
    assert row.description == "ü" * 255
    assert row.metadata == metadata
    assert _decode({**base, "description": "", "metadata": {"": ""}}).metadata == {"": ""}


def _hold() -> dict[str, Any]:
    return hold_story().alices[2]


def _reversal() -> dict[str, Any]:
    return hold_story().alices[7]


def _without(payload: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != name}


BAD_EVENTS: dict[str, tuple[Callable[[], dict[str, Any]], str]] = {
    "schema_version 3": (lambda: {**_hold(), "schema_version": 3}, "schema_version must be 1 or 2"),
    "schema_version 0": (lambda: {**_hold(), "schema_version": 0}, "schema_version must be 1 or 2"),
    "schema_version text": (lambda: {**_hold(), "schema_version": "2"}, "schema_version must be 1 or 2"),
    "schema_version float": (lambda: {**_hold(), "schema_version": 2.0}, "schema_version must be 1 or 2"),
    "schema_version true": (lambda: {**_hold(), "schema_version": True}, "schema_version must be 1 or 2"),
    "no held_after": (lambda: _without(_hold(), "held_after"), "requires held_after"),
    "no hold_id": (lambda: _without(_hold(), "hold_id"), "requires hold_id"),
    "no reverses_transaction_id": (
        lambda: _without(_hold(), "reverses_transaction_id"),
        "requires reverses_transaction_id",
    ),
    "no description": (lambda: _without(_hold(), "description"), "requires description"),
    "no metadata": (lambda: _without(_hold(), "metadata"), "requires metadata"),
    "held_after null": (lambda: {**_hold(), "held_after": None}, "held_after"),
    "held_after a number": (lambda: {**_hold(), "held_after": 30}, "held_after"),
    "held_after 5 places": (lambda: {**_hold(), "held_after": "30.00001"}, "held_after"),
    "held_after negative": (lambda: {**_hold(), "held_after": "-1.0000"}, "held_after"),
    "hold_id not a uuid": (lambda: {**_hold(), "hold_id": "hold-1"}, "hold_id"),
    "hold_id a number": (lambda: {**_hold(), "hold_id": 7}, "hold_id"),
    "HOLD_CREATED without hold": (lambda: {**_hold(), "hold_id": None}, "hold_id is missing"),
    "HOLD_RELEASED without hold": (
        lambda: {**hold_story().alices[6], "hold_id": None},
        "hold_id is missing",
    ),
    "reversal without the reversed": (
        lambda: {**_reversal(), "reverses_transaction_id": None},
        "reverses_transaction_id is missing",
    ),
    "reversal without its transaction": (
        lambda: {**_reversal(), "transaction_id": None},
        "transaction_id is missing",
    ),
    "reverses not a uuid": (
        lambda: {**_reversal(), "reverses_transaction_id": "x"},
        "reverses_transaction_id",
    ),
    "description 256 characters": (lambda: {**_hold(), "description": "d" * 256}, "description"),
    "description a number": (lambda: {**_hold(), "description": 5}, "description"),
    "metadata null": (lambda: {**_hold(), "metadata": None}, "metadata must be a JSON object"),
    "metadata a list": (lambda: {**_hold(), "metadata": ["a"]}, "metadata must be a JSON object"),
    "metadata 21 keys": (lambda: {**_hold(), "metadata": {str(n): "v" for n in range(21)}}, "21 keys"),
    "metadata key 41 characters": (lambda: {**_hold(), "metadata": {"k" * 41: "v"}}, "metadata key"),
    "metadata value 501 characters": (lambda: {**_hold(), "metadata": {"k": "v" * 501}}, "metadata['k']"),
    "metadata value a number": (lambda: {**_hold(), "metadata": {"k": 1}}, "metadata['k']"),
    "metadata value null": (lambda: {**_hold(), "metadata": {"k": None}}, "metadata['k']"),
    "metadata value nested": (lambda: {**_hold(), "metadata": {"k": {"a": "b"}}}, "metadata['k']"),
    "a hold type in schema_version 1": (
        lambda: {**_hold(), "schema_version": 1},
        "HOLD_CREATED needs schema_version 2",
    ),
    "WALLET_CREATED holding money": (
        lambda: {**hold_story().bobs[0], "held_after": "1.0000"},
        "WALLET_CREATED must have",
    ),
    "an unknown type": (lambda: {**_hold(), "event_type": "HOLD_CAPTURED"}, "event_type is not one of"),
}


@pytest.mark.parametrize("case", list(BAD_EVENTS))
def test_a_malformed_version_2_event_is_invalid_with_the_reason(case):
    make, reason = BAD_EVENTS[case]
    with pytest.raises(InvalidEvent) as refused:
        _decode(make())
    assert reason in str(refused.value)


def test_v1_and_v2_events_through_the_topic_are_stored_with_their_fields_and_bad_ones_dead_lettered(topics):
    story = hold_story()
    alice = story.alices
    bad = [  # on alice's partition, between her good events
        {**_without(alice[3], "metadata"), "event_id": str(uuid.uuid4())},
        {**alice[3], "event_id": str(uuid.uuid4()), "schema_version": 3},
        {**alice[3], "event_id": str(uuid.uuid4()), "hold_id": None},
        {**alice[3], "event_id": str(uuid.uuid4()), "metadata": {"k": 1}},
    ]
    messages = [event_message(p) for p in alice[:3]]
    messages += [event_message(p) for p in bad]
    messages += [event_message(p) for p in alice[3:] + story.bobs]
    topics.produce(messages)
    stats = topics.consume(max_messages=len(messages))

    assert stats.received == len(messages)
    assert stats.inserted == len(story.payloads) == 11
    assert stats.dead_lettered == 4
    assert stats.gaps == 0
    stored = {row.event_id: row for row in HistoryEvent.objects.all()}
    assert set(stored) == {uuid.UUID(p["event_id"]) for p in story.payloads}
    for payload in story.payloads:
        row = stored[uuid.UUID(payload["event_id"])]
        assert row.payload == payload  # the event exactly as consumed
        assert row.schema_version == payload["schema_version"]
        v2 = payload["schema_version"] == 2
        assert row.held_after == (Decimal(payload["held_after"]) if v2 else None)
        assert row.hold_id == (uuid.UUID(payload["hold_id"]) if v2 and payload["hold_id"] else None)
        reverses = payload.get("reverses_transaction_id")
        assert row.reverses_transaction_id == (uuid.UUID(reverses) if reverses else None)
        assert row.description == payload.get("description")
        assert row.metadata == (payload["metadata"] if v2 else None)
    capture = stored[uuid.UUID(alice[4]["event_id"])]
    assert (capture.event_type, capture.hold_id, capture.held_after, capture.balance_after) == (
        "TRANSFER_OUT",
        story.h1,
        Decimal("40.0000"),
        Decimal("90.0000"),
    )
    assert capture.metadata == {"order": "A-1", "channel": "web"}

    letters = sorted(topics.read_dlq(expected=4), key=lambda r: int(r.headers[OFFSET_HEADER]))
    assert [int(r.headers[OFFSET_HEADER]) for r in letters] == [3, 4, 5, 6]
    errors = [r.headers[ERROR_HEADER].decode() for r in letters]
    assert "schema_version 2 requires metadata" in errors[0]
    assert "schema_version must be 1 or 2, got 3" in errors[1]
    assert "hold_id is missing" in errors[2]
    assert "metadata['k']" in errors[3]
    assert [r.value for r in letters] == [json.dumps(p, separators=(",", ":")).encode() for p in bad]
    assert DeadLetter.objects.count() == 4
    assert topics.consume(stop_when_idle=1.5).received == 0  # offsets committed past them


def test_a_batch_of_version_1_events_only_still_stores_null_version_2_fields(topics):
    """Every new column's array in the bulk insert may be all nulls."""
    payloads = make_payloads(2, 3)
    topics.produce_events(payloads)
    assert topics.consume(max_messages=len(payloads)).inserted == len(payloads)
    assert set(HistoryEvent.objects.values_list("schema_version", "held_after", "hold_id", "metadata")) == {
        (1, None, None, None)
    }


# -- the API --------------------------------------------------------------------------------------


@pytest.fixture
def story(db) -> Any:
    """alice's and bob's wallets, with the hold story in their history."""
    alice = services.wallet_create(user_id="alice")
    bob = services.wallet_create(user_id="bob")
    made = hold_story(alice.id, bob.id)
    project(made.payloads)
    return made


def _events(client: Any, url: str) -> list[dict[str, Any]]:
    response = client.get(url)
    assert response.status_code == 200, response.content
    events: list[dict[str, Any]] = response.json()["data"]
    return events


def test_history_event_objects_carry_the_version_2_fields(story):
    alice = make_client("alice")
    events = _events(alice, f"/wallets/{story.alice[0]}/history")
    assert [e["event_type"] for e in events] == [
        "REVERSAL_IN",
        "HOLD_RELEASED",
        "HOLD_RELEASED",
        "TRANSFER_OUT",
        "HOLD_CREATED",
        "HOLD_CREATED",
        "WALLET_FUNDED",
        "WALLET_CREATED",
    ]
    by_version = {e["wallet_version"]: e for e in events}
    assert by_version[2] | {"id": 0, "event_id": "", "created_at": "", "recorded_at": ""} == {
        "id": 0,
        "event_id": "",
        "event_type": "HOLD_CREATED",
        "wallet_id": str(story.alice[0]),
        "user_id": "alice",
        "amount": "30.0000",
        "currency": "USD",
        "balance_after": "100.0000",
        "held_after": "30.0000",
        "wallet_version": 2,
        "transaction_id": None,
        "counterparty_wallet_id": str(story.bob[0]),
        "hold_id": str(story.h1),
        "reverses_transaction_id": None,
        "description": "order A-1",
        "metadata": {"order": "A-1", "channel": "web"},
        "leg_index": None,
        "created_at": "",
        "recorded_at": "",
    }
    assert by_version[7]["reverses_transaction_id"] == str(story.capture)
    assert by_version[7]["transaction_id"] == str(story.reversal)
    assert by_version[7]["metadata"] == {}
    assert by_version[6]["held_after"] == "0.0000"
    # Events of schema_version 1 say nothing of holds or metadata: null, not a guessed 0 or {}.
    for version in (0, 1):
        assert {k: by_version[version][k] for k in ("held_after", "hold_id", "metadata", "description")} == {
            "held_after": None,
            "hold_id": None,
            "metadata": None,
            "description": None,
        }


@pytest.mark.parametrize(
    ("event_type", "alices", "bobs"),
    [
        ("HOLD_CREATED", [3, 2], []),
        ("HOLD_RELEASED", [6, 5], []),
        ("REVERSAL_IN", [7], []),
        ("REVERSAL_OUT", [], [2]),
        ("HOLD_CREATED,REVERSAL_OUT,TRANSFER_IN", [3, 2], [2, 1]),
    ],
)
def test_the_event_type_filter_takes_each_new_type(story, event_type, alices, bobs):
    ops = make_client("ops", staff=True)
    for wallet, expected in ((story.alice[0], alices), (story.bob[0], bobs)):
        events = _events(ops, f"/wallets/{wallet}/history?event_type={event_type}")
        assert [e["wallet_version"] for e in events] == expected
    activity = _events(ops, f"/users/alice/activity?event_type={event_type}")
    assert sorted(e["wallet_version"] for e in activity) == sorted(alices)


def test_the_hold_id_filter_gives_a_holds_events(story):
    ops = make_client("ops", staff=True)
    h1 = _events(ops, f"/wallets/{story.alice[0]}/history?hold_id={story.h1}")
    assert [(e["event_type"], e["wallet_version"]) for e in h1] == [
        ("HOLD_RELEASED", 5),
        ("TRANSFER_OUT", 4),
        ("HOLD_CREATED", 2),
    ]
    assert [e["event_type"] for e in _events(ops, f"/wallets/{story.bob[0]}/history?hold_id={story.h1}")] == [
        "TRANSFER_IN"
    ]
    upper = str(story.h2).upper()
    both = _events(ops, f"/users/alice/activity?hold_id={upper}&event_type=HOLD_RELEASED")
    assert [e["wallet_version"] for e in both] == [6]
    assert _events(ops, f"/users/alice/activity?hold_id={uuid.uuid4()}") == []
    # Paged through, one event at a time.
    first = ops.get(f"/wallets/{story.alice[0]}/history?hold_id={story.h1}&limit=1").json()
    assert first["has_more"] is True
    second = ops.get(
        f"/wallets/{story.alice[0]}/history?hold_id={story.h1}&limit=1&cursor={first['next_cursor']}"
    ).json()
    assert [e["wallet_version"] for e in first["data"] + second["data"]] == [5, 4]


@pytest.mark.parametrize(
    "value",
    [
        "nope",
        "",
        "12345678123456781234567812345678",  # uuid.UUID would take it; the schema's format does not
        "{12345678-1234-5678-1234-567812345678}",
        "urn:uuid:12345678-1234-5678-1234-567812345678",
        "12345678-1234-5678-1234-5678123456789",
        "12345678-1234-5678-1234-567812345678\n",
    ],
)
def test_a_hold_id_that_is_not_a_uuid_is_a_400_naming_it(story, value):
    alice = make_client("alice")
    for url in (f"/wallets/{story.alice[0]}/history", "/users/alice/activity"):
        response = alice.get(f"{url}?hold_id={urllib.parse.quote(value)}")
        assert response.status_code == 400, (url, value)
        assert response.json()["code"] == "validation_error"
        assert "hold_id" in response.json()["details"]


def test_the_openapi_document_lists_the_new_types_the_hold_filter_and_fields(story):
    document = yaml.safe_load(make_client("ops", staff=True).get("/api/schema/").content)
    for path in ("/wallets/{wallet_id}/history", "/users/{user_id}/activity"):
        parameters = {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}
        event_type = parameters["event_type"]["schema"]
        assert event_type["items"]["enum"] == list(EVENT_TYPES)
        assert event_type["maxItems"] == 9
        hold_id = parameters["hold_id"]["schema"]
        assert hold_id["format"] == "uuid"
        assert re.fullmatch(hold_id["pattern"].strip("^$"), str(story.h1))
    properties = document["components"]["schemas"]["HistoryEventOutput"]["properties"]
    event_type_ref = properties["event_type"]["$ref"].rsplit("/", 1)[-1]
    assert document["components"]["schemas"][event_type_ref]["enum"] == list(EVENT_TYPES)
    assert properties["metadata"]["additionalProperties"] == {"type": "string", "maxLength": 500}
    for name in ("held_after", "hold_id", "reverses_transaction_id", "description", "metadata"):
        assert properties[name]["nullable"] is True, name


# -- the admin ------------------------------------------------------------------------------------


def test_the_admin_filters_by_the_new_types_and_finds_a_hold(story, admin_client):
    url = "/admin/history/historyevent/"

    def listed(**params: str) -> list[str]:
        page = admin_client.get(url, params)
        assert page.status_code == 200
        return sorted(re.findall(r'class="field-event_type">([A-Z_]+)<', page.content.decode()))

    assert listed(event_type__exact="HOLD_RELEASED") == ["HOLD_RELEASED", "HOLD_RELEASED"]
    assert listed(event_type__exact="REVERSAL_OUT") == ["REVERSAL_OUT"]
    assert listed(q=str(story.h1)) == ["HOLD_CREATED", "HOLD_RELEASED", "TRANSFER_IN", "TRANSFER_OUT"]
    assert listed(q=str(story.capture)) == [  # the capture's legs, the release it made, its reversal
        "HOLD_RELEASED",
        "REVERSAL_IN",
        "REVERSAL_OUT",
        "TRANSFER_IN",
        "TRANSFER_OUT",
    ]
    assert listed(schema_version__exact="1") == ["WALLET_CREATED", "WALLET_FUNDED"]
    changelist = admin_client.get(url, {"event_type__exact": "HOLD_CREATED"}).content.decode()
    assert "order A-1" in changelist  # the hold itself: its id on the event's page (the list fits 1366 px)

    event = HistoryEvent.objects.get(event_type="HOLD_CREATED", hold_id=story.h1)
    detail = admin_client.get(f"{url}{event.id}/change/").content.decode()
    for shown in (str(story.h1), "order A-1", "30.0000", "&quot;channel&quot;: &quot;web&quot;"):
        assert shown in detail, shown
