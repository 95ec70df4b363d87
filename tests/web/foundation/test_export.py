"""Exports keep numbers as numbers and never let a cell typed by a user run as a spreadsheet formula."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from polyflow.web.export import csv_response, xlsx_response


ROWS = [["=HYPERLINK(\"http://x\")", Decimal("1250.50"), date(2026, 11, 29)], ["PE film", Decimal("-3"), None]]


def test_csv_keeps_figures_and_defuses_formulas():
    response = csv_response("stock moves", ["Name", "Qty", "Date"], ROWS)
    assert response.headers["content-disposition"] == 'attachment; filename="stock-moves.csv"'
    text = response.body.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Name", "Qty", "Date"]
    assert rows[1] == ["'=HYPERLINK(\"http://x\")", "1250.5", "2026-11-29"]
    assert rows[2] == ["PE film", "-3", ""]


def test_xlsx_keeps_numbers_numeric():
    response = xlsx_response("valuation", [("Valuation", ["Name", "Qty", "Date"], ROWS)])
    book = load_workbook(io.BytesIO(response.body))
    sheet = book["Valuation"]
    assert sheet["A2"].value.startswith("'=")
    assert float(sheet["B2"].value) == 1250.5 and float(sheet["B3"].value) == -3
    assert sheet["C2"].value.date() == date(2026, 11, 29)
