"""Both relays under load through a relay crash and a Kafka restart (issue #24): every committed
event arrives, each wallet's in order, duplicates only of the same event (the history consumer is
idempotent), the history equals the ledger and reconcile is clean.

The faults overlap on purpose. With RELAY=debezium the Kafka Connect worker is SIGKILLed and, while
its supervisor (`scripts/stack supervise connect`) brings it back, Kafka is stopped: the new worker
starts into a broker that is not there, and whatever dies of that must be brought back by the
supervisor too. With the Celery relay the worker is left running (it is the test's own process,
not supervised: killing it would make this harness the one that restarts it; the SIGKILL of a
supervised worker is `make test`'s chaos run) and Kafka restarts under it. The test restarts only
Kafka, the infrastructure its fault took down; then it waits for the system to heal itself and
checks what it did.

Marked `stack`: it stops the shared Kafka (and always starts it again).
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from history.consumer import ConsumerOptions, HistoryConsumer
from history.models import HistoryEvent
from history.reconcile import reconcile
from kafka_bridge import debezium
from wallets import services
from wallets.models import LedgerTransaction, Wallet

from ..conftest import stack
from .conftest import RELAYS, Bridge, assert_everything_on_the_topic, pending_count, wait_until

WALLETS = 8
FUNDED = Decimal("1000.00")
CLIENTS = 4


class Load:
    """`CLIENTS` threads moving 0.01 between random pairs of the wallets until stopped, each with
    a database connection of its own pointed where the test's is (the CDC database in debezium
    mode). Every transfer must succeed: the relay and Kafka are not in a transfer's path."""

    def __init__(self, wallet_ids: list[uuid.UUID]) -> None:
        self.wallet_ids = wallet_ids
        self.database = dict(connection.settings_dict)
        self.stop = threading.Event()
        self.done = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, args=(n,)) for n in range(CLIENTS)]

    def _client(self, seed: int) -> None:
        connection.settings_dict.update(self.database)
        rng = random.Random(seed)
        try:
            while not self.stop.is_set():
                sender, receiver = rng.sample(self.wallet_ids, 2)
                try:
                    services.transfer_create(
                        from_wallet_id=sender,
                        to_wallet_id=receiver,
                        amount=Decimal("0.01"),
                        initiated_by="fault-load",
                    )
                except Exception as exc:  # counted, and the test fails on any
                    with self.lock:
                        self.errors.append(repr(exc))
                    continue
                with self.lock:
                    self.done += 1
        finally:
            connection.close()

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def wait_for(self, transfers: int, timeout: float = 60.0) -> None:
        wait_until(lambda: self.done >= transfers, timeout, f"{transfers} transfers under load")


def _kafka_restart(down_for: float) -> None:
    stack("stop", "kafka")
    try:
        time.sleep(down_for)
    finally:
        stack("start", "kafka")


@pytest.mark.stack
@pytest.mark.parametrize("bridge", RELAYS, indirect=True)
def test_under_load_a_relay_crash_and_a_kafka_restart_lose_nothing_and_the_history_equals_the_ledger(
    bridge: Bridge,
) -> None:
    worker = bridge.make_worker()  # the Celery relay, or in debezium mode the sweeper that cleans
    worker.start()
    wallets = [services.wallet_create(user_id=f"fault{n}") for n in range(WALLETS)]
    for wallet in wallets:
        services.wallet_fund(wallet_id=wallet.id, amount=FUNDED, initiated_by="test")
    connect_pid = bridge.stack.connect_pid() if bridge.stack is not None else None

    with Load([wallet.id for wallet in wallets]) as load:
        load.wait_for(200)
        if bridge.stack is not None:
            assert connect_pid is not None
            os.kill(connect_pid, signal.SIGKILL)  # no shutdown, no offset flush
        _kafka_restart(down_for=6.0)
        at_restart = load.done
        load.wait_for(at_restart + 300)  # and on, with Kafka back
    assert not load.errors, load.errors[:5]
    transfers = load.done
    print(f"{transfers} transfers under load ({at_restart} before Kafka was back)")

    # The system heals itself: nothing here starts a relay.
    if bridge.stack is not None:
        wait_until(
            lambda: bridge.stack.connect_pid() not in (None, connect_pid),
            60,
            "the supervisor restarted Connect",
        )
        wait_until(lambda: debezium.connector_state().status == "ok", 180, "the connector runs again")
    wait_until(lambda: pending_count() == 0, 180, "the backlog drained and was deleted")
    assert worker.process is not None and worker.process.poll() is None, worker.tail()

    written = bridge.written()
    assert len(written) == 2 * WALLETS + 2 * transfers, "two events per transfer, one per create and fund"
    received = assert_everything_on_the_topic(bridge, timeout=90)
    duplicates = len(received) - len(written)
    print(f"{len(written)} events, {duplicates} duplicate messages on the topic")

    stats = HistoryConsumer(
        ConsumerOptions(group_id=f"test-fault-{uuid.uuid4().hex[:8]}", stop_when_idle=3.0, poll_timeout=0.2)
    ).run()
    assert stats.inserted == len(written), stats
    assert stats.duplicates == duplicates, "every duplicate is recognised as one, none stored twice"
    assert stats.dead_lettered == 0 and stats.gaps == 0, stats
    assert set(map(str, HistoryEvent.objects.values_list("event_id", flat=True))) == set(written)

    assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.TRANSFER).count() == transfers
    total: Any = Wallet.objects.filter(kind=Wallet.Kind.USER).aggregate(total=Sum("balance"))["total"]
    assert total == FUNDED * WALLETS, "money is conserved"
    result = reconcile(history_grace=0.0)  # the history against the ledger, version by version
    assert result.ok, [check for check in result.checks if not check.ok]
