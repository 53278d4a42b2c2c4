"""A Jepsen-style bank workload under faults, against the running stack.

Client threads transfer money between a few wallets over HTTP, each request with its own
Idempotency-Key; others hold money and then capture all or part of it, or void the hold (a hold
operation whose answer was lost, or said nothing was done: 5xx, 409 key in use or lock conflict, is
sent again with the same key, which replays a done one). Meanwhile a schedule of faults runs:
SIGKILL Redis, Kafka (once, and in another fault twice, the second time a second after it came
back, while the clients reconnect and the consumer rejoins its group) and PostgreSQL's postmaster;
an operator's graceful Redis restart; SIGKILL the Celery worker, the consumer and the web server.
Nothing SIGKILLed is restarted by this script: the stack's supervisors must bring it back (the
script waits for that and records how long it took), including a process that died *because of*
another fault. A fault test whose harness restarts what died cannot see that. Only the graceful
Redis restart is undone by hand, as an operator would. `--faults` picks a schedule of one's own.
Afterwards it checks the invariants and prints a summary table:

- every app process (web, worker, beat, consumer) is running, supervised, without `stack up`;
- total money of the workload's wallets unchanged to the last 0.0001 (a capture is a transfer,
  a hold moves no money); no negative balance;
- every transfer answered 2xx is in the ledger exactly once (its idempotency record and the
  ledger transaction named in its stored response), every answered failure not at all, and no
  transfer exists that no request accounts for (cut-off requests may go either way, never twice);
- every hold, capture and void answered 2xx took effect exactly once, as asked (the hold exists
  with its wallets and amount; the capture left it captured with the amount asked and the
  transaction answered; the void left it voided), every request whose every attempt was answered
  with a failure not at all, and no hold, capture or void exists that no request accounts for;
- every wallet: 0 <= held <= balance, and held = the sum of its pending holds;
- the outbox drains within --drain-timeout (60 s) of the last fault; the history catches up with the
  ledger in that time (`manage.py reconcile` is clean); a transfer made afterwards shows in the
  history API within --history-timeout (5 s).

    .venv/bin/python bench/chaos.py --duration 60      # short (CI); `make chaos` runs longer
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import close_old_connections, connection  # noqa: E402
from django.db.models import DecimalField, Q, Sum, Value  # noqa: E402
from django.db.models.functions import Coalesce  # noqa: E402

from kafka_bridge.models import OutboxEvent  # noqa: E402
from wallets import services  # noqa: E402
from wallets.models import Hold, IdempotencyRecord, LedgerEntry, LedgerTransaction, Wallet  # noqa: E402

STACK = str(ROOT / "scripts" / "stack")
STACK_DIR = Path(os.environ.get("STACK_DIR", str(ROOT / ".stack"))).resolve()
# The longest a SIGKILLed service may take to come back by its supervisor: Kafka took up to 83 s on
# a machine at load 11-13 (a JVM start, its log recovered, and the supervisor's back-off, doubling
# from 1 s to 30 s while the process keeps dying within a minute of its start).
HEAL_TIMEOUT = 180.0
RESULTS = ROOT / "bench" / "results"
PYTHON = str(ROOT / ".venv" / "bin" / "python")


def stack(*args: str) -> None:
    subprocess.run([STACK, *args], check=True, capture_output=True, text=True, timeout=240)


def pid_of(service: str) -> int | None:
    """The pid in SERVICE.pid (the supervised process; its supervisor rewrites it on a restart)."""
    try:
        return int((STACK_DIR / "run" / f"{service}.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def gone(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def kill9(service: str) -> None:
    """SIGKILL a service's process group (an app process with its children, Kafka's JVM, Redis)."""
    pid = pid_of(service)
    if pid is None:
        raise RuntimeError(f"{service} is not running")
    os.killpg(pid, signal.SIGKILL)
    gone(pid)


def kill9_app(service: str) -> str:
    """SIGKILL an app process; its supervisor must start it again (checked after the run)."""
    kill9(service)
    return "ok"


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def service_port(service: str) -> int:
    if service == "postgres":
        return int(settings.DATABASES["default"]["PORT"] or 5432)
    if service == "redis":
        return urllib.parse.urlsplit(settings.REDIS_URL).port or 6379
    return int(str(settings.KAFKA_BROKERS).split(",")[0].rpartition(":")[2])


def wait_healed(service: str, killed_pid: int, timeout: float = HEAL_TIMEOUT) -> float:
    """Seconds until the supervisor runs `service` again (another pid) and it listens on its port;
    raises if it is not back within `timeout` (then nothing else would bring it back)."""
    started = time.monotonic()
    port = service_port(service)
    while time.monotonic() - started < timeout:
        pid = pid_of(service)
        if pid is not None and pid != killed_pid and listening(port):
            return time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError(f"{service} not back {timeout:.0f}s after SIGKILL")


def kill9_and_heal(service: str) -> str:
    """SIGKILL an infrastructure service and wait for its supervisor to start it again; nothing is
    restarted by hand. PostgreSQL's postmaster alone gets the signal (its backends are left to
    notice, as after an OOM kill), any other service its process group."""
    pid = pid_of(service)
    if pid is None:
        raise RuntimeError(f"{service} is not running")
    if service == "postgres":
        os.kill(pid, signal.SIGKILL)
        gone(pid)
    else:
        kill9(service)
    return f"ok, back in {wait_healed(service, pid):.1f}s"


def log_size(service: str) -> int:
    try:
        return (STACK_DIR / "logs" / f"{service}.log").stat().st_size
    except OSError:
        return 0


def logged_since(service: str, offset: int) -> str:
    try:
        with (STACK_DIR / "logs" / f"{service}.log").open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")
    except OSError:
        return ""


def fault_kafka_twice() -> str:
    """Kafka SIGKILLed, and again a second after it is back: while the consumer rejoins its group
    (it lost its partitions when the broker was gone longer than its session timeout) and the
    relay's producer reconnects, the state issue #37's consumer once hung in. Says whether the
    consumer had its partitions again at the second kill."""
    consumer_log = log_size("consumer")
    first = kill9_and_heal("kafka")
    time.sleep(1)
    rejoined = "history consumer: assigned" in logged_since("consumer", consumer_log)
    second = kill9_and_heal("kafka")
    state = "after the consumer was assigned again" if rejoined else "before the consumer was assigned again"
    return f"{first}; again 1s later ({state}), {second.removeprefix('ok, ')}"


def fault_redis_restart() -> str:
    """An operator's graceful restart (stop, 3 s, start): the worker must ride it out."""
    stack("stop", "redis")
    time.sleep(3)
    stack("start", "redis")
    return "ok"


