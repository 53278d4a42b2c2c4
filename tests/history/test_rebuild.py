"""`manage.py rebuild_history` rebuilds the projection from the topic: the result equals the original
(schema_version 2 fields included), even after rows were lost or altered, and the live group's
offsets and the DLQ are left alone."""

from __future__ import annotations

import io
import uuid
from typing import Any

from django.core.management import call_command
from django.db import connection

from history.lag import consumer_lag
from history.models import DeadLetter, HistoryEvent, ReconciledWallet, VersionGap

from .conftest import event_message, hold_story, make_payloads

COLUMNS = [
    f.name for f in HistoryEvent._meta.fields if f.name not in ("id", "recorded_at")
]  # everything but the row number and when it was stored


def snapshot() -> dict[Any, dict[str, Any]]:
    return {row["event_id"]: row for row in HistoryEvent.objects.values(*COLUMNS)}


def test_rebuild_history_equals_the_original(topics, operator):
    # Real events from the API, synthetic ones for more wallets, a duplicate, a poison message and a gap.
    wallets = [
        operator.post("/wallets", {"user_id": f"u{n}"}, format="json").json()["data"]["id"] for n in range(4)
    ]
    for wallet in wallets:
        operator.post(f"/wallets/{wallet}/fund", {"amount": "10"}, format="json")
    operator.post(
        f"/wallets/{wallets[0]}/transfer", {"to_wallet_id": wallets[1], "amount": "2.5"}, format="json"
    )
    topics.produce_outbox()
    synthetic = make_payloads(20, 8)
    missing = synthetic.pop(5)  # a version gap in the first synthetic wallet
    topics.produce_events(synthetic)
    topics.produce_events(synthetic[:3])  # redelivered duplicates
    topics.produce([{"key": synthetic[0]["wallet_id"].encode(), "value": b'{"event_type": "nope"}'}])
    story = hold_story()  # schema_version 2 events: holds, a capture, a reversal, metadata
    topics.produce_events(story.payloads)
    total = 4 + 4 + 2 + len(synthetic) + 3 + 1 + len(story.payloads)
    stats = topics.consume(max_messages=total)
    assert stats.received == total
    assert stats.dead_lettered == 1
    assert stats.gaps == 1

    original = snapshot()
    assert len(original) == 4 + 4 + 2 + len(synthetic) + len(story.payloads)
    assert {"held_after", "hold_id", "reverses_transaction_id", "description", "metadata"} <= set(COLUMNS)
    hold = original[uuid.UUID(story.alices[2]["event_id"])]
    assert (hold["hold_id"], hold["metadata"], hold["schema_version"]) == (
        story.h1,
        {"order": "A-1", "channel": "web"},
        2,
    )
    gaps_before = list(
        VersionGap.objects.values_list("wallet_id", "first_missing", "last_missing", "resolved_at")
    )
    lag_before = [(p.partition, p.committed) for p in consumer_lag(group_id=topics.group, topic=topics.topic)]
    assert sum(p.lag for p in consumer_lag(group_id=topics.group, topic=topics.topic)) == 0

    # Damage the projection: lose rows (a hold event among them), alter one.
    victims = list(HistoryEvent.objects.order_by("?").values_list("id", flat=True)[:7])
    victims.append(HistoryEvent.objects.get(event_id=story.alices[5]["event_id"]).id)
    HistoryEvent.objects.filter(event_type="TRANSFER_OUT", hold_id=story.h1).update(metadata={})
    HistoryEvent.objects.filter(id__in=victims).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE history_historyevent SET balance_after = 999 WHERE id = %s", [max(victims) + 1]
        )
    assert snapshot() != original

    out = io.StringIO()
    call_command("rebuild_history", "--batch-size", "25", stdout=out)
    assert f"read {total} messages" in out.getvalue()

    rebuilt = snapshot()
    assert rebuilt == original
    assert (
        list(VersionGap.objects.values_list("wallet_id", "first_missing", "last_missing", "resolved_at"))
        == gaps_before
    )
    assert str(VersionGap.objects.get().wallet_id) == missing["wallet_id"]
    # The poison message was dead-lettered once, by the consumer, not again by the rebuild.
    assert DeadLetter.objects.count() == 1
    assert len(topics.read_dlq(expected=1, quiet=1.0)) == 1
    # The live group was not touched.
    assert [
        (p.partition, p.committed) for p in consumer_lag(group_id=topics.group, topic=topics.topic)
    ] == lag_before

    # And the consumer carries on after a rebuild: the late event closes the gap.
    topics.produce([event_message(missing)])
    assert topics.consume(max_messages=1).inserted == 1
    assert VersionGap.objects.get().resolved_at is not None


def test_rebuild_reports_progress_and_has_the_new_history_verified_anew(topics, operator, drained):
    from history.rebuild import rebuild_history
    from history.reconcile import reconcile

    assert reconcile(full=False, history_grace=0).ok
    assert not ReconciledWallet.objects.filter(history_version__lt=0).exists()
    retained = HistoryEvent.objects.count()
    seen: list[tuple[int, int]] = []
    result = rebuild_history(batch_size=5, on_progress=lambda read, total: seen.append((read, total)))
    assert result.read == retained
    assert seen[0] == (0, retained) and seen[-1] == (retained, retained)
    assert [read for read, _ in seen] == sorted(read for read, _ in seen)  # it only moves forward
    # The periodic reconcile replays every wallet's new history from its creation again.
    assert set(ReconciledWallet.objects.values_list("history_version", flat=True)) == {-1}
    again = reconcile(full=False, history_grace=0)
    assert again.ok, again.report()
    assert {c.name: c for c in again.checks}[
        "history_matches_ledger"
    ].checked == "the new events of 3 wallets"
