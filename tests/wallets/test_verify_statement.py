"""verify_statement.py, the offline verifier a customer runs (docs/ledger-chain.md): statements
downloaded from the real endpoint (CSV, and JSON a page at a time) are accepted; each tampered
variant is rejected naming its row; consecutive statements chain with --previous. The script runs
under the system's Python with no site-packages (`-I -S`): it depends on nothing but the stdlib."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from common.times import format_timestamp
from wallets import chain, holds, services
from wallets.models import LedgerEntry

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "verify_statement.py"
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else shutil.which("python3")


def run(*args: str | Path) -> tuple[int, str]:
    assert PYTHON is not None
    done = subprocess.run(
        [PYTHON, "-I", "-S", str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def history(make_wallet) -> dict[str, Any]:
    """alice's wallet with every kind of entry and a hold's version between two, and a cut in time
    between her 4th and 5th entries (two statements: before it, and from it on)."""
    wallet, bob = make_wallet("alice", "100"), make_wallet("bob", "50")
    note = services.Note('Invoice "7", rent, =SUM(A1)', {})
    services.transfer_create(
        from_wallet_id=wallet.id, to_wallet_id=bob.id, amount=Decimal("12.5"), initiated_by="t", note=note
    )
    services.transfer_create(
        from_wallet_id=bob.id, to_wallet_id=wallet.id, amount=Decimal("0.0001"), initiated_by="t"
    )
    services.wallet_withdraw(wallet_id=wallet.id, amount=Decimal(40), initiated_by="t")
    hold = holds.hold_create(
        from_wallet_id=wallet.id, to_wallet_id=bob.id, amount=Decimal(9), initiated_by="t"
    )
    holds.hold_capture(hold=hold, amount=Decimal(6), initiated_by="t")
    services.transfer_create(
        from_wallet_id=bob.id, to_wallet_id=wallet.id, amount=Decimal("3.25"), initiated_by="t"
    )
    entries = list(LedgerEntry.objects.filter(wallet=wallet).order_by("wallet_version"))
    assert [e.wallet_version for e in entries] == [1, 2, 3, 4, 6, 8]
    return {
        "wallet": wallet,
        "start": wallet.created_at,
        "cut": entries[4].created_at,
        "end": timezone.now() + timedelta(seconds=1),
    }


def download(client: Any, history: dict[str, Any], start: Any, end: Any, tmp_path: Path, name: str) -> Path:
    response = client.get(
        f"/wallets/{history['wallet'].id}/statement",
        {"from": format_timestamp(start), "to": format_timestamp(end), "format": "csv"},
    )
    assert response.status_code == 200
    path = tmp_path / name
    path.write_bytes(b"".join(response.streaming_content))
    return path


def json_pages(
    client: Any, history: dict[str, Any], start: Any, end: Any, tmp_path: Path, name: str
) -> list[Path]:
    paths: list[Path] = []
    cursor = None
    while True:
        query = {"from": format_timestamp(start), "to": format_timestamp(end), "limit": 2}
        response = client.get(
            f"/wallets/{history['wallet'].id}/statement", {**query, **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200, response.content
        path = tmp_path / f"{name}-{len(paths) + 1}.json"
        path.write_bytes(response.content)
        paths.append(path)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return paths


def rows_of(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def test_the_script_is_executable_and_says_how_to_use_it():
    assert os.access(SCRIPT, os.X_OK)
    assert SCRIPT.read_text().startswith("#!/usr/bin/env python3\n")
    code, out = run("--help")
    assert code == 0 and "--previous" in out


def test_a_true_csv_statement_and_its_json_pages_verify_and_consecutive_ones_chain(alice, history, tmp_path):
    whole = download(alice, history, history["start"], history["end"], tmp_path, "whole.csv")
    code, out = run(whole)
    assert code == 0, out
    wallet = history["wallet"]
    assert out.startswith(
        f"OK: statement of wallet {wallet.id} (USD), 6 entries, opening 0.0000 at version 0"
    )
    assert out.rstrip().endswith(rows_of(whole)[-1][-1])  # the closing hash
    pages = json_pages(alice, history, history["start"], history["end"], tmp_path, "whole")
    assert len(pages) == 3
    code, out = run(*pages)
    assert code == 0, out
    assert "6 entries" in out

    first = download(alice, history, history["start"], history["cut"], tmp_path, "first.csv")
    second = download(alice, history, history["cut"], history["end"], tmp_path, "second.csv")
    second_pages = json_pages(alice, history, history["cut"], history["end"], tmp_path, "second")
    first_pages = json_pages(alice, history, history["start"], history["cut"], tmp_path, "first")
    for earlier, later in (([first], [second]), ([first], second_pages), (first_pages, [second])):
        previous = [arg for path in earlier for arg in ("--previous", str(path))]
        code, out = run(*previous, *later)
        assert code == 0, out
        assert "2 entries" in out and "follows the earlier statement" in out
    # The other way round they do not chain.
    code, out = run("--previous", second, first)
    assert code == 1 and "is not the earlier statement's closing hash" in out


def entry_rows(rows: list[list[str]]) -> list[int]:
    return [index for index, row in enumerate(rows) if row[0] == "ENTRY"]


def amount_changed(rows: list[list[str]]) -> str:
    rows[entry_rows(rows)[1]][6] = "0.0002"
    return "line 4: balance_after"


def amount_and_balances_changed(rows: list[list[str]]) -> str:
    """The amount and every balance after it, consistently: only the hash tells."""
    for index in entry_rows(rows)[1:]:
        rows[index][8] = str(Decimal(rows[index][8]) + 1)
    changed = rows[entry_rows(rows)[1]]
    changed[6] = str(Decimal(changed[6]) + 1)
    rows[-1][8] = str(Decimal(rows[-1][8]) + 1)
    return "line 4: hash"


def row_removed(rows: list[list[str]]) -> str:
    del rows[entry_rows(rows)[2]]
    return "line 5: balance_after"


def rows_swapped(rows: list[list[str]]) -> str:
    a, b = entry_rows(rows)[2:4]
    rows[a], rows[b] = rows[b], rows[a]
    return "line 5: balance_after"


def row_inserted(rows: list[list[str]]) -> str:
    """A credit at the hold's version 5 (no entry has it), its balance and hash consistent with
    the entry before it: the forger's best. The entry after it no longer adds up."""
    before = rows[entry_rows(rows)[3]]
    forged = list(before)
    forged[3:7] = ["00000000-0000-4000-8000-000000000001", before[4], "TRANSFER_IN", "5.0000"]
    forged[8], forged[9] = str(Decimal(before[8]) + 5), "5"
    canonical = chain.canonical_bytes(
        wallet_id=uuid.UUID(forged[1]),
        wallet_version=5,
        entry_id=uuid.UUID(forged[3]),
        transaction_id=uuid.UUID(forged[4]),
        type=forged[5],
        amount=Decimal(forged[6]),
        currency=forged[7],
        balance_after=Decimal(forged[8]),
        created_at=datetime.fromisoformat(forged[2]),
    )
    forged[-1] = chain.next_hash(bytes.fromhex(before[-1]), canonical).hex()
    rows.insert(entry_rows(rows)[3] + 1, forged)
    return "line 8: balance_after"


