"""A CSV statement streams in constant memory (issue #33): 100,000 entries, seeded set-based in SQL,
stream through the response with the same Python memory peak as 10,000, and every row is there."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from rest_framework.test import APIClient

from common.times import format_timestamp
from wallets.models import LedgerEntry, Wallet

from .test_statement_downloads import seed_entries

ENTRIES = 100_000


def stream(client: APIClient, wallet: Wallet, start: datetime, end: datetime) -> tuple[int, int, str, int]:
    """(ENTRY rows, peak bytes while streaming, the last ENTRY's balance, the response's bytes)."""
    response: Any = client.get(
        f"/wallets/{wallet.id}/statement",
        {"from": format_timestamp(start), "to": format_timestamp(end), "format": "csv"},
    )
    assert response.status_code == 200 and response.streaming
    rows, size, last, tail = 0, 0, "", b""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        for chunk in response.streaming_content:
            size += len(chunk)
            text = tail + chunk
            lines = text.split(b"\r\n")
            tail = lines.pop()
            for line in lines:
                if line.startswith(b"ENTRY,"):
                    rows += 1
                    last = line.split(b",")[8].decode()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()  # (the test client closes the response at the stream's end)
    assert tail == b""
    return rows, peak, last, size


def test_a_hundred_thousand_entries_stream_in_constant_memory(
    alice: APIClient, make_wallet: Callable[..., Wallet]
):
    wallet = make_wallet("alice", "1.00")
    # In tenths, each followed by ANALYZE, as autovacuum would: plans cached for small tables (the
    # chain trigger's probe, the foreign keys' checks) made one statement of 100,000 rows run for
    # minutes in a full test run whose earlier tests left the tables' statistics tiny.
    for _ in range(10):
        seed_entries(wallet, ENTRIES // 10)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE wallets_ledgerentry, wallets_ledgertransaction")
    times = list(
        LedgerEntry.objects.filter(wallet=wallet, wallet_version__in=[2, 10_002, ENTRIES + 1])
        .order_by("wallet_version")
        .values_list("created_at", flat=True)
    )
    first, ten_thousand_first, last = times
    after_last = last + timedelta(microseconds=1)

    small_rows, small_peak, small_last, small_size = stream(alice, wallet, first, ten_thousand_first)
    large_rows, large_peak, large_last, large_size = stream(alice, wallet, first, after_last)

    print(f"peak streaming 10,000: {small_peak} B, 100,000: {large_peak} B")
    assert (small_rows, large_rows) == (10_000, ENTRIES)
    assert (Decimal(small_last), Decimal(large_last)) == (Decimal(10_001), Decimal(ENTRIES + 1))
    assert large_size > 9 * small_size  # ten times the rows went through
    # Constant memory: the peak does not grow with the rows (a server-side cursor, a few
    # thousand rows at a time, and 64 KiB pieces); holding 100,000 rows would take tens of MB.
    assert large_peak < 1.5 * small_peak + 256 * 1024, (small_peak, large_peak)
    assert large_peak < 8 * 1024 * 1024, large_peak