APPS = ("web", "worker", "beat", "consumer")

# One round of faults, in order. Infrastructure SIGKILLed is brought back by its supervisor only;
# an app process SIGKILLed too. Only the operator's graceful Redis restart is undone by this script.
FAULTS: dict[str, Callable[[], str]] = {
    "kill -9 redis": lambda: kill9_and_heal("redis"),
    "kill -9 worker": lambda: kill9_app("worker"),
    "kill -9 kafka": lambda: kill9_and_heal("kafka"),
    "restart redis": fault_redis_restart,
    "kill -9 postgres": lambda: kill9_and_heal("postgres"),
    "kill -9 consumer": lambda: kill9_app("consumer"),
    "kill -9 kafka mid-rejoin": fault_kafka_twice,
    "kill -9 web": lambda: kill9_app("web"),
}


def app_states() -> dict[str, str]:
    """`scripts/stack status` of each app process, e.g. 'running (pid 12) restarts: 1'."""
    out = subprocess.run([STACK, "status"], capture_output=True, text=True, timeout=60).stdout
    return {
        line.split()[0]: line.split(None, 1)[1].strip()
        for line in out.splitlines()
        if line.split()[0] in APPS
    }


def all_apps_supervised_and_running() -> bool:
    states = app_states()
    return all("running (pid" in states.get(app, "") and "unsupervised" not in states[app] for app in APPS)


@dataclass
class Outcome:
    """One HTTP attempt. A hold operation retried with its Idempotency-Key has several."""

    op: str  # "transfer", "hold", "capture" or "void"
    key: str
    status: int | None  # None: no answer (connection cut, timeout)
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def may_retry(self) -> bool:
        """Nothing was done, or whether it was cannot be told: the same key again is safe (a done
        request is replayed, never run twice) and tells the client what happened."""
        if self.status is None or self.status >= 500:
            return True
        return self.status == 409 and error_code(self.body) in ("idempotency_key_in_use", "conflict")


def error_code(body: bytes) -> str:
    try:
        return str(json.loads(body).get("code", ""))
    except (ValueError, AttributeError):
        return ""


@dataclass(frozen=True)
class HoldRequest:
    """A hold operation as asked, to check what its recorded answer did."""

    op: str  # "hold", "capture" or "void"
    target: str  # hold: the sending wallet; capture and void: the hold
    body: dict[str, str]


