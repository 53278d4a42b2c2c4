"""A statement as CSV, written a row at a time (issue #33; docs/statements.md).

Why a generator: a statement of a long-history wallet may hold hundreds of thousands of entries;
the rows come from a server-side cursor (`statements.statement_rows`) and leave as they are written,
so the memory stays constant whatever the period holds.

The format is fixed (verify_statement.py reads it): the header line `HEADER`; an `OPENING` row (at
`from`: the opening balance, version and hash); one `ENTRY` row per entry, oldest first; a `CLOSING`
row (at `to`). Decimals are plain text with 4 places, times ISO 8601 UTC with microseconds, hashes
64 lowercase hex characters; UTF-8, no byte-order mark, CRLF line ends (RFC 4180).

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula (and some also after a
tab or carriage return): a description starting with one of those is written with a `'` in front,
which spreadsheets show as text. Only descriptions carry text a user chose; they are not part of the
chain's canonical bytes, so the guard changes nothing a verifier checks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime

from .money import format_money
from .statements import Mark, Row, StatementHeader, utc_text

HEADER = (
    "row,wallet_id,created_at,entry_id,transaction_id,type,amount,currency,balance_after,"
    "wallet_version,description,hash"
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def guarded(text: str | None) -> str:
    """A description as a spreadsheet shows it as text (`'` before a formula's first character)."""
    if not text:
        return ""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def hex_or_empty(value: bytes | None) -> str:
    return value.hex() if value is not None else ""


def filename(header: StatementHeader, extension: str) -> str:
    """`statement-<wallet>-<from>-<to>.<ext>`, the times in ISO 8601 basic form (no colons)."""

    def compact(moment: datetime) -> str:
        text = utc_text(moment)  # 2026-03-01T00:00:00.000000Z
        day, clock = text[:10].replace("-", ""), text[11:19].replace(":", "")
        fraction = text[20:26]
        return f"{day}T{clock}{'.' + fraction if fraction != '000000' else ''}Z"

    return f"statement-{header.wallet.id}-{compact(header.start)}-{compact(header.end)}.{extension}"


def _mark_row(kind: str, header: StatementHeader, moment: datetime, mark: Mark) -> list[str]:
    wallet = header.wallet
    return [
        kind,
        str(wallet.id),
        utc_text(moment),
        "",
        "",
        "",
        "",
        wallet.currency,
        format_money(mark.balance),
        str(mark.version),
        "",
        hex_or_empty(mark.hash),
    ]


def _entry_row(wallet_id: str, row: Row) -> list[str]:
    return [
        "ENTRY",
        wallet_id,
        utc_text(row.created_at),
        str(row.id),
        str(row.transaction_id),
        row.type,
        format_money(row.amount),
        row.currency,
        format_money(row.balance_after),
        str(row.wallet_version),
        guarded(row.note),
        hex_or_empty(row.chain_hash),
    ]


def csv_lines(header: StatementHeader, rows: Iterable[Row], flush_at: int = 64 * 1024) -> Iterator[bytes]:
    """The statement's CSV as UTF-8 bytes, in pieces of about `flush_at` characters (a piece per
    row would cost the web server a write per row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> bytes:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text.encode()

    buffer.write(HEADER + "\r\n")
    writer.writerow(_mark_row("OPENING", header, header.start, header.opening))
    wallet_id = str(header.wallet.id)
    for row in rows:
        writer.writerow(_entry_row(wallet_id, row))
        if buffer.tell() >= flush_at:
            yield flush()
    writer.writerow(_mark_row("CLOSING", header, header.end, header.closing))
    yield flush()
