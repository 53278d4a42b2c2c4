"""Database faults under transfer load, against the running stack (whichever STACK_DIR and ports the
environment names): how long the service is out, and that nothing acknowledged is lost.

Four clients transfer money between a few wallets over HTTP, each request with an Idempotency-Key
of its own; meanwhile one fault is injected per run:

- `postmaster`   the single server's postmaster SIGKILLed (default mode): the stack's supervisor
                 starts PostgreSQL again (crash recovery);
- `primary`      DB_HA=patroni: the leader's postmaster SIGKILLed: Patroni promotes the synchronous
                 standby, and the old primary must rejoin as a standby (pg_rewind if needed);
- `standby`      DB_HA=patroni: the synchronous standby's postmaster SIGKILLed: Patroni restarts it;
                 the primary goes on (synchronous_mode_strict off) or waits (on);
- `etcd`         DB_HA=patroni: etcd SIGKILLed; the supervisor restarts it, the leader stays.

Per run it measures the outage (from the kill to the first 2xx of a transfer sent after it, and
the longest gap between two 2xx answers) and checks: every transfer answered 2xx is in the ledger
exactly once and no answered failure moved money (bench/chaos.py's checks), money conserved, the
cluster whole again (one leader, the other node a sync standby), the outbox drained, and
`manage.py reconcile` clean (history equals ledger). Nothing is restarted by hand. It counts the
run's events on Kafka and how many of them went twice (the history consumer drops those).

With RELAY=debezium (and DB_HA=patroni) also: the standby holds its copy of the connector's slot
(Patroni's permanent slot) before the fault, and after it the connector streams from the slot on
the leader again by itself (measured: from the kill to the slot in use again).

    DB_HA=patroni .venv/bin/python bench/failover.py --fault primary --runs 5
    .venv/bin/python bench/failover.py --fault postmaster --runs 1
    DB_HA=patroni .venv/bin/python bench/failover.py --compare 20 --single-port 53000
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "walletproject.settings")

import chaos  # noqa: E402  (django.setup(), the workload's checks)
import stack_ha  # type: ignore[import-not-found,unused-ignore]  # noqa: E402
from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import close_old_connections  # noqa: E402

from kafka_bridge import debezium  # noqa: E402
from kafka_bridge.models import OutboxEvent  # noqa: E402
from wallets import services  # noqa: E402
from wallets.models import Wallet  # noqa: E402

STACK_DIR = Path(os.environ.get("STACK_DIR", str(ROOT / ".stack"))).resolve()
STACK = str(ROOT / "scripts" / "stack")
PYTHON = str(ROOT / ".venv" / "bin" / "python")
RESULTS = ROOT / "bench" / "results"
HA = os.environ.get("DB_HA", "off") == "patroni"
DEBEZIUM = settings.RELAY == "debezium"
HA_NODES = (
    stack_ha.nodes(
        os.environ.get("DATABASE_URL", stack_ha.DEFAULT_URL),
        STACK_DIR,
        int(os.environ.get("DB_HA_REST_PORT", "8008")),
    )
    if HA
    else []
)


@dataclass
class Answer:
    started: float
    ended: float
    status: int | None
    key: str


@dataclass
class Load:
    """Transfer clients that time every answer (monotonic clock)."""

    wallet_ids: list[str]
    token: str
    port: int = settings.PORT
    stop: threading.Event = field(default_factory=threading.Event)
    answers: list[Answer] = field(default_factory=list)
    outcomes: list[chaos.Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    resolved_by_retry: int = 0  # a first answer that said nothing definite, then 2xx on a retry
    without_retry_after: int = 0  # 503 answers without a Retry-After header

    def client(self, seed: int) -> None:
        """Transfers as a careful client sends them: an answer that does not say what happened
        (none, a 5xx, 409 key in use or lock conflict) is followed by the same request with the
        same Idempotency-Key until one does. A 503 during a failover can be a transfer that did
        commit (its acknowledgement was lost with the primary): the retry replays it."""
        rng = random.Random(seed)
        while not self.stop.is_set():
            source, target = rng.sample(self.wallet_ids, 2)
            body = json.dumps({"to_wallet_id": target, "amount": chaos.cents(rng.randint(1, 500))})
            key = f"failover-{uuid.uuid4()}"
            attempts = 0
            while True:
                outcome = self.send(source, body, key)
                attempts += 1
                if not outcome.may_retry:
                    break
                if self.stop.is_set() and attempts >= 50:  # give up only long after the load ended
                    break
                time.sleep(0.2)
            with self.lock:
                self.outcomes.append(outcome)  # what the client finally learnt
                if attempts > 1 and outcome.ok:
                    self.resolved_by_retry += 1

    def send(self, source: str, body: str, key: str) -> chaos.Outcome:
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Token {self.token}",
            "Idempotency-Key": key,
        }
        started = time.monotonic()
        retry_after = None
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
            conn.request("POST", f"/wallets/{source}/transfer", body, headers)
            response = conn.getresponse()
            outcome = chaos.Outcome("transfer", key, response.status, response.read())
            retry_after = response.getheader("Retry-After")
            conn.close()
        except (OSError, http.client.HTTPException):
            outcome = chaos.Outcome("transfer", key, None)
        with self.lock:
            self.answers.append(Answer(started, time.monotonic(), outcome.status, key))
            if outcome.status == 503 and retry_after is None:
                self.without_retry_after += 1
        return outcome

    def run(self, clients: int) -> list[threading.Thread]:
        threads = [threading.Thread(target=self.client, args=(i,)) for i in range(clients)]
        for thread in threads:
            thread.start()
        return threads


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().split()[0])


def kill9(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def cluster_roles() -> dict[str, str]:
    return {node.name: stack_ha.role_of(stack_ha.node_state(node)) for node in HA_NODES}


def cluster_whole() -> bool:
    return sorted(cluster_roles().values()) == ["leader", "sync standby"]


def inject(fault: str) -> str:
    """Inject `fault`; returns what was done (which node)."""
    if fault == "postmaster":
        kill9(postmaster_pid(STACK_DIR / "postgres" / "data"))
        return "postmaster"
    if fault in ("primary", "standby"):
        roles = cluster_roles()
        wanted = "leader" if fault == "primary" else "sync standby"
        node = next(n for n in HA_NODES if roles[n.name] == wanted)
        kill9(postmaster_pid(node.data))
        return f"{node.name} ({wanted})"
    if fault == "etcd":
        kill9(int((STACK_DIR / "run" / "etcd.pid").read_text().split()[0]))
        return "etcd"
    raise ValueError(fault)


def standby_has_slot() -> bool:
    """The synchronous standby holds Patroni's copy of the connector's slot (RELAY=debezium), with
    a catalog_xmin: a failover now finds the slot on the promoted node."""
    import psycopg

    roles = cluster_roles()
    standby = next(n for n in HA_NODES if roles[n.name] == "sync standby")
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@127.0.0.1:{standby.port}/{db['NAME']}"
    with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
        row = conn.execute(
            "SELECT catalog_xmin IS NOT NULL FROM pg_replication_slots WHERE slot_name = %s",
            [settings.DEBEZIUM_SLOT],
        ).fetchone()
    return bool(row and row[0])


@dataclass
class RelayWatch:
    """When the connector streams from the slot on the leader again after the fault (a thread
    polling the slot's `active` on whichever server the app's connection reaches as primary)."""

    since: float
    resumed_at: float | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    def watch(self) -> None:
        # connector_state warns of every slot query the failover breaks: not news here.
        logging.getLogger(debezium.__name__).setLevel(logging.ERROR)
        seen_down = False
        while not self.stop.is_set() and self.resumed_at is None:
            state = debezium.connector_state(timeout=1.0)
            if state.slot_active and state.status == "ok":
                if seen_down:
                    self.resumed_at = time.monotonic()
            else:
                seen_down = True
            close_old_connections()
            time.sleep(0.2)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.watch, daemon=True)
        thread.start()
        return thread


def events_on_kafka(wallet_ids: set[str]) -> tuple[int, int]:
    """The run's wallet events on Kafka (keyed by wallet id): how many, and how many of them carry
    an event_id seen before on the topic (sent twice)."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.KAFKA_BROKERS,
            "group.id": f"bench-failover-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    topic = settings.KAFKA_TOPIC
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        starts, ends = {}, {}
        for partition in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
            if high > low:
                starts[partition], ends[partition] = low, high
        consumer.assign([TopicPartition(topic, partition, offset) for partition, offset in starts.items()])
        total, seen = 0, set()
        deadline = time.monotonic() + 60
        while ends and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error() is not None:
                continue
            partition, offset = message.partition(), message.offset()
            if partition is not None and offset is not None and offset >= ends.get(partition, 0) - 1:
                ends.pop(partition, None)
            if (message.key() or b"").decode() not in wallet_ids:
                continue
            total += 1
            seen.add(dict(message.headers() or []).get("event_id"))
        return total, total - len(seen)
    finally:
        consumer.close()