def cents(value: int) -> str:
    return f"{Decimal(value) / 100:.2f}"


# Holds each hold client leaves pending on purpose, so the final `held` is not trivially zero
# (bounded: every pending hold takes money the transfers could otherwise move).
PENDING_LEFT = 10


@dataclass
class Workload:
    wallet_ids: list[str]
    token: str
    stop: threading.Event = field(default_factory=threading.Event)
    outcomes: list[Outcome] = field(default_factory=list)
    hold_requests: dict[str, HoldRequest] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, op: str, key: str, path: str, body: dict[str, str] | None) -> Outcome:
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Token {self.token}",
            "Idempotency-Key": key,
        }
        try:
            conn = http.client.HTTPConnection("127.0.0.1", settings.PORT, timeout=15)
            conn.request("POST", path, "" if body is None else json.dumps(body), headers)
            response = conn.getresponse()
            outcome = Outcome(op, key, response.status, response.read())
            conn.close()
        except (OSError, http.client.HTTPException):
            outcome = Outcome(op, key, None)
            time.sleep(0.2)
        with self.lock:
            self.outcomes.append(outcome)
        return outcome

    def client(self, seed: int) -> None:
        """Transfers, each sent once with a key of its own: a cut-off one may go either way."""
        rng = random.Random(seed)
        while not self.stop.is_set():
            source, target = rng.sample(self.wallet_ids, 2)
            body = {"to_wallet_id": target, "amount": cents(rng.randint(1, 5000))}
            self.post("transfer", f"chaos-{uuid.uuid4()}", f"/wallets/{source}/transfer", body)

    def hold_op(self, request: HoldRequest, path: str) -> Outcome:
        """Send a hold operation until it is answered (retried with the same key while it may be)."""
        key = f"chaos-{uuid.uuid4()}"
        with self.lock:
            self.hold_requests[key] = request
        while True:
            outcome = self.post(request.op, key, path, request.body or None)
            if not outcome.may_retry or self.stop.is_set():
                return outcome
            time.sleep(0.2)

    def hold_client(self, seed: int) -> None:
        """Hold, then capture all of it, capture part of it or void it (a few stay pending).
        Retrying a create is what tells the client the hold's id when the first answer was lost."""
        rng = random.Random(seed)
        left_pending = 0
        while not self.stop.is_set():
            source, target = rng.sample(self.wallet_ids, 2)
            held = rng.randint(1, 5000)
            body = {"to_wallet_id": target, "amount": cents(held)}
            created = self.hold_op(HoldRequest("hold", source, body), f"/wallets/{source}/holds")
            if created.status != 201:
                continue
            hold_id = json.loads(created.body)["data"]["id"]
            roll = rng.random()
            if roll < 0.05 and left_pending < PENDING_LEFT:
                left_pending += 1
            elif roll < 0.4:
                self.hold_op(HoldRequest("capture", hold_id, {}), f"/holds/{hold_id}/capture")
            elif roll < 0.7 and held > 1:
                part = {"amount": cents(rng.randint(1, held - 1))}
                self.hold_op(HoldRequest("capture", hold_id, part), f"/holds/{hold_id}/capture")
            else:
                self.hold_op(HoldRequest("void", hold_id, {}), f"/holds/{hold_id}/void")


def owner_token(username: str) -> str:
    """A new token of the wallets' owner for this run, expiring in a day. Customers' traffic: an
    operator's transfers of customers' money wait for a second operator (approvals/policy.py)."""
    from django.core.management import call_command

    out = io.StringIO()
    call_command("issue_token", username, "--ttl", "86400", "--by", "chaos", stdout=out)
    return out.getvalue().strip()


