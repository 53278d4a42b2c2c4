"""Losing the database under transfer load, on stacks of the test's own (their own STACK_DIR and
loopback ports, stopped and deleted afterwards; the suite's stack is never touched).

- DB_HA=patroni: the primary's postmaster SIGKILLed: Patroni promotes the synchronous standby, the
  service answers again within 15 s, no acknowledged transfer is lost, money is conserved, the
  outbox drains, history equals the ledger, and the old primary rejoins as the standby by itself.
  Then the standby's postmaster, then etcd: the primary keeps serving.
- The single server: its postmaster SIGKILLed: the stack's supervisor starts it again, nothing lost.
- DB_HA=patroni with RELAY=debezium: the primary's postmaster SIGKILLed: as above, and the
  connector's slot (Patroni's permanent slot) is on the promoted node, the connector streams from
  it again by itself, and every event reaches history (some may go twice, none is lost).

bench/failover.py injects the fault and checks; docs/high-availability.md has the measured times.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, STACK

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]


def free_port_pair(taken: set[int]) -> int:
    """A loopback port that is free, and the next one too (Kafka's controller, etcd's peers and
    the second Patroni node take port + 1)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + 1 > 65535 or {port, port + 1} & taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        taken |= {port, port + 1}
        return port


def own_stack_env(stack_dir: Path, *, ha: bool, relay: str = "celery") -> dict[str, str]:
    taken: set[int] = set()
    pg, redis, kafka, web, connect = (free_port_pair(taken) for _ in range(5))
    env = {
        **os.environ,
        "STACK_DIR": str(stack_dir),
        "REDIS_URL": f"redis://127.0.0.1:{redis}/0",
        "KAFKA_BROKERS": f"127.0.0.1:{kafka}",
        "PORT": str(web),
        "HISTORY_PORT": str(web + 1),
        "CONNECT_PORT": str(connect),
        "WEBHOOKS": "off",
        "RELAY": relay,
        "WEB_CONCURRENCY": "2",
    }
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "KAFKA_CONTROLLER_PORT", "TEST_DATABASE_NAME"):
        env.pop(name, None)
    if ha:
        env.update(
            DB_HA="patroni",
            DB_READ_REPLICA="true",
            DATABASE_URL=(
                f"postgres://wallet:wallet@127.0.0.1:{pg},127.0.0.1:{pg + 1}/wallet"
                "?target_session_attrs=read-write"
            ),
            DB_HA_ETCD_PORT=str(free_port_pair(taken)),
            DB_HA_REST_PORT=str(free_port_pair(taken)),
            DB_HA_PROXY_PORT=str(free_port_pair(taken)),
        )
    else:
        env.update(DB_HA="off", DATABASE_URL=f"postgres://wallet:wallet@127.0.0.1:{pg}/wallet")
    return env