def ready_again(fault: str) -> bool:
    if HA:
        return cluster_whole()
    status = subprocess.run([STACK, "status"], capture_output=True, text=True, timeout=60).stdout
    return any(line.startswith("postgres") and "running (pid" in line for line in status.splitlines())


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def one_run(args: argparse.Namespace, number: int) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    wallets = []
    for _ in range(args.wallets):
        wallet = services.wallet_create(user_id=f"failover-{run_id}")
        services.wallet_fund(wallet_id=wallet.id, amount=Decimal("1000.00"), initiated_by="failover")
        wallets.append(wallet.id)
    initial_total = Decimal("1000.00") * args.wallets
    load = Load([str(w) for w in wallets], chaos.owner_token(f"failover-{run_id}"))
    results: list[tuple[str, bool, str]] = []
    if HA and DEBEZIUM:
        copied = chaos.wait_until("the standby's copy of the slot", standby_has_slot, 120)
        chaos.check(results, "the standby holds a copy of the connector's slot", copied)
    close_old_connections()
    threads = load.run(args.clients)
    time.sleep(args.warmup)
    roles_before = cluster_roles() if HA else {}
    killed_at = time.monotonic()
    relay = RelayWatch(killed_at)
    what = inject(args.fault)
    print(f"run {number}: killed {what}", flush=True)
    watcher = relay.start() if DEBEZIUM else None
    time.sleep(args.after)
    load.stop.set()
    for thread in threads:
        thread.join()

    after = [a for a in load.answers if a.started >= killed_at]
    first_ok = min((a.ended for a in after if a.status and 200 <= a.status < 300), default=None)
    oks = sorted(a.ended for a in load.answers if a.status and 200 <= a.status < 300)
    gaps = [b - a for a, b in itertools.pairwise(oks) if b > killed_at - 1]
    statuses: dict[str, int] = {}
    for answer in after:
        name = "no answer" if answer.status is None else str(answer.status)
        statuses[name] = statuses.get(name, 0) + 1

    back = chaos.wait_until("the database to be whole again", lambda: ready_again(args.fault), 120)
    chaos.check(
        results,
        "database whole again by itself" + (" (one leader, one sync standby)" if HA else ""),
        back,
        json.dumps(cluster_roles()) if HA else "",
    )
    if HA and args.fault == "primary":
        leader_after = next((n for n, r in cluster_roles().items() if r == "leader"), None)
        old = next(n for n, r in roles_before.items() if r == "leader")
        chaos.check(
            results, "the standby was promoted", leader_after not in (None, old), f"leader {leader_after}"
        )
    chaos.check(
        results,
        "the service answered again within 15 s",
        first_ok is not None and first_ok - killed_at <= 15,
        f"{(first_ok - killed_at) if first_ok else float('nan'):.2f} s",
    )
    chaos.check(results, "no 500", "500" not in statuses, json.dumps(statuses))
    chaos.check(
        results, "every 503 says Retry-After", load.without_retry_after == 0, f"{load.without_retry_after}"
    )
    close_old_connections()
    balances = chaos.wait_until("the database", lambda: Wallet.objects.exists(), 60) and dict(
        Wallet.objects.filter(id__in=wallets).values_list("id", "balance")
    )
    total = sum(balances.values(), Decimal(0)) if balances else Decimal(-1)
    chaos.check(results, "money conserved", total == initial_total, f"{total} vs {initial_total}")
    chaos.check_transfers(results, load.outcomes, wallets)
    if watcher is not None:
        watcher.join(timeout=90)
        relay.stop.set()
        resumed = relay.resumed_at
        chaos.check(
            results,
            "the connector streams from the slot on the leader again",
            resumed is not None,
            f"{(resumed - killed_at) if resumed else float('nan'):.2f} s after the kill",
        )
    drained = chaos.wait_until("the outbox to drain", lambda: not OutboxEvent.objects.exists(), 60)
    chaos.check(results, "outbox drained", drained, f"{OutboxEvent.objects.count()} pending")
    chaos.check_reconcile(results, 60)
    on_kafka, sent_twice = events_on_kafka({str(w) for w in wallets})
    return {
        "run": number,
        "fault": args.fault,
        "killed": what,
        "first_ok_after_kill_seconds": round(first_ok - killed_at, 2) if first_ok else None,
        "longest_gap_between_2xx_seconds": round(max(gaps, default=0.0), 2),
        "answers_after_kill": statuses,
        "acknowledged": sum(1 for o in load.outcomes if o.ok),
        "acknowledged_on_a_retry": load.resolved_by_retry,
        "relay": settings.RELAY,
        "relay_resumed_after_kill_seconds": (
            round(relay.resumed_at - killed_at, 2) if relay.resumed_at else None
        ),
        "events_on_kafka": on_kafka,
        "events_sent_twice": sent_twice,
        "invariants": [{"name": n, "holds": ok, "detail": d} for n, ok, d in results],
    }