def check_reconcile(results: list[tuple[str, bool, str]], timeout: float) -> subprocess.CompletedProcess[str]:
    """`reconcile` (no grace: history must equal the ledger now), retried every 3 s until clean or
    `timeout` seconds: the consumer may still be catching up after the last fault. Checked into
    `results`; the last run is returned."""
    deadline = time.monotonic() + timeout
    while True:
        reconcile = subprocess.run(
            [PYTHON, "manage.py", "reconcile", "--history-grace", "0", "--outbox-max-age", "0"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if reconcile.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(3)
    summary = (reconcile.stdout.strip().splitlines() or [reconcile.stderr[-300:]])[-1]
    check(results, "reconcile clean (history equals ledger)", reconcile.returncode == 0, summary)
    return reconcile


def check_transfer_reaches_history(
    results: list[tuple[str, bool, str]], workload: Workload, user_id: str, timeout: float
) -> None:
    """One more transfer, after everything healed, must show in the sender's history (the history
    port's API) within `timeout` seconds: a consumer that runs but no longer receives (issue #37's
    hang after a rebalance) passes every other check once it had caught up, never this one. The
    sender is a new wallet, so its few events fit one page."""
    source = services.wallet_create(user_id=user_id).id
    services.wallet_fund(wallet_id=source, amount=Decimal("1.00"), initiated_by="chaos")
    body = {"to_wallet_id": workload.wallet_ids[0], "amount": "0.01"}
    sent = workload.post("probe", f"chaos-probe-{uuid.uuid4()}", f"/wallets/{source}/transfer", body)
    name = f"a transfer after the faults reaches the history API within {timeout:g} s"
    if not sent.ok:
        check(results, name, False, f"the transfer was answered {sent.status}")
        return
    transaction_id = json.loads(sent.body)["data"][0]["reference_id"]
    started = time.monotonic()
    seen = False
    while not seen and time.monotonic() - started < timeout:
        conn = http.client.HTTPConnection("127.0.0.1", settings.HISTORY_PORT, timeout=5)
        try:
            conn.request(
                "GET",
                f"/wallets/{source}/history?limit=100",
                headers={"Authorization": f"Token {workload.token}"},
            )
            response = conn.getresponse()
            events = json.loads(response.read()).get("data", []) if response.status == 200 else []
            seen = any(event.get("transaction_id") == transaction_id for event in events)
        except (OSError, http.client.HTTPException, ValueError):
            pass
        finally:
            conn.close()
        if not seen:
            time.sleep(0.1)
    check(
        results,
        name,
        seen,
        f"after {time.monotonic() - started:.1f}s" if seen else f"not after {timeout:g}s",
    )


def fault_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in FAULTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown faults {unknown}; known: {', '.join(FAULTS)}")
    return names


def wait_until(what: str, condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except Exception:  # the database may still be coming back
            close_old_connections()
        time.sleep(1)
    print(f"timed out waiting for {what}", flush=True)
    return False


def check(results: list[tuple[str, bool, str]], name: str, ok: bool, detail: str = "") -> None:
    results.append((name, ok, detail))


def check_transfers(
    results: list[tuple[str, bool, str]], outcomes: list[Outcome], wallets: list[Any]
) -> None:
    """Each transfer was sent once: a 2xx is in the ledger once, an answered failure not at all."""
    keys = {o.key: o for o in outcomes}
    records = {r.key: r for r in IdempotencyRecord.objects.filter(key__in=list(keys))}
    answered_ok = [o for o in outcomes if o.ok]
    answered_failed = [o for o in outcomes if o.status is not None and not o.ok]
    missing = [o.key for o in answered_ok if o.key not in records]
    check(
        results,
        "every 2xx transfer is recorded",
        not missing,
        f"{len(missing)} missing of {len(answered_ok)}",
    )
    leaked = [o.key for o in answered_failed if o.key in records]
    check(results, "no answered failure moved money", not leaked, f"{len(leaked)} of {len(answered_failed)}")
    reference_ids = []
    for record in records.values():
        legs = json.loads(bytes(record.response_body))["data"]
        reference_ids.append(legs[0]["reference_id"])
    found = LedgerTransaction.objects.filter(id__in=reference_ids).count()
    check(
        results,
        "each recorded request is one ledger transaction",
        found == len(set(reference_ids)) == len(records),
        f"{found} transactions for {len(records)} records",
    )
    # A capture has a transfer's entries too: those are counted against the capture requests.
    transfers = (
        LedgerEntry.objects.filter(
            wallet_id__in=wallets, type="TRANSFER_OUT", transaction__kind=LedgerTransaction.Kind.TRANSFER
        )
        .values("transaction_id")
        .distinct()
        .count()
    )
    check(
        results,
        "no transfer without a request (never twice)",
        transfers == len(records),
        f"{transfers} transfers, {len(records)} records",
    )


def check_holds(results: list[tuple[str, bool, str]], workload: Workload, wallets: list[Any]) -> None:
    """Held is the pending holds; each hold, capture and void answered 2xx did what it asked, once."""
    attempts: dict[str, list[Outcome]] = {}
    for outcome in workload.outcomes:
        if outcome.op != "transfer":
            attempts.setdefault(outcome.key, []).append(outcome)
    records = {r.key: r for r in IdempotencyRecord.objects.filter(key__in=list(attempts))}
    answered_ok = [key for key, tries in attempts.items() if tries[-1].ok]
    # Only a request whose every attempt was answered, with a failure, must have done nothing.
    failed = [key for key, tries in attempts.items() if all(t.status is not None and not t.ok for t in tries)]
    missing = [key for key in answered_ok if key not in records]
    leaked = [key for key in failed if key in records]
    check(
        results,
        "every 2xx hold, capture and void is recorded; no answered failure is",
        not missing and not leaked,
        f"{len(missing)} missing of {len(answered_ok)}, {len(leaked)} of {len(failed)} failures recorded",
    )

    holds = {str(h.id): h for h in Hold.objects.filter(from_wallet_id__in=wallets)}
    done: Counter[str] = Counter()
    wrong = []
    for key, record in records.items():
        request = workload.hold_requests[key]
        data = json.loads(bytes(record.response_body))["data"]
        done[request.op] += 1
        if request.op == "hold":
            hold = holds.get(data["id"])
            as_asked = hold is not None and (
                str(hold.from_wallet_id),
                str(hold.to_wallet_id),
                hold.amount,
            ) == (request.target, request.body["to_wallet_id"], Decimal(request.body["amount"]))
        elif request.op == "capture":
            hold = holds.get(request.target)
            as_asked = (
                hold is not None
                and hold.status == Hold.Status.CAPTURED
                and hold.captured_amount == Decimal(request.body.get("amount", hold.amount))
                and str(hold.transaction_id) == data["hold"]["transaction_id"]
            )
        else:
            hold = holds.get(request.target)
            as_asked = hold is not None and hold.status == Hold.Status.VOIDED
        if not as_asked:
            wrong.append(key)
    check(
        results,
        "each recorded hold, capture and void took effect as asked",
        not wrong,
        f"{len(wrong)} of {len(records)} not ({', '.join(f'{op} {n}' for op, n in sorted(done.items()))})",
    )
    # Every hold, capture and void in the database is one recorded request's: none twice, none unasked.
    states = Counter(hold.status for hold in holds.values())
    captures = LedgerTransaction.objects.filter(
        kind=LedgerTransaction.Kind.CAPTURE, entries__wallet_id__in=wallets
    ).distinct()
    found = (len(holds), states[Hold.Status.CAPTURED], captures.count(), states[Hold.Status.VOIDED])
    expected = (done["hold"], done["capture"], done["capture"], done["void"])
    check(
        results,
        "no hold, capture or void without a request (never twice)",
        found == expected and states[Hold.Status.EXPIRED] == 0,
        "holds {}, captured {}, capture transactions {}, voided {}".format(*found)
        + f"; pending {states[Hold.Status.PENDING]}; requests {expected}",
    )

    pending = Coalesce(
        Sum("holds_out__amount", filter=Q(holds_out__status=Hold.Status.PENDING)),
        Value(Decimal(0)),
        output_field=DecimalField(),
    )
    rows = list(Wallet.objects.filter(id__in=wallets).annotate(pending=pending))
    off = [w for w in rows if not (0 <= w.held <= w.balance and w.held == w.pending)]
    check(
        results,
        "every wallet: 0 <= held <= balance, held = its pending holds",
        not off,
        f"{len(off)} wallets off; {sum((w.held for w in rows), Decimal(0))} held in "
        f"{states[Hold.Status.PENDING]} pending holds",
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=int, default=60, help="seconds of load under faults (one round of them at least)"
    )
    parser.add_argument("--clients", type=int, default=4, help="transfer clients")
    parser.add_argument("--hold-clients", type=int, default=2, help="hold, capture and void clients")
    parser.add_argument("--wallets", type=int, default=8)
    parser.add_argument("--fault-every", type=float, default=6.0, help="seconds between faults")
    parser.add_argument(
        "--drain-timeout",
        type=int,
        default=60,
        help="seconds after the last fault for the outbox to drain and the history to equal the ledger",
    )
    parser.add_argument(
        "--history-timeout",
        type=float,
        default=5.0,
        help="seconds a transfer made after the checks may take to show in its wallet's history",
    )
    parser.add_argument(
        "--faults",
        type=fault_names,
        default=list(FAULTS),
        help=f"comma-separated, injected in order, round after round (default: {', '.join(FAULTS)})",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default=str(RESULTS / "chaos"))
    args = parser.parse_args()

    stack("up")
    run_id = uuid.uuid4().hex[:8]
    wallets = []
    for _ in range(args.wallets):
        wallet = services.wallet_create(user_id=f"chaos-{run_id}")
        services.wallet_fund(wallet_id=wallet.id, amount=Decimal("1000.00"), initiated_by="chaos")
        wallets.append(wallet.id)
    initial_total = Decimal("1000.00") * args.wallets
    workload = Workload([str(w) for w in wallets], owner_token(f"chaos-{run_id}"))
    connection.close()

    threads = [threading.Thread(target=workload.client, args=(args.seed + i,)) for i in range(args.clients)]
    threads += [
        threading.Thread(target=workload.hold_client, args=(args.seed + args.clients + i,))
        for i in range(args.hold_clients)
    ]
    for thread in threads:
        thread.start()
    injected: list[tuple[float, str, str]] = []
    started = time.monotonic()
    schedule = args.faults
    index = 0
    while time.monotonic() - started < args.duration or index < len(schedule):  # a whole round at least
        time.sleep(args.fault_every)
        name = schedule[index % len(schedule)]
        index += 1
        at = time.monotonic() - started
        try:
            injected.append((round(at, 1), name, FAULTS[name]()))
        except Exception as exc:  # a fault that could not be injected is reported, not hidden
            injected.append((round(at, 1), name, f"failed: {exc}"))
        print(f"{at:6.1f}s fault: {name}", flush=True)
    last_fault_at = time.monotonic()
    workload.stop.set()
    for thread in threads:
        thread.join()
    close_old_connections()

    statuses = Counter((o.op, "no answer" if o.status is None else str(o.status)) for o in workload.outcomes)
    results: list[tuple[str, bool, str]] = []
    # No `stack up` here: what a fault killed must have come back by itself.
    supervised = wait_until("every app process to run again", all_apps_supervised_and_running, 60)
    check(
        results,
        "every app process running again, by itself",
        supervised,
        "; ".join(f"{app}: {state}" for app, state in app_states().items()),
    )
    balances = dict(Wallet.objects.filter(id__in=wallets).values_list("id", "balance"))
    total = sum(balances.values(), Decimal(0))
    check(results, "money conserved", total == initial_total, f"{total} vs {initial_total}")
    check(results, "no negative balance", all(b >= 0 for b in balances.values()), "")
    check_transfers(results, [o for o in workload.outcomes if o.op == "transfer"], wallets)
    check_holds(results, workload, wallets)

    drained = wait_until(
        "the outbox to drain",
        lambda: not OutboxEvent.objects.exists(),  # every row is pending: the relay deletes published ones
        max(1.0, args.drain_timeout - (time.monotonic() - last_fault_at)),
    )
    check(
        results,
        f"outbox drained within {args.drain_timeout} s of the last fault",
        drained and time.monotonic() - last_fault_at <= args.drain_timeout,
        f"{OutboxEvent.objects.count()} pending, "
        f"{time.monotonic() - last_fault_at:.0f}s after the last fault",
    )
    reconcile = check_reconcile(results, max(1.0, args.drain_timeout - (time.monotonic() - last_fault_at)))
    caught_up_after = round(time.monotonic() - last_fault_at, 1)
    if reconcile.returncode != 0:
        print(reconcile.stdout, reconcile.stderr, flush=True)
    check_transfer_reaches_history(results, workload, f"chaos-{run_id}", args.history_timeout)

    lines = [
        f"Chaos run {run_id}: {last_fault_at - started:.0f}s of faults under load, "
        f"{args.clients} transfer clients, {args.hold_clients} hold clients, {args.wallets} wallets",
        "",
        "| fault | at (s) | result |",
        "|---|---|---|",
        *[f"| {name} | {at} | {result} |" for at, name, result in injected],
        "",
        "| request | answer | count |",
        "|---|---|---|",
        *[f"| {op} | {status} | {count} |" for (op, status), count in sorted(statuses.items())],
        "",
        "| invariant | holds | detail |",
        "|---|---|---|",
        *[f"| {name} | {'yes' if ok else 'NO'} | {detail} |" for name, ok, detail in results],
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(report)
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                "run": run_id,
                "args": vars(args),
                "faults": injected,
                "history_caught_up_after_seconds": caught_up_after if reconcile.returncode == 0 else None,
                "requests": {
                    op: {status: count for (each, status), count in sorted(statuses.items()) if each == op}
                    for op in sorted({op for op, _ in statuses})
                },
                "invariants": [{"name": n, "holds": ok, "detail": d} for n, ok, d in results],
            },
            indent=2,
        )
    )
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
