"""The Jepsen-style bank workload under faults (bench/chaos.py), short configuration.

Clients transfer money over HTTP while Redis restarts (twice a round), Kafka is SIGKILLed and
restarted, PostgreSQL is stopped and started, and the Celery worker, the consumer and the web
server are SIGKILLed. Nobody restarts an app process by hand: the stack's supervisor must. Afterwards
every app process runs again, money is conserved, every answered request is in the ledger exactly
as answered, the outbox drains within 60 s of the last fault and reconcile (history equals ledger)
is clean. `make chaos` runs a longer configuration.
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
    injected = {name for _, name, outcome in report["faults"] if outcome == "ok"}
    assert injected == {
        "restart redis",
        "kill -9 worker",
        "kill -9 kafka",
        "restart redis again",
        "stop postgres",
        "kill -9 consumer",
        "kill -9 web",
    }, report["faults"]
    answered_ok = sum(count for status, count in report["requests"].items() if status.startswith("2"))
    assert answered_ok > 100, report["requests"]
    broken = [check for check in report["invariants"] if not check["holds"]]
    assert not broken, broken
    assert result.returncode == 0, result.stderr[-2000:]
