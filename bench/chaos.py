"""A Jepsen-style bank workload under faults, against the running stack.

Client threads transfer money between a few wallets over HTTP, each request with its own
Idempotency-Key; others hold money and then capture all or part of it, or void the hold (a hold
operation whose answer was lost, or said nothing was done: 5xx, 409 key in use or lock conflict, is
sent again with the same key, which replays a done one). Meanwhile a schedule of faults runs:
restart Redis (twice a round), SIGKILL + restart Kafka, stop/start PostgreSQL, SIGKILL the Celery
worker, the consumer and the web server. Only the infrastructure a fault took down is brought back
by this script; no app process is ever restarted by hand: the stack's supervisor must do it,
including for a process that died *because of* another fault. Afterwards it checks the invariants
and prints a summary table:

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
- the outbox drains within 60 s of the last fault; the history catches up with the ledger;
  `manage.py reconcile` is clean.

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
import subprocess
import sys
import threading
import time
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
RESULTS = ROOT / "bench" / "results"
PYTHON = str(ROOT / ".venv" / "bin" / "python")


def stack(*args: str) -> None:
    subprocess.run([STACK, *args], check=True, capture_output=True, text=True, timeout=240)


def kill9(service: str) -> None:
    pid_file = ROOT / ".stack" / "run" / f"{service}.pid"
    pid = int(pid_file.read_text().split()[0])
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)


def fault_kafka() -> None:
    kill9("kafka")
    time.sleep(2)
    stack("start", "kafka")


def fault_postgres() -> None:
    stack("stop", "postgres")
    time.sleep(2)
    stack("start", "postgres")


def fault_redis() -> None:
    stack("stop", "redis")
    time.sleep(3)
    stack("start", "redis")


APPS = ("web", "worker", "beat", "consumer")

# One round of faults, in order; Redis twice, as a blip under load is what used to kill the worker.
FAULTS: dict[str, Callable[[], None]] = {
    "restart redis": fault_redis,
    "kill -9 worker": lambda: kill9("worker"),
    "kill -9 kafka": fault_kafka,
    "restart redis again": fault_redis,
    "stop postgres": fault_postgres,
    "kill -9 consumer": lambda: kill9("consumer"),
    "kill -9 web": lambda: kill9("web"),
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
    parser.add_argument("--duration", type=int, default=60, help="seconds of load under faults")
    parser.add_argument("--clients", type=int, default=4, help="transfer clients")
    parser.add_argument("--hold-clients", type=int, default=2, help="hold, capture and void clients")
    parser.add_argument("--wallets", type=int, default=8)
    parser.add_argument("--fault-every", type=float, default=6.0, help="seconds between faults")
    parser.add_argument("--drain-timeout", type=int, default=60, help="seconds after the last fault")
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
    schedule = list(FAULTS)
    index = 0
    while time.monotonic() - started < args.duration:
        time.sleep(args.fault_every)
        name = schedule[index % len(schedule)]
        index += 1
        at = time.monotonic() - started
        try:
            FAULTS[name]()
            injected.append((round(at, 1), name, "ok"))
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
        "outbox drained within 60 s of the last fault",
        drained and time.monotonic() - last_fault_at <= 60,
        f"{OutboxEvent.objects.count()} pending, "
        f"{time.monotonic() - last_fault_at:.0f}s after the last fault",
    )
    reconcile = check_reconcile(results, args.drain_timeout)
    if reconcile.returncode != 0:
        print(reconcile.stdout, reconcile.stderr, flush=True)

    lines = [
        f"Chaos run {run_id}: {args.duration}s, {args.clients} transfer clients, "
        f"{args.hold_clients} hold clients, {args.wallets} wallets",
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
