"""What waking the relay on commit costs the writes (issue #37): uniform transfers/s at 16 clients
with the outbox's trigger in three forms, rounds interleaved in one run on the stack (`make up`):

- `none`: no trigger (the relay polls, as before issue #37);
- `wake`: the shipped trigger (kafka_bridge/sql/outbox_wake.sql): a shared advisory try-lock per
  write, a NOTIFY only while the relay sleeps;
- `notify`: a NOTIFY from every write, the plain way. PostgreSQL serializes the commits of
  transactions that NOTIFY (a database-wide lock from PreCommit_Notify until the commit's WAL
  flush), which this measures.

Each round waits for a quiet machine (bench/quiet.py) and runs wrk (bench/http_bench.py's uniform
transfers); the best round of each form is reported (noise only slows a run), and the median. The
shipped trigger is put back at the end, whatever happens.

    .venv/bin/python bench/relay_wake.py --rounds 3 --duration 10
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import http_bench
from django.db import connection
from quiet import wait_for_quiet

from kafka_bridge.models import OutboxEvent

SQL = http_bench.ROOT / "kafka_bridge" / "sql"
OUTBOX = OutboxEvent._meta.db_table
NOTIFY_EVERY_WRITE = """
CREATE FUNCTION kafka_bridge_outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kafka_bridge_outbox', '');
    RETURN NULL;
END
$$;
CREATE TRIGGER kafka_bridge_outbox_wake AFTER INSERT ON {outbox}
    FOR EACH STATEMENT EXECUTE FUNCTION kafka_bridge_outbox_wake();
"""
FORMS = ("none", "wake", "notify")


def use(form: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute((SQL / "outbox_wake_reverse.sql").read_text())
        if form == "wake":
            cursor.execute((SQL / "outbox_wake.sql").read_text())
        elif form == "notify":
            cursor.execute(NOTIFY_EVERY_WRITE.format(outbox=OUTBOX))
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--quiet-timeout", type=float, default=60.0, help="longest wait for a quiet machine")
    parser.add_argument("--out", default=str(http_bench.RESULTS / "relay_wake"))
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # the shipped trigger is put back

    def wrk() -> dict[str, Any]:
        wait_for_quiet(http_bench.say, timeout=args.quiet_timeout)
        return http_bench.run_wrk(
            "transfer", args.concurrency, args.duration, ids_file, token, hot, wait_quiet=False
        )

    token = http_bench.owner_token()
    ids_file = http_bench.prepare_wallets(1000)
    hot = ids_file.read_text().split()[0]
    runs: dict[str, list[dict[str, Any]]] = {form: [] for form in FORMS}
    try:
        use("wake")
        wrk()  # warm-up
        for round_number in range(args.rounds):
            order = FORMS if round_number % 2 == 0 else tuple(reversed(FORMS))
            for form in order:
                use(form)
                run = wrk()
                http_bench.say(
                    f"round {round_number + 1} {form}: {run['rps']} transfers/s, p99 {run['p99_ms']} ms"
                )
                runs[form].append(run)
    finally:
        use("wake")
    best = {form: max(r["rps"] for r in runs[form]) for form in FORMS}
    median = {form: statistics.median(r["rps"] for r in runs[form]) for form in FORMS}
    lines = [
        f"Uniform transfers, {args.concurrency} clients, {args.rounds} rounds of {args.duration} s "
        f"interleaved ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}); relay and consumer running.",
        "",
        "| trigger | best transfers/s | median | vs none (best) | vs none (median)"
        " | p99 ms (best round) | non-2xx |",
        "|---|---|---|---|---|---|---|",
    ]
    for form in FORMS:
        top = max(runs[form], key=lambda r: r["rps"])
        lines.append(
            f"| {form} | {best[form]} | {median[form]} | {best[form] / best['none']:.3f} "
            f"| {median[form] / median['none']:.3f} | {top['p99_ms']} "
            f"| {sum(r['errors'] for r in runs[form])} |"
        )
    http_bench.write_results(
        args.out, {"runs": runs, "best": best, "median": median}, "\n".join(lines) + "\n"
    )


if __name__ == "__main__":
    main()
