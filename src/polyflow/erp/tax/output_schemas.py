"""Schemas of the tax outputs: the monthly PPN summary (the e-Faktur XML is a file, not a schema)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import BaseModel

from polyflow.kit.money import AmountOut

DocKind = Literal["sales_invoice", "credit_note", "purchase_invoice", "debit_note"]


class PpnDocument(BaseModel):
    """One document of the month with its PPN figures, signed as they count in the summary (a credit
    note or a debit note is negative)."""

    kind: DocKind
    id: uuid.UUID
    number: str
    doc_date: date
    partner_id: uuid.UUID
    partner_name: str | None = None  # the buyer's name as on the tax invoice (sales)
    tax_invoice_no: str | None = None  # the supplier's faktur pajak number (purchases)
    trx_code: str | None = None  # Coretax transaction code (sales)
    base: AmountOut  # DPP
    other_base: AmountOut | None = None  # DPP nilai lain (sales; purchases do not record it)
    tax: AmountOut


class PpnTotals(BaseModel):
    base: AmountOut
    other_base: AmountOut | None = None
    tax: AmountOut


class PpnSide(BaseModel):
    """One side of the return: the tax documents (invoices) and their corrections (credit or debit notes),
    and the net."""

    documents: PpnTotals  # sales invoices / supplier invoices
    corrections: PpnTotals  # credit notes / debit notes (negative)
    net: PpnTotals
    items: list[PpnDocument]


class GlCheck(BaseModel):
    """The movement of a PPN account in the month on its normal side, against the documents' figure."""

    account: str
    movement: AmountOut
    documents: AmountOut
    difference: AmountOut
    matches: bool


class PpnSummary(BaseModel):
    month: str
    date_from: date
    date_to: date
    output_tax: PpnSide  # PPN Keluaran
    input_tax: PpnSide  # PPN Masukan (creditable)
    net: AmountOut  # output - input of the month
    carried_in: AmountOut  # overpayment (lebih bayar) of earlier months compensated this month
    underpaid: AmountOut  # kurang bayar: to pay by the deposit deadline
    overpaid: AmountOut  # lebih bayar: carried forward to the next month
    status: Literal["kurang_bayar", "lebih_bayar", "nihil"]
    carry_forward_rule: str
    gl: list[GlCheck]
    matches: bool  # every GL check matches