def compare(args: argparse.Namespace) -> dict[str, Any]:
    """Transfer rate and p99 against this stack and against a single-server stack on
    `--single-port` (both up), alternating, `--compare` seconds each, twice."""
    rows: dict[str, list[tuple[float, float]]] = {"this stack": [], "single server": []}
    targets = [("this stack", settings.PORT), ("single server", args.single_port)]
    for _ in range(2):
        for name, port in targets:
            token_env = {**os.environ}
            if port != settings.PORT:
                # The single-server stack's own database: wallets and token made by its manage.py.
                token_env.update(json.loads(args.single_env))
            out = subprocess.run(
                [PYTHON, __file__, "--seed-only"], capture_output=True, text=True, cwd=ROOT, env=token_env
            )
            seeded = json.loads(out.stdout.strip().splitlines()[-1])
            load = Load(seeded["wallets"], seeded["token"], port=port)
            threads = load.run(args.clients)
            time.sleep(args.compare)
            load.stop.set()
            for thread in threads:
                thread.join()
            latencies = [a.ended - a.started for a in load.answers if a.status and 200 <= a.status < 300]
            rows[name].append((len(latencies) / args.compare, p99(latencies) * 1000))
    return {
        name: {
            "transfers_per_second": round(statistics.mean(r for r, _ in values), 1),
            "p99_ms": round(statistics.mean(p for _, p in values), 1),
            "rounds": values,
        }
        for name, values in rows.items()
    }


