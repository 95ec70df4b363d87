"""Lists and reports as files: CSV (UTF-8 with a BOM, so Excel opens it with the right characters) and Excel
(.xlsx, written by openpyxl in write-only mode). Numbers stay numbers (a Decimal is written as one, never as
"Rp 1.234"), dates stay dates, so a spreadsheet can add them up."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Iterable, Sequence

from fastapi.responses import Response
from openpyxl import Workbook

from polyflow.web import fmt

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_filename(name: str) -> str:
    return (_UNSAFE.sub("-", name).strip("-") or "export")[:80]


def _cell(value: Any) -> Any:
    """A value as a spreadsheet keeps it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, datetime):
        return fmt.local(value).replace(tzinfo=None)
    if isinstance(value, (Decimal, int, float, date)):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    text = str(getattr(value, "value", value))
    # A cell starting with = + - @ is a formula to Excel: text from users must never run as one.
    return "'" + text if text.startswith(_FORMULA) else text


def _csv_cell(value: Any) -> str:
    value = _cell(value)
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def csv_response(filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    body = "\ufeff" + out.getvalue()
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{safe_filename(filename)}.csv"'})


def xlsx_bytes(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> bytes:
    book = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet = book.create_sheet(title=(_UNSAFE.sub(" ", title).strip() or "Sheet")[:31])
        sheet.append(list(headers))
        for row in rows:
            sheet.append([_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_response(filename: str, sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]) -> Response:
    return Response(xlsx_bytes(sheets), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{safe_filename(filename)}.xlsx"'})


def table_response(kind: str, filename: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    """`kind` "csv" or "xlsx"."""
    rows = list(rows)
    if kind == "csv":
        return csv_response(filename, headers, rows)
    return xlsx_response(filename, [(filename, headers, rows)])
