"""Two `consume_events` processes in one consumer group share the partitions; when one is SIGKILLed
under load, the other takes its partitions over: no event lost, none doubled.

This is how the history service scales past one machine: one consumer per partition at most.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from django.db.models import Count, Max, Min

from history.models import HistoryEvent, VersionGap

from .conftest import PYTHON, ROOT, event_message, make_payloads, wait_until

ASSIGNED = re.compile(r"assigned \S+ partitions \[([0-9, ]*)\]")


class ConsumerProcess:
    def __init__(self, topics: Any, log: Path, *, batch_size: int = 50) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    str(PYTHON),
                    "manage.py",
                    "consume_events",
                    "--batch-size",
                    str(batch_size),
                    "--session-timeout",
                    "6",
                ],
                cwd=ROOT,
                env=topics.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def assignment(self) -> list[int] | None:
        found = ASSIGNED.findall(self.text())
        return [int(p) for p in found[-1].split(",") if p.strip()] if found else None

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.alive():
            os.killpg(self.process.pid, sig)
        return self.process.wait(timeout=30)


def test_two_processes_share_the_partitions_and_one_takes_over_when_the_other_is_killed(topics, tmp_path):
    payloads = make_payloads(120, 40)  # 4,800 events, in version order per wallet
    by_round = sorted(payloads, key=lambda p: p["wallet_version"])  # every wallet's v0, then v1, ...
    first, rest = by_round[:1200], by_round[1200:]
    topics.produce_events(first)

    a = ConsumerProcess(topics, tmp_path / "a.log")
    b = ConsumerProcess(topics, tmp_path / "b.log")
    try:

        def shared() -> bool:
            mine, theirs = a.assignment() or [], b.assignment() or []
            return bool(mine) and bool(theirs) and sorted(mine + theirs) == list(range(6))

        wait_until(shared, 60, "both consumers assigned a share", lambda: f"a:\n{a.text()}\nb:\n{b.text()}")
        shares = (a.assignment() or [], b.assignment() or [])
        assert len(shares[0]) == len(shares[1]) == 3, shares

        # Keep producing while they consume ("under load").
        producing = threading.Thread(target=lambda: _produce_slowly(topics, rest))
        producing.start()
        wait_until(lambda: HistoryEvent.objects.count() >= 1500, 60, "a share of the events stored")
        a_partitions = set(shares[0])
        stored_by_a = HistoryEvent.objects.filter(partition__in=a_partitions).count()
        assert stored_by_a > 0  # process a was doing its share before it died
        a.stop(signal.SIGKILL)
        assert a.process.returncode == -signal.SIGKILL

        wait_until(lambda: b.assignment() == list(range(6)), 40, "b took every partition over", b.text)
        producing.join(timeout=60)
        assert not producing.is_alive()
        wait_until(
            lambda: HistoryEvent.objects.count() >= len(payloads),
            60,
            "every event stored",
            lambda: f"{HistoryEvent.objects.count()} of {len(payloads)}\n{b.text()[-3000:]}",
        )
        time.sleep(1.0)  # anything extra would show up now
        assert b.alive()
        assert b.stop(signal.SIGTERM) == 0
        assert "history consumer: stopped" in b.text()
    finally:
        a.stop(signal.SIGKILL)
        b.stop(signal.SIGKILL)

    # No event lost, none doubled: exactly the produced events, each wallet's versions 0..39 once.
    assert HistoryEvent.objects.count() == len(payloads)
    assert set(HistoryEvent.objects.values_list("event_id", flat=True)) == {
        uuid.UUID(p["event_id"]) for p in payloads
    }
    per_wallet = HistoryEvent.objects.values("wallet_id").annotate(
        n=Count("id"), low=Min("wallet_version"), high=Max("wallet_version")
    )
    assert len(per_wallet) == 120
    assert all((w["n"], w["low"], w["high"]) == (40, 0, 39) for w in per_wallet)
    assert not VersionGap.objects.exists()
    # The survivor saved events of the dead consumer's partitions after it died.
    assert HistoryEvent.objects.filter(partition__in=a_partitions).count() > stored_by_a


def _produce_slowly(
    topics: Any, payloads: list[dict[str, Any]], chunk: int = 300, pause: float = 0.5
) -> None:
    for start in range(0, len(payloads), chunk):
        topics.produce(event_message(p) for p in payloads[start : start + chunk])
        time.sleep(pause)
