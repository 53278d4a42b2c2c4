"""Where the time of one HTTP transfer goes, step by step, in one process (no concurrency).

Times, as medians over `--requests` transfers among the benchmark's wallets: the whole request
through Django and DRF in-process (no network, no gunicorn), and inside it the service (lock,
one write statement), the commit (with the on-commit publish hook), and for scale a bare
`SELECT 1` round trip and a wallet read through the same stack.

    .venv/bin/python bench/profile_transfer.py      (needs the stack's PostgreSQL and Redis)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import http_bench
from django.db import connection, transaction
from django.test import Client

from kafka_bridge import outbox
from kafka_bridge.tasks import schedule_publish
from wallets import ledger_writes, locks, services


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def timed(samples: list[float], function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            samples.append(time.perf_counter() - started)

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()

    token = http_bench.owner_token()
    ids = http_bench.prepare_wallets(200).read_text().split()
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    steps: dict[str, list[float]] = {"lock": [], "write": [], "hook": []}
    services.lock_for_sending = timed(steps["lock"], locks.lock_for_sending)  # type: ignore[attr-defined]
    services.write_movement = timed(steps["write"], ledger_writes.write_movement)  # type: ignore[attr-defined]
    outbox.schedule_publish = timed(steps["hook"], schedule_publish)  # type: ignore[attr-defined]

    def post() -> None:
        source, target = random.sample(ids, 2)
        response = client.post(
            f"/wallets/{source}/transfer",
            f'{{"to_wallet_id":"{target}","amount":"0.01"}}',
            content_type="application/json",
        )
        assert response.status_code == 200, response.content

    for _ in range(50):  # warm up: connections, caches, imports
        post()
    for values in steps.values():
        values.clear()

    request, service, commit, select1, read = [], [], [], [], []
    for _ in range(args.requests):
        started = time.perf_counter()
        post()
        request.append(time.perf_counter() - started)
    for _ in range(args.requests):
        source, target = random.sample(ids, 2)
        started = time.perf_counter()
        with transaction.atomic():
            services.transfer_create(
                from_wallet_id=uuid.UUID(source),
                to_wallet_id=uuid.UUID(target),
                amount=Decimal("0.01"),
                initiated_by="profile",
            )
            before_commit = time.perf_counter()
        done = time.perf_counter()
        service.append(before_commit - started)
        commit.append(done - before_commit)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        select1.append(time.perf_counter() - started)
        started = time.perf_counter()
        client.get(f"/wallets/{source}")
        read.append(time.perf_counter() - started)

    rows = [
        ("whole transfer request, in-process (Django + DRF + service + commit)", median_ms(request)),
        ("  the service: BEGIN, lock, checks, one write statement", median_ms(service)),
        ("    lock the two wallets (one SELECT ... FOR NO KEY UPDATE)", median_ms(steps["lock"])),
        ("    write balances, ledger, outbox (one statement)", median_ms(steps["write"])),
        ("  COMMIT, including the on-commit publish hook", median_ms(commit)),
        (
            "    the hook alone (Redis asked only when no relay promise covers the commit)",
            median_ms(steps["hook"]),
        ),
        ("  what is left: Django, DRF, auth, parsing, validation, rendering", None),
        ("for scale: SELECT 1 round trip", median_ms(select1)),
        ("for scale: GET /wallets/{id}, in-process", median_ms(read)),
    ]
    overhead = median_ms(request) - median_ms(service) - median_ms(commit)
    print("| step | median ms |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {round(overhead, 3) if value is None else value} |")


if __name__ == "__main__":
    main()