def seed_only(wallet_count: int) -> None:
    run_id = uuid.uuid4().hex[:8]
    wallets = []
    for _ in range(wallet_count):
        wallet = services.wallet_create(user_id=f"failover-{run_id}")
        services.wallet_fund(wallet_id=wallet.id, amount=Decimal("1000.00"), initiated_by="failover")
        wallets.append(str(wallet.id))
    print(json.dumps({"wallets": wallets, "token": chaos.owner_token(f"failover-{run_id}")}))


def command_line() -> str:
    """This run's command, the single-server stack's environment shortened to its keys."""
    words = list(sys.argv)
    if "--single-env" in words:
        index = words.index("--single-env") + 1
        words[index] = "'{" + ", ".join(json.loads(words[index])) + "}'"
    return "DB_HA=patroni .venv/bin/python " + " ".join(words)


def markdown(report: dict[str, Any]) -> str:
    """The runs and the comparison as tables (docs/high-availability.md includes them)."""
    args = report["args"]
    lines = []
    if report["runs"]:
        lines += [
            f"`{command_line()}`: {args['clients']} transfer clients, fault `{args['fault']}`, "
            f"{args['warmup']:.0f} s of load before the kill and {args['after']:.0f} s after.",
            "",
            "| run | killed | answered again after (s) | longest gap between 2xx (s) "
            "| answers after the kill | acknowledged (on a retry) | every invariant holds |",
            "|---|---|---|---|---|---|---|",
        ]
        for run in report["runs"]:
            answers = ", ".join(
                f"{status}: {count}" for status, count in sorted(run["answers_after_kill"].items())
            )
            holds = all(item["holds"] for item in run["invariants"])
            lines.append(
                f"| {run['run']} | {run['killed']} | {run['first_ok_after_kill_seconds']} "
                f"| {run['longest_gap_between_2xx_seconds']} | {answers} "
                f"| {run['acknowledged']} ({run['acknowledged_on_a_retry']}) | {'yes' if holds else 'NO'} |"
            )
        if "outage_p50_seconds" in report:
            lines += [
                "",
                f"Answered again after the kill: **p50 {report['outage_p50_seconds']} s, "
                f"max {report['outage_max_seconds']} s** over {len(report['runs'])} runs.",
            ]
    if "compare" in report:
        lines += [
            "",
            f"Transfers, {args['clients']} clients, {args['compare']:.0f} s per round, two rounds each, "
            "alternating, in one run:",
            "",
            "| database | transfers/s | p99 (ms) |",
            "|---|---|---|",
            *[
                f"| {name} | {row['transfers_per_second']} | {row['p99_ms']} |"
                for name, row in report["compare"].items()
            ],
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fault", choices=["postmaster", "primary", "standby", "etcd"])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--wallets", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before the kill")
    parser.add_argument("--after", type=float, default=25.0, help="seconds of load after the kill")
    parser.add_argument("--compare", type=float, default=0.0, help="seconds per load round (see compare)")
    parser.add_argument("--single-port", type=int, default=3000)
    parser.add_argument("--single-env", default="{}", help="JSON environment of the single-server stack")
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(RESULTS / "failover_runs"))
    args = parser.parse_args()
    if args.seed_only:
        seed_only(args.wallets)
        return 0
    report: dict[str, Any] = {"args": vars(args), "runs": []}
    if args.fault:
        for number in range(1, args.runs + 1):
            result = one_run(args, number)
            report["runs"].append(result)
            print(json.dumps(result, indent=2), flush=True)
            if number < args.runs:
                time.sleep(3)
        outages = [
            r["first_ok_after_kill_seconds"] for r in report["runs"] if r["first_ok_after_kill_seconds"]
        ]
        if outages:
            report["outage_p50_seconds"] = round(statistics.median(outages), 2)
            report["outage_max_seconds"] = round(max(outages), 2)
            print(f"outage p50 {report['outage_p50_seconds']} s, max {report['outage_max_seconds']} s")
    if args.compare:
        report["compare"] = compare(args)
        print(json.dumps(report["compare"], indent=2))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(report))
    broken = [i for r in report["runs"] for i in r["invariants"] if not i["holds"]]
    for item in broken:
        print("BROKEN:", item, flush=True)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
