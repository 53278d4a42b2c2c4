"""The Jepsen-style bank workload under faults (bench/chaos.py), short configuration.

Clients transfer money over HTTP, and others hold, capture and void, while Redis, Kafka (once,
then twice in a row while the clients reconnect) and PostgreSQL's postmaster are SIGKILLed, Redis is
restarted by an operator, and the Celery worker, the consumer and the web server are SIGKILLed.
Nobody restarts anything SIGKILLed by hand: the stack's supervisors must. Afterwards every app
process runs again, money is conserved, every answered request is in the ledger (or the holds)
exactly as answered, each wallet's held is its pending holds, the outbox drains within 60 s of the
last fault, reconcile (history equals ledger) is clean and a transfer made then reaches the history
API within 5 s. `make chaos` runs a longer configuration.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import ROOT, stack

pytestmark = pytest.mark.stack

APP = ("web", "worker", "beat", "consumer")


@pytest.fixture
def app_processes_restored():
    """Run the whole stack for the workload; stop afterwards what was not running before."""
    status = stack("status").stdout
    was_running = {name for name in APP if f"{name:<9} running" in status}
    yield
    for name in APP:
        if name not in was_running:
            stack("stop", name)


def test_bank_workload_survives_every_fault(app_processes_restored, tmp_path):
    out = tmp_path / "chaos"
    result = subprocess.run(
        [sys.executable, "bench/chaos.py", "--duration", "70", "--fault-every", "3", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(result.stdout[-4000:])
    report = json.loads(out.with_suffix(".json").read_text())
    injected = {name for _, name, outcome in report["faults"] if outcome.startswith("ok")}
    assert injected == {
        "kill -9 redis",
        "kill -9 worker",
        "kill -9 kafka",
        "restart redis",
        "kill -9 postgres",
        "kill -9 consumer",
        "kill -9 kafka mid-rejoin",
        "kill -9 web",
    }, report["faults"]
    answered_ok = {
        op: sum(count for status, count in answers.items() if status.startswith("2"))
        for op, answers in report["requests"].items()
    }
    assert answered_ok["transfer"] > 100, report["requests"]
    for op in ("hold", "capture", "void"):  # holds ran too, not only transfers
        assert answered_ok.get(op, 0) > 10, report["requests"]
    broken = [check for check in report["invariants"] if not check["holds"]]
    assert not broken, broken
    assert result.returncode == 0, result.stderr[-2000:]
