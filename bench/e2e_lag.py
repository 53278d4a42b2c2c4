"""End-to-end event lag: from the moment a transfer happens to the moment its event is on Kafka
(`KafkaArrivals`) and in the history.

Drives transfers over HTTP at a steady rate (by default half of the maximum rate measured by a
short wrk probe in the same run), through the whole pipeline: API -> outbox -> Celery relay ->
Kafka -> consume_events -> history table. The lag of each event is `recorded_at - occurred_at`,
both stamped by the system itself, read back from the history table; percentiles are computed
by PostgreSQL.

    .venv/bin/python bench/e2e_lag.py --duration 30          (needs `make up`)
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import http_bench
from django.conf import settings
from django.db import connection

from history.models import HistoryEvent
from wallets.models import LedgerEntry


def paced_load(ids: list[str], token: str, rate: float, duration: float, threads: int) -> dict[str, int]:
    """`rate` transfers/s spread over `threads` clients, each on a fixed schedule."""
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()
    interval = threads / rate
    started = time.monotonic()

    def client(offset: int) -> None:
        rng = random.Random(offset)
        n = 0
        while True:
            due = started + offset * interval / threads + n * interval
            if due - started > duration:
                return
            time.sleep(max(0.0, due - time.monotonic()))
            source, target = rng.sample(ids, 2)
            conn = http.client.HTTPConnection("127.0.0.1", settings.PORT, timeout=10)
            try:
                conn.request(
                    "POST",
                    f"/wallets/{source}/transfer",
                    json.dumps({"to_wallet_id": target, "amount": "0.01"}),
                    {"Content-Type": "application/json", "Authorization": f"Token {token}"},
                )
                ok = conn.getresponse().status == 200
            except OSError:
                ok = False
            finally:
                conn.close()
            with lock:
                counts["ok" if ok else "failed"] += 1
            n += 1

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return counts


def ms(seconds: Any) -> float | None:
    return round(float(seconds) * 1000, 1) if seconds is not None else None


class KafkaArrivals:
    """Commit to Kafka: `bench/kafka_arrivals.py` tails the wallet topic in a process of its own
    from now on; `result()` stops it and gives the percentiles of the transfer events that occurred
    in a window (the lag = received by a consumer - `occurred_at`), and of the part of it before
    the relay handed each event to its producer (`to_producer`: the message's CreateTime -
    `occurred_at`, whole milliseconds): the relay's pick-up, the rest being Kafka's path."""

    def __init__(self, topic: str | None = None) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("kafka_arrivals.py")),
                settings.KAFKA_BROKERS,
                topic or settings.KAFKA_TOPIC,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("bench/kafka_arrivals.py did not start")

    def result(self, since: datetime, until: datetime) -> dict[str, Any]:
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=60)
        window = (since.timestamp(), until.timestamp())
        arrivals = [row for row in json.loads(out) if window[0] <= row[0] < window[1]]
        lags = sorted(lag for _at, lag, _produced in arrivals)
        to_producer = sorted(produced for _at, _lag, produced in arrivals if produced is not None)
        return {
            "events": len(lags),
            "p50_ms": ms(percentile(lags, 0.5)),
            "p95_ms": ms(percentile(lags, 0.95)),
            "p99_ms": ms(percentile(lags, 0.99)),
            "max_ms": ms(lags[-1] if lags else None),
            "to_producer": {
                "p50_ms": ms(percentile(to_producer, 0.5)),
                "p99_ms": ms(percentile(to_producer, 0.99)),
            },
        }


def percentile(ordered: list[float], fraction: float) -> float | None:
    """As PostgreSQL's percentile_cont: linear between the two nearest ranks."""
    if not ordered:
        return None
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def lag_percentiles(since: datetime, until: datetime) -> dict[str, Any]:
    table = HistoryEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*),
                   percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (
                       ORDER BY EXTRACT(EPOCH FROM recorded_at - occurred_at)),
                   max(EXTRACT(EPOCH FROM recorded_at - occurred_at))
              FROM {table}
             WHERE occurred_at >= %s AND occurred_at < %s AND event_type IN ('TRANSFER_OUT', 'TRANSFER_IN')
            """,  # noqa: S608 -- the table name comes from model metadata
            [since, until],
        )
        count, (p50, p95, p99), worst = cursor.fetchone()
        cursor.execute(
            f"""
            SELECT (EXTRACT(EPOCH FROM recorded_at - occurred_at) * 100)::int AS bucket, count(*)
              FROM {table}
             WHERE occurred_at >= %s AND occurred_at < %s AND event_type IN ('TRANSFER_OUT', 'TRANSFER_IN')
             GROUP BY bucket ORDER BY bucket
            """,  # noqa: S608 -- the table name comes from model metadata
            [since, until],
        )
        histogram = [[bucket * 10, n] for bucket, n in cursor.fetchall()]  # 10 ms buckets
    return {
        "events": count,
        "p50_ms": ms(p50),
        "p95_ms": ms(p95),
        "p99_ms": ms(p99),
        "max_ms": ms(worst),
        "histogram_10ms": histogram,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--rate", type=float, default=0, help="transfers/s; 0 = half the probed maximum")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--settle", type=int, default=20, help="seconds to let the history catch up")
    parser.add_argument("--out", default=str(http_bench.RESULTS / "e2e_lag"))
    args = parser.parse_args()

    token = http_bench.owner_token()
    ids_file = http_bench.prepare_wallets(1000)
    ids = ids_file.read_text().split()
    maximum = None
    rate = args.rate
    if not rate:
        probe = http_bench.run_wrk("transfer", 16, 8, ids_file, token, ids[0])
        maximum = probe["rps"]
        rate = maximum / 2
    connection.close()
    print(f"steady load: {rate:.0f} transfers/s for {args.duration}s", flush=True)
    arrivals = KafkaArrivals()
    since = datetime.now(UTC)
    counts = paced_load(ids, token, rate, args.duration, args.threads)
    until = datetime.now(UTC)
    time.sleep(args.settle)
    result = {
        "max_transfers_per_s": maximum,
        "target_transfers_per_s": round(rate, 1),
        "achieved_transfers_per_s": round(counts["ok"] / args.duration, 1),
        "failed": counts["failed"],
        **lag_percentiles(since, until),
        "kafka": arrivals.result(since, until),
    }
    # Every transfer leg written in the window (the ledger is the authority) should be in the history.
    expected = LedgerEntry.objects.filter(
        created_at__gte=since, created_at__lt=until, type__in=["TRANSFER_OUT", "TRANSFER_IN"]
    ).count()
    result["events_expected"] = expected
    load = f"half of {maximum}" if maximum is not None else "fixed rate"
    kafka = result["kafka"]
    report = (
        "| load (transfers/s) | events | to history p50 ms | p95 ms | p99 ms | max ms"
        " | to Kafka p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|---|---|\n"
        f"| {result['achieved_transfers_per_s']} ({load}) | {result['events']} of {expected} | "
        f"{result['p50_ms']} | {result['p95_ms']} | {result['p99_ms']} | {result['max_ms']} | "
        f"{kafka['p50_ms']} | {kafka['p95_ms']} | {kafka['p99_ms']} | {kafka['max_ms']} |\n"
        f"\nOf the time to Kafka, until the relay handed the event to its producer (the message's"
        f" CreateTime): p50 {kafka['to_producer']['p50_ms']} ms, p99 {kafka['to_producer']['p99_ms']} ms.\n"
    )
    http_bench.write_results(args.out, result, report)


if __name__ == "__main__":
    main()