def closing_hash_changed(rows: list[list[str]]) -> str:
    rows[-1][-1] = "0" * 64
    return "(the closing row): closing hash"


def opening_balance_changed(rows: list[list[str]]) -> str:
    rows[1][8] = "1.0000"
    return "line 3: balance_after"


def opening_hash_changed(rows: list[list[str]]) -> str:
    rows[1][-1] = "f" * 64
    return "line 3: hash"


TAMPERS = [
    amount_changed,
    amount_and_balances_changed,
    row_removed,
    rows_swapped,
    row_inserted,
    closing_hash_changed,
    opening_balance_changed,
    opening_hash_changed,
]


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda tamper: tamper.__name__)
def test_a_tampered_csv_statement_is_rejected_naming_its_row(alice, history, tmp_path, tamper):
    true = download(alice, history, history["start"], history["end"], tmp_path, "true.csv")
    rows = rows_of(true)
    named = tamper(rows)
    code, out = run(write_rows(tmp_path / "tampered.csv", rows))
    assert code == 1
    assert out.startswith("FAILED: ") and named in out, out


def edit_json(path: Path, change: Any) -> Path:
    document = json.loads(path.read_text())
    change(document["data"])
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("pages_changed", "change", "named"),
    [
        ("first", lambda data: data["entries"][1].update(amount="-12.4000"), "page 1) entry 2"),
        ("first", lambda data: data["entries"][1].update(type="TRANSFER_IN"), "page 1) entry 2"),
        ("first", lambda data: data["entries"].pop(0), "page 1) entry 1"),
        ("first", lambda data: data["entries"].reverse(), "page 1) entry 1"),
        ("all", lambda data: data.update(total_in="3.2501"), "total_in 3.2501"),
        ("all", lambda data: data.update(total_out="0.0000"), "total_out 0.0000"),
        ("all", lambda data: data.update(count=5), "count 5"),
        ("all", lambda data: data.update(closing_hash="0" * 64), "closing hash"),
        ("all", lambda data: data.update(opening_balance="1.0000"), "page 1) entry 1"),
    ],
)
def test_a_tampered_json_statement_is_rejected(alice, history, tmp_path, pages_changed, change, named):
    pages = json_pages(alice, history, history["start"], history["end"], tmp_path, "p")
    for page in pages if pages_changed == "all" else pages[:1]:
        edit_json(page, change)
    code, out = run(*pages)
    assert code == 1
    assert out.startswith("FAILED: ") and named in out, out


def test_json_pages_must_be_whole_and_agree(alice, history, tmp_path):
    pages = json_pages(alice, history, history["start"], history["end"], tmp_path, "p")
    code, out = run(*pages[:2])
    assert code == 1 and "later pages are missing" in out
    edit_json(pages[1], lambda data: data.update(closing_balance="99.0000"))
    code, out = run(*pages)
    assert code == 1 and "header differs from page 1's: closing_balance" in out


def test_unreadable_input_is_a_clear_failure(tmp_path):
    garbage = tmp_path / "garbage.csv"
    garbage.write_text("hello,world\r\n")
    code, out = run(garbage)
    assert code == 1 and "is not the statement header" in out
    code, out = run(tmp_path / "missing.csv")
    assert code == 1 and "cannot read" in out
