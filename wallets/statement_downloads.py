"""A statement's download as an HTTP response, the CSV or the PDF: one builder for the API
(`wallets/api/statement_views.py`) and the admin's statement form (`wallets/admin.py`), so an
operator downloads exactly what the customer does (docs/statements.md)."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from . import statement_csv, statement_pdf, statements
from .statements import StatementHeader

DOWNLOADS = {"csv": "text/csv", "pdf": "application/pdf"}


def download_response(kind: str, header: StatementHeader) -> HttpResponseBase:
    """The CSV (streamed from a server-side cursor, any length) or the PDF (at most
    `statement_pdf.PDF_MAX_ENTRIES` entries: StatementTooLongForPdf beyond)."""
    rows = statements.statement_rows(wallet=header.wallet, start=header.start, end=header.end)
    response: HttpResponseBase
    if kind == "csv":
        response = StreamingHttpResponse(
            statement_csv.csv_lines(header, rows), content_type="text/csv; charset=utf-8"
        )
    else:
        statement_pdf.require_fits(header)
        response = HttpResponse(statement_pdf.statement_pdf(header, rows), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{statement_csv.filename(header, kind)}"'
    response["Cache-Control"] = "private, no-store"
    return response
