"""The statement's downloads (issue #33): CSV by `?format=csv` or `Accept: text/csv` (streamed, the
fixed columns, OPENING/ENTRY/CLOSING rows, the formula guard) and PDF by `?format=pdf` or
`Accept: application/pdf` (its text holds the figures; over the cap a 400 pointing to the CSV)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader
from rest_framework.test import APIClient

from common.times import format_timestamp
from tests.conftest import behind_the_ledgers_back
from wallets import chain, statement_pdf
from wallets.models import LedgerEntry, Wallet

from .test_statement import busy_wallet

LATER = datetime.now(UTC) + timedelta(days=1)  # after every seeded entry
HEADER = (
    "row,wallet_id,created_at,entry_id,transaction_id,type,amount,currency,balance_after,"
    "wallet_version,description,hash"
)


def download(
    client: APIClient, wallet: Wallet, fmt: str | None = None, accept: str | None = None, *, to: Any = None
) -> Any:
    query = {"from": format_timestamp(wallet.created_at)}
    if to is not None:
        query["to"] = format_timestamp(to)
    if fmt:
        query["format"] = fmt
    extra = {"HTTP_ACCEPT": accept} if accept else {}
    return client.get(f"/wallets/{wallet.id}/statement", query, **extra)


def csv_of(response: Any) -> tuple[str, list[dict[str, str]]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8")
    return text, list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    ("fmt", "accept"), [("csv", None), (None, "text/csv"), (None, "text/csv;q=0.9, */*;q=0.1")]
)
def test_csv_by_query_or_accept(
    alice: APIClient, make_wallet: Callable[..., Wallet], fmt: str | None, accept: str | None
):
    wallet, entries = busy_wallet(make_wallet)
    response = download(alice, wallet, fmt, accept)
    text, rows = csv_of(response)
    assert text.startswith(HEADER + "\r\n") and not text.startswith("\ufeff")
    disposition = response["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="statement-{wallet.id}-') and disposition.endswith(
        '.csv"'
    )
    assert ":" not in disposition.split("filename=")[1]

    assert [row["row"] for row in rows] == ["OPENING"] + ["ENTRY"] * 9 + ["CLOSING"]
    assert all(row["wallet_id"] == str(wallet.id) and row["currency"] == "USD" for row in rows)
    opening, body, closing = rows[0], rows[1:-1], rows[-1]
    assert opening["created_at"] == format_timestamp(wallet.created_at)
    assert (opening["balance_after"], opening["wallet_version"]) == ("0.0000", "0")
    assert opening["hash"] == chain.genesis_hash(wallet.id).hex()
    assert opening["entry_id"] == opening["type"] == opening["amount"] == opening["description"] == ""
    assert [row["entry_id"] for row in body] == [str(entry.id) for entry in entries]
    previous, balance = bytes.fromhex(opening["hash"]), Decimal(opening["balance_after"])
    for row, entry in zip(body, entries, strict=True):
        assert row["created_at"] == format_timestamp(entry.created_at)
        assert row["amount"] == f"{entry.amount:.4f}" and row["balance_after"] == f"{entry.balance_after:.4f}"
        balance += Decimal(row["amount"])
        assert Decimal(row["balance_after"]) == balance
        previous = chain.next_hash(
            previous,
            chain.canonical_bytes(
                wallet_id=wallet.id,
                wallet_version=int(row["wallet_version"]),
                entry_id=entry.id,
                transaction_id=entry.transaction_id,
                type=row["type"],
                amount=Decimal(row["amount"]),
                currency=row["currency"],
                balance_after=Decimal(row["balance_after"]),
                created_at=entry.created_at,
            ),
        )
        assert row["hash"] == previous.hex() == bytes(entry.chain_hash).hex()
    assert body[1]["description"] == '\'=HYPERLINK("x")'  # the formula guard
    assert body[0]["description"] == ""  # the fund has none
    assert closing["hash"] == body[-1]["hash"] and closing["balance_after"] == body[-1]["balance_after"]
    assert closing["wallet_version"] == body[-1]["wallet_version"]


def test_format_csv_is_not_drfs_404(alice: APIClient, make_wallet: Callable[..., Wallet], settings: Any):
    """DRF reads `?format=` itself (URL_FORMAT_OVERRIDE) and answers 404 for a format no renderer
    has: the view decides downloads first."""
    assert settings.REST_FRAMEWORK.get("URL_FORMAT_OVERRIDE", "format") == "format"
    wallet = make_wallet("alice", "5.00")
    assert download(alice, wallet, "csv").status_code == 200
    assert download(alice, wallet, "pdf").status_code == 200
    assert download(alice, wallet, "json").json()["data"]["count"] == 1
    assert download(alice, wallet, accept="application/json").json()["data"]["count"] == 1


def test_a_download_refused_is_the_json_error_envelope(alice: APIClient, make_wallet: Callable[..., Wallet]):
    wallet = make_wallet("alice", "5.00")
    for fmt, accept in (("csv", None), (None, "text/csv"), ("pdf", None), (None, "application/pdf")):
        query = {"from": "2026-03-01T00:00:00", **({"format": fmt} if fmt else {})}
        response = alice.get(
            f"/wallets/{wallet.id}/statement", query, **({"HTTP_ACCEPT": accept} if accept else {})
        )
        assert response.status_code == 400
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["code"] == "validation_error"


def pdf_text(response: Any) -> str:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


@pytest.mark.parametrize(("fmt", "accept"), [("pdf", None), (None, "application/pdf")])
def test_pdf_shows_the_figures(
    alice: APIClient, make_wallet: Callable[..., Wallet], fmt: str | None, accept: str | None
):
    wallet, entries = busy_wallet(make_wallet)
    response = download(alice, wallet, fmt, accept)
    text = pdf_text(response)
    assert response["Content-Disposition"].endswith('.pdf"')
    wallet.refresh_from_db()
    closing = f"{wallet.balance:.4f}"
    for figure in (
        str(wallet.id),
        "USD",
        "alice",
        format_timestamp(wallet.created_at),
        "Opening balance: 0.0000 USD",
        f"Closing balance: {closing} USD",
        "Total in: 1009.7500 USD",  # 1000 funded + 3 x 3.25
        f"Total out: {Decimal('1009.75') - wallet.balance:.4f} USD",
        "Entries: 9",
        chain.genesis_hash(wallet.id).hex(),
        bytes(entries[-1].chain_hash).hex(),
        "-12.5000",
        "TRANSFER_IN",
        "=HYPERLINK",
        "Page 1",
    ):
        assert figure in text, figure


def test_a_long_pdf_has_page_numbers(alice: APIClient, make_wallet: Callable[..., Wallet]):
    wallet = make_wallet("alice", "1.00")
    seed_entries(wallet, 120)
    reader = PdfReader(io.BytesIO(download(alice, wallet, "pdf", to=LATER).content))
    assert len(reader.pages) >= 3
    assert f"Page {len(reader.pages)}" in reader.pages[-1].extract_text()


def test_a_pdf_over_the_cap_points_to_the_csv(
    alice: APIClient, make_wallet: Callable[..., Wallet], monkeypatch: pytest.MonkeyPatch
):
    wallet = make_wallet("alice", "1.00")
    seed_entries(wallet, 10)
    monkeypatch.setattr(statement_pdf, "PDF_MAX_ENTRIES", 10)
    refused = download(alice, wallet, "pdf", to=LATER)
    assert refused.status_code == 400
    body = refused.json()
    assert body["code"] == "statement_too_long_for_pdf" and "format=csv" in body["error"]
    assert body["details"] == {"count": 11, "max_entries": 10}
    monkeypatch.setattr(statement_pdf, "PDF_MAX_ENTRIES", 11)
    assert download(alice, wallet, "pdf", to=LATER).status_code == 200


def seed_entries(wallet: Wallet, count: int) -> None:
    """`count` funds of 1.0000 after the wallet's present entries, a microsecond apart, written
    set-based in SQL (the chain's trigger hashes each; the system account's legs balance each
    transaction), and the wallet's balance and version moved on to match."""
    from wallets.models import LedgerTransaction

    system = Wallet.objects.get(kind=Wallet.Kind.SYSTEM, currency=wallet.currency)
    last = LedgerEntry.objects.filter(wallet=wallet).order_by("-wallet_version").first()
    assert last is not None
    # The wallet's row moves on with its entries, in the same statement, past the money guards (the
    # deferred state check compares the two).
    behind_the_ledgers_back(
        f"""
            WITH w AS (
                UPDATE {Wallet._meta.db_table} SET balance = balance + %(count)s,
                       version = version + %(count)s
                 WHERE id = %(wallet)s
                RETURNING 1
            ), t AS (
                INSERT INTO {LedgerTransaction._meta.db_table}
                       (id, kind, initiated_by, description, metadata, reason, created_at)
                SELECT gen_random_uuid(), 'FUND', 'seed', 'seeded ' || n, '{{}}', '',
                       %(at)s + n * interval '1 microsecond'
                  FROM generate_series(1, %(count)s) AS n
                RETURNING id, created_at
            ), numbered AS (
                SELECT id, created_at, row_number() OVER (ORDER BY created_at) AS n FROM t
            ), own AS (
                INSERT INTO {LedgerEntry._meta.db_table}
                       (id, transaction_id, wallet_id, currency, amount, type, balance_after,
                        wallet_version, leg, created_at)
                SELECT gen_random_uuid(), id, %(wallet)s, %(currency)s, 1, 'FUND', %(balance)s + n,
                       %(version)s + n, NULL, created_at
                  FROM numbered ORDER BY n
                RETURNING 1
            )
            INSERT INTO {LedgerEntry._meta.db_table}
                   (id, transaction_id, wallet_id, currency, amount, type, balance_after,
                    wallet_version, leg, created_at)
            SELECT gen_random_uuid(), id, %(system)s, %(currency)s, -1, 'FUND', NULL, NULL, NULL, created_at
              FROM numbered
            """,  # noqa: S608 -- table names from model metadata
        {
            "at": last.created_at,
            "count": count,
            "wallet": wallet.id,
            "system": system.id,
            "currency": wallet.currency,
            "balance": last.balance_after,
            "version": last.wallet_version,
        },
    )
