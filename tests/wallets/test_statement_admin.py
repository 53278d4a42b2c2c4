"""The wallet's admin page offers its statement (issue #33): a From/To form whose CSV and PDF are
the customer's very downloads; a bad period or a PDF over its cap shows the form again with the
reason."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse
from pypdf import PdfReader

from wallets import chain, statement_pdf
from wallets.models import Wallet

from .test_statement import busy_wallet

FORM_TIME = "%Y-%m-%dT%H:%M:%S"


def statement_url(wallet: Wallet) -> str:
    return reverse("admin:wallets_wallet_statement", args=[wallet.id])


def test_the_wallet_page_offers_the_statement_form(
    db: Any, operator_browser: Any, make_wallet: Callable[..., Wallet]
):
    wallet = make_wallet("alice", "5.00")
    page = operator_browser.get(reverse("admin:wallets_wallet_change", args=[wallet.id]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="wallet-statement-form"' in html and f'action="{statement_url(wallet)}"' in html
    for name in ('name="start"', 'name="end"', 'name="format" value="csv"', 'name="format" value="pdf"'):
        assert name in html, name


def test_an_operator_downloads_the_csv_and_the_pdf(
    db: Any, operator_browser: Any, make_wallet: Callable[..., Wallet]
):
    wallet, entries = busy_wallet(make_wallet)
    start = wallet.created_at.strftime(FORM_TIME)  # whole seconds: the form's step
    response = operator_browser.get(statement_url(wallet), {"start": start, "end": "", "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["row"] for row in rows] == ["OPENING"] + ["ENTRY"] * len(entries) + ["CLOSING"]
    assert rows[0]["hash"] == chain.genesis_hash(wallet.id).hex()
    assert rows[-1]["hash"] == bytes(entries[-1].chain_hash).hex()

    pdf = operator_browser.get(statement_url(wallet), {"start": start, "format": "pdf"})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert str(wallet.id) in text and f"Entries: {len(entries)}" in text
    assert bytes(entries[-1].chain_hash).hex() in text


@pytest.mark.parametrize(
    ("query", "words"),
    [
        (
            {"start": "2026-03-02T00:00:00", "end": "2026-03-01T00:00:00", "format": "csv"},
            "From must be before To",
        ),
        ({"start": "last week", "format": "csv"}, "Enter a valid date/time"),
        ({"start": "2026-03-01T00:00:00", "format": "xml"}, "Select a valid choice"),
    ],
)
def test_a_bad_period_shows_the_form_again(
    db: Any, operator_browser: Any, make_wallet: Callable[..., Wallet], query: dict[str, str], words: str
):
    wallet = make_wallet("alice", "5.00")
    response = operator_browser.get(statement_url(wallet), query)
    assert response.status_code == 400
    assert words in response.content.decode() and 'id="wallet-statement-form"' in response.content.decode()


def test_a_pdf_over_the_cap_says_to_take_the_csv(
    db: Any, operator_browser: Any, make_wallet: Callable[..., Wallet], monkeypatch: pytest.MonkeyPatch
):
    wallet, _ = busy_wallet(make_wallet)
    monkeypatch.setattr(statement_pdf, "PDF_MAX_ENTRIES", 3)
    response = operator_browser.get(
        statement_url(wallet), {"start": wallet.created_at.strftime(FORM_TIME), "format": "pdf"}
    )
    assert response.status_code == 400 and "format=csv" in response.content.decode()


def test_only_operators(client: Any, make_wallet: Callable[..., Wallet]):
    wallet = make_wallet("alice", "5.00")
    response = client.get(statement_url(wallet), {"start": "2026-03-01T00:00:00", "format": "csv"})
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_browsable_api_links_a_wallet_to_its_balance_and_statement(
    db: Any, operator_browser: Any, make_wallet: Callable[..., Wallet]
):
    wallet = make_wallet("alice", "5.00")
    page = operator_browser.get(f"/wallets/{wallet.id}", HTTP_ACCEPT="text/html").content.decode()
    assert f"/wallets/{wallet.id}/balance?at=" in page and f"/wallets/{wallet.id}/statement?from=" in page
    month = wallet.created_at.strftime("%Y-%m-01T00:00:00.000000Z")
    statement = operator_browser.get(
        f"/wallets/{wallet.id}/statement", {"from": month}, HTTP_ACCEPT="text/html"
    )
    assert statement.status_code == 200 and statement["Content-Type"].startswith("text/html")
    html = statement.content.decode()
    assert "opening_balance" in html and "format=csv" in html and "format=pdf" in html