def run_stack(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(STACK), *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def own_stack_dir(name: str) -> Path:
    """In .stack/ (git-ignored), not in pytest's tmp folder: the servers run as the postgres user,
    and a pytest session started meanwhile (another run) makes pytest's base folder 0700 again."""
    return ROOT / ".stack" / f"{name}-{uuid.uuid4().hex[:8]}"


def own_stack(name: str, *, ha: bool, relay: str = "celery") -> Iterator[dict[str, str]]:
    """A whole stack of the test's own (`up`), its environment yielded; down and deleted after."""
    stack_dir = own_stack_dir(name)
    env = own_stack_env(stack_dir, ha=ha, relay=relay)
    try:
        run_stack(env, "up")
        yield env
    finally:
        subprocess.run([str(STACK), "down"], capture_output=True, env=env, cwd=ROOT, timeout=600)
        shutil.rmtree(stack_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def ha_stack() -> Iterator[dict[str, str]]:
    yield from own_stack("failover-ha", ha=True)


@pytest.fixture(scope="module")
def single_stack() -> Iterator[dict[str, str]]:
    yield from own_stack("failover-single", ha=False)


def run_bench(
    env: dict[str, str], script: str, out: Path, *args: str
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """One run of a fault bench (bench/failover.py, bench/chaos.py) against a stack of the test's
    own: its JSON report and the finished process (its output printed for the test's log)."""
    result = subprocess.run(
        [sys.executable, script, "--out", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    print(result.stdout[-6000:], result.stderr[-3000:])
    return json.loads(out.with_suffix(".json").read_text()), result


def failover(env: dict[str, str], fault: str, out: Path) -> dict[str, Any]:
    """One run of bench/failover.py; every invariant it checked must hold."""
    report, result = run_bench(env, "bench/failover.py", out, "--fault", fault, "--after", "20")
    run = dict(report["runs"][0])
    broken = [check for check in run["invariants"] if not check["holds"]]
    assert not broken, broken
    assert result.returncode == 0, result.stderr[-2000:]
    return run


def status_lines(env: dict[str, str]) -> dict[str, str]:
    return {line.split()[0]: line for line in run_stack(env, "status").splitlines()}


def test_patroni_status_names_the_leader_and_the_sync_standby(ha_stack):
    lines = status_lines(ha_stack)
    assert {"etcd", "patroni-a", "patroni-b"} <= set(lines)
    assert "postgres" not in lines
    nodes = (lines["patroni-a"], lines["patroni-b"])
    assert sorted(line.endswith(" leader") for line in nodes) == [False, True], nodes
    assert sorted(line.endswith(" sync standby") for line in nodes) == [False, True], nodes


def test_lag_tolerant_reads_go_to_the_standby_and_writes_to_the_primary(ha_stack):
    """DB_READ_REPLICA=true: a wallet's history and a user's activity are read on the standby (the
    web's `replica` connection is there), the wallet's creation on the primary."""
    import psycopg

    python = str(ROOT / ".venv" / "bin" / "python")
    token = subprocess.run(
        [python, "manage.py", "issue_token", "replica-reader"],
        cwd=ROOT,
        env=ha_stack,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    base = f"http://127.0.0.1:{ha_stack['PORT']}"
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    create = urllib.request.Request(
        f"{base}/wallets", data=b'{"user_id":"replica-reader"}', headers=headers, method="POST"
    )
    with urllib.request.urlopen(create, timeout=10) as response:
        wallet_id = json.loads(response.read())["data"]["id"]
    for path in (f"/wallets/{wallet_id}/history", "/users/replica-reader/activity"):
        for _ in range(4):  # every web worker may hold its own connection: ask a few times
            with urllib.request.urlopen(
                urllib.request.Request(base + path, headers=headers), timeout=10
            ) as got:
                assert got.status == 200
    hosts = urllib.parse.urlsplit(ha_stack["DATABASE_URL"]).netloc.rpartition("@")[2]
    sessions = {}
    for attrs in ("standby", "primary"):
        url = f"postgres://wallet:wallet@{hosts}/wallet?target_session_attrs={attrs}"
        with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'wallet-lag-tolerant-reads'"
            ).fetchone()
            sessions[attrs] = row[0] if row else 0
    assert sessions["standby"] >= 1, sessions
    assert sessions["primary"] == 0, sessions


def test_killed_primary_fails_over_and_loses_no_acknowledged_transfer(ha_stack, tmp_path):
    run = failover(ha_stack, "primary", tmp_path / "primary")
    names = [check["name"] for check in run["invariants"]]
    assert "the standby was promoted" in names
    assert "reconcile clean (history equals ledger)" in names
    assert run["first_ok_after_kill_seconds"] is not None
    assert float(run["first_ok_after_kill_seconds"]) <= 15
    assert int(run["acknowledged"]) > 50


def test_killed_standby_leaves_the_primary_serving(ha_stack, tmp_path):
    """synchronous_mode_strict off: the primary goes on alone while Patroni restarts the standby."""
    run = failover(ha_stack, "standby", tmp_path / "standby")
    assert float(run["longest_gap_between_2xx_seconds"]) < 15


def test_restarted_etcd_leaves_the_primary_serving(ha_stack, tmp_path):
    before = status_lines(ha_stack)
    run = failover(ha_stack, "etcd", tmp_path / "etcd")
    assert float(run["longest_gap_between_2xx_seconds"]) < 15
    after = status_lines(ha_stack)
    assert "restarts: 1" in after["etcd"], after["etcd"]
    leader_before = next(name for name in ("patroni-a", "patroni-b") if before[name].endswith(" leader"))
    assert after[leader_before].endswith(" leader"), "etcd's restart moved the leader"


def test_down_stops_every_process_of_the_cluster(ha_stack, tmp_path):
    """Last in this module: `down` leaves no etcd, Patroni or PostgreSQL process behind, and the
    supervisors restart nothing after it."""
    stack_dir = Path(ha_stack["STACK_DIR"])
    run_stack(ha_stack, "down")
    lines = status_lines(ha_stack)
    for name in ("etcd", "patroni-a", "patroni-b"):
        assert " stopped" in lines[name], lines[name]
    leftovers = subprocess.run(["pgrep", "-af", str(stack_dir)], capture_output=True, text=True).stdout
    assert leftovers.strip() == "", leftovers


def test_killed_postmaster_of_the_single_server_comes_back_by_itself(single_stack, tmp_path):
    run = failover(single_stack, "postmaster", tmp_path / "postmaster")
    assert float(run["first_ok_after_kill_seconds"]) <= 15
    assert "restarts: 1" in status_lines(single_stack)["postgres"]


def test_killed_redis_and_kafka_come_back_by_themselves(single_stack):
    """SIGKILL of Redis and of Kafka: their supervisors start them again, and readiness is 200."""
    run_dir = Path(single_stack["STACK_DIR"]) / "run"
    killed = {}
    for service in ("redis", "kafka"):
        killed[service] = int((run_dir / f"{service}.pid").read_text().split()[0])
        os.killpg(killed[service], signal.SIGKILL)
    deadline = time.monotonic() + 120
    while True:
        lines = status_lines(single_stack)
        back = all(
            "running (pid" in lines[service]
            and f"(pid {pid})" not in lines[service]
            and "restarts: 1" in lines[service]
            for service, pid in killed.items()
        )
        if back:
            break
        assert time.monotonic() < deadline, lines
        time.sleep(1)
    url = f"http://127.0.0.1:{single_stack['PORT']}/health/ready"
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        assert time.monotonic() < deadline, "readiness not 200 within 120 s of the kills"
        time.sleep(1)


def test_down_stops_the_single_server_stack_and_nothing_restarts(single_stack):
    """`down` stops each supervisor before its process: nothing is running afterwards, and 3 s
    later (past the first back-off) still nothing."""
    run_stack(single_stack, "down")
    time.sleep(3)
    for line in status_lines(single_stack).values():
        assert " stopped" in line, line
    leftovers = subprocess.run(
        ["pgrep", "-af", single_stack["STACK_DIR"]], capture_output=True, text=True
    ).stdout
    assert leftovers.strip() == "", leftovers


# Last in this module, so the stacks above are down before this one (Kafka Connect's JVM too) starts.
@pytest.fixture(scope="module")
def ha_debezium_stack() -> Iterator[dict[str, str]]:
    yield from own_stack("failover-ha-debezium", ha=True, relay="debezium")


def test_killed_primary_fails_over_with_debezium_and_loses_no_event(ha_debezium_stack, tmp_path):
    """RELAY=debezium under DB_HA=patroni: the connector's slot is on the promoted node (Patroni's
    permanent slot, copied to the standby before the kill), the connector finds the new leader
    through the stack's HAProxy and streams again by itself, the outbox drains and history equals
    the ledger; the old primary rejoins as the sync standby."""
    lines = status_lines(ha_debezium_stack)
    assert "running (pid" in lines["haproxy"] and "to the leader" in lines["haproxy"], lines["haproxy"]
    assert "running (pid" in lines["connect"], lines["connect"]
    run = failover(ha_debezium_stack, "primary", tmp_path / "primary-debezium")
    names = [check["name"] for check in run["invariants"]]
    assert "the standby holds a copy of the connector's slot" in names
    assert "the standby was promoted" in names
    assert "the connector streams from the slot on the leader again" in names
    assert "reconcile clean (history equals ledger)" in names
    assert float(run["first_ok_after_kill_seconds"]) <= 15
    assert int(run["acknowledged"]) > 50
    assert run["relay"] == "debezium"
    # Every acknowledged transfer is on Kafka (two events each, plus the funding): at least as many
    # events as the ledger made, duplicates apart.
    assert int(run["events_on_kafka"]) - int(run["events_sent_twice"]) >= 2 * int(run["acknowledged"])
    after = status_lines(ha_debezium_stack)
    nodes = (after["patroni-a"], after["patroni-b"])
    assert sorted(line.endswith(" leader") for line in nodes) == [False, True], nodes
    assert sorted(line.endswith(" sync standby") for line in nodes) == [False, True], nodes
