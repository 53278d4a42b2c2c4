"""A statement as a PDF for a customer, with ReportLab (issue #33; docs/statements.md).

Why a cap: a PDF's layout (tables split over pages, the page count) is made in memory, so its cost
grows with the entries; unlike the CSV it cannot stream. A statement of at most `PDF_MAX_ENTRIES`
entries (about 60 pages) is built in memory; a longer one is refused with 400
`statement_too_long_for_pdf`, which points to the CSV (streamed, any length) or a shorter period.
Consecutive shorter statements chain, so nothing is lost by splitting a period.

The document: the header (wallet, currency, owner), the period (half-open: from inclusive, to
exclusive), opening and closing balances with their versions and chain hashes, total in and out,
the count, the table of entries (time, type, amount, balance after, version, description, the
hash's first 16 hex characters; each hash in full is in the CSV and the JSON), and "Page N" at the
foot of every page. Only ReportLab's built-in fonts: nothing is fetched.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from xml.sax.saxutils import escape

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped]
from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle  # type: ignore[import-untyped]

from common.errors import ApplicationError

from .money import format_money
from .statements import Row, StatementHeader, utc_text

PDF_MAX_ENTRIES = 2_000


class StatementTooLongForPdf(ApplicationError):
    code = "statement_too_long_for_pdf"
    default_message = "The period has too many entries for a PDF."

    def __init__(self, count: int) -> None:
        super().__init__(
            f"The period has {count} entries; a PDF statement holds at most {PDF_MAX_ENTRIES}. "
            "Download it as CSV (?format=csv, any length, streamed) or ask for a shorter period: "
            "consecutive statements chain.",
            details={"count": count, "max_entries": PDF_MAX_ENTRIES},
        )


def require_fits(header: StatementHeader) -> None:
    if header.count > PDF_MAX_ENTRIES:
        raise StatementTooLongForPdf(header.count)


def _hex(value: bytes | None) -> str:
    return value.hex() if value is not None else "(not chained)"


def _page_number(canvas: Canvas, doc: SimpleDocTemplate) -> None:
    canvas.saveState()
    canvas.setFont("Helvetica", 8)
    canvas.drawRightString(doc.pagesize[0] - 15 * mm, 8 * mm, f"Page {doc.page}")
    canvas.restoreState()


def statement_pdf(header: StatementHeader, rows: Iterable[Row]) -> bytes:
    """The PDF's bytes (`require_fits` first: this builds in memory)."""
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    mono = styles["BodyText"].clone("mono", fontName="Courier", fontSize=8, leading=10)
    wallet = header.wallet
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Statement of wallet {wallet.id}",
        author="Wallet service",
    )

    def line(label: str, value: str, style: object = small) -> Paragraph:
        return Paragraph(f"<b>{escape(label)}</b> {escape(value)}", style)

    story: list[object] = [
        Paragraph("Wallet statement", styles["Title"]),
        line("Wallet:", str(wallet.id)),
        line("Currency:", wallet.currency),
        line("Owner:", wallet.user_id),
        line(
            "Period:",
            f"from {utc_text(header.start)} (inclusive) to {utc_text(header.end)} (exclusive), UTC",
        ),
        Spacer(1, 3 * mm),
        line(
            "Opening balance:",
            f"{format_money(header.opening.balance)} {wallet.currency} (version {header.opening.version})",
        ),
        line(
            "Closing balance:",
            f"{format_money(header.closing.balance)} {wallet.currency} (version {header.closing.version})",
        ),
        line("Total in:", f"{format_money(header.total_in)} {wallet.currency}"),
        line("Total out:", f"{format_money(header.total_out)} {wallet.currency}"),
        line("Entries:", str(header.count)),
        Spacer(1, 3 * mm),
        line("Opening chain hash:", _hex(header.opening.hash), mono),
        line("Closing chain hash:", _hex(header.closing.hash), mono),
        Spacer(1, 5 * mm),
    ]
    table = [["Time (UTC)", "Type", "Amount", "Balance after", "Version", "Description", "Hash (start)"]]
    for row in rows:
        table.append(
            [
                utc_text(row.created_at),
                row.type,
                format_money(row.amount),
                format_money(row.balance_after),
                str(row.wallet_version),
                Paragraph(escape(row.note or ""), small),
                row.chain_hash.hex()[:16] if row.chain_hash is not None else "",
            ]
        )
    if len(table) == 1:
        story.append(Paragraph("No entries in this period.", small))
    else:
        entries = LongTable(
            table,
            repeatRows=1,
            colWidths=[44 * mm, 28 * mm, 26 * mm, 28 * mm, 16 * mm, 88 * mm, 36 * mm],
        )
        entries.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
                    ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
                    ("FONT", (6, 1), (6, -1), "Courier", 7),
                    ("ALIGN", (2, 0), (4, -1), "RIGHT"),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f2f2")]),
                ]
            )
        )
        story.append(entries)
    doc.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return buffer.getvalue()
