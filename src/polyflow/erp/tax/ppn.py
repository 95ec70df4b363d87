"""The monthly PPN summary (the figures of the SPT Masa PPN): output tax against creditable input tax,
underpaid (kurang bayar) or overpaid (lebih bayar), the overpayment carried forward, and the check
against the general ledger (2130 PPN Keluaran, 1150 PPN Masukan).

Which documents count, by their date within the month:
- PPN Keluaran: posted sales invoices (their PPN less the down-payment PPN they deduct: that PPN was
  charged on the down-payment invoice, in its own month) minus posted credit notes (sales returns).
- PPN Masukan: posted supplier invoices (credited in the month of their date — the law allows up to
  three months later; Polyflow credits it at once) minus the PPN of purchase returns' debit notes.

Carry forward (stated once, here): every month from the first one with a PPN document is computed in
order; a month's payable = output - input - the overpayment carried in. A negative payable is an
overpayment (lebih bayar) that is carried, whole, into the next month (kompensasi, UU PPN art. 9(4));
Polyflow does not record restitution requests, so nothing else leaves the carried amount.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.accounting.seeds import PPN_KELUARAN, PPN_MASUKAN
from polyflow.erp.purchasing import service as purchasing
from polyflow.erp.sales import service as sales
from polyflow.erp.tax.output_schemas import GlCheck, PpnDocument, PpnSide, PpnSummary, PpnTotals
from polyflow.kit.errors import InvalidInput
from polyflow.kit.money import ZERO, rupiah

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
CARRY_FORWARD_RULE = ("Each month from the first with a PPN document, in order: payable = output - input - "
                      "overpayment carried in; a negative payable (lebih bayar) is carried whole into the next "
                      "month (kompensasi); restitution is not recorded.")


def parse_month(value: str) -> tuple[str, date, date]:
    """'YYYY-MM' -> (the month, its first day, its last day); 422 otherwise."""
    found = MONTH.match(value.strip()) if value else None
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1900:
        raise InvalidInput(f"month must be YYYY-MM (e.g. 2026-11), not {value!r}")
    year, month = int(found.group(1)), int(found.group(2))
    return f"{year:04d}-{month:02d}", date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class Figures:
    """A sales document's DPP, DPP nilai lain and PPN as reported (whole rupiah)."""

    base: Decimal
    other_base: Decimal
    tax: Decimal


def net_figures(doc) -> Figures:
    """A sales invoice's figures less the down payments it deducts (their DPP and PPN were reported on the
    down-payment invoice): what its tax invoice reports. The DPP nilai lain deducted is the deducted DPP at
    the invoice's own ratio of DPP nilai lain to DPP (11/12 for transaction code 04)."""
    other_deducted = ZERO
    if doc.dp_base_deducted and doc.base:
        other_deducted = rupiah(doc.dp_base_deducted * doc.other_base / doc.base)
    return Figures(doc.base - doc.dp_base_deducted, doc.other_base - other_deducted, doc.tax - doc.dp_tax_deducted)


def _totals(figures: list[tuple[Decimal, Decimal | None, Decimal]], with_other: bool) -> PpnTotals:
    return PpnTotals(base=sum((f[0] for f in figures), ZERO),
                     other_base=sum((f[1] for f in figures), ZERO) if with_other else None,
                     tax=sum((f[2] for f in figures), ZERO))


def _side(documents: list, corrections: list, with_other: bool, items: list[PpnDocument]) -> PpnSide:
    """A side from its documents' and corrections' (DPP, DPP nilai lain, PPN) figures and their items."""
    docs, corr = _totals(documents, with_other), _totals(corrections, with_other)
    net = PpnTotals(base=docs.base + corr.base, tax=docs.tax + corr.tax,
                    other_base=docs.other_base + corr.other_base if with_other else None)
    return PpnSide(documents=docs, corrections=corr, net=net, items=items)


async def _output_side(session: AsyncSession, date_from: date, date_to: date) -> PpnSide:
    return _output_side_of(await sales.tax_totals(session, date_from, date_to))


def _output_side_of(rows, items: bool = True) -> PpnSide:
    """The output side of a month's rows; `items=False` sums the same figures without building the
    per-document list (thousands of models a year the PPN page does not show)."""
    figures: dict[int, list] = {1: [], -1: []}
    listed: dict[int, list[PpnDocument]] = {1: [], -1: []}
    for doc in rows:
        f = net_figures(doc)
        sign = -1 if doc.kind == "credit_note" else 1
        signed = (sign * f.base, sign * f.other_base, sign * f.tax)
        figures[sign].append(signed)
        if items:
            listed[sign].append(PpnDocument(
                kind="credit_note" if sign < 0 else "sales_invoice", id=doc.id, number=doc.number,
                doc_date=doc.invoice_date, partner_id=doc.customer_id, partner_name=doc.buyer_name,
                trx_code=doc.trx_code, base=signed[0], other_base=signed[1], tax=signed[2]))
    return _side(figures[1], figures[-1], True, listed[1] + listed[-1])


async def _input_side(session: AsyncSession, date_from: date, date_to: date) -> PpnSide:
    return _input_side_of(*await purchasing.input_tax_documents(session, date_from, date_to))


def _input_side_of(invoices, returns, items: bool = True) -> PpnSide:
    """The input side of a month's rows (`items` as for the output side)."""
    listed = []
    if items:
        listed = ([PpnDocument(kind="purchase_invoice", id=i.id, number=i.number, doc_date=i.invoice_date,
                               partner_id=i.partner_id, tax_invoice_no=i.tax_invoice_no, base=i.subtotal,
                               tax=i.tax_amount) for i in invoices]
                  + [PpnDocument(kind="debit_note", id=r.id, number=r.number, doc_date=r.return_date,
                                 partner_id=r.partner_id, tax_invoice_no=r.tax_invoice_no, base=-r.debit_base,
                                 tax=-r.debit_tax) for r in returns])
    return _side([(i.subtotal, None, i.tax_amount) for i in invoices],
                 [(-r.debit_base, None, -r.debit_tax) for r in returns], False, listed)


async def carried_in(session: AsyncSession, first_day: date) -> Decimal:
    """The overpayment carried into the month starting `first_day`, computed month by month from the
    first month with a PPN document (the module's rule)."""
    return (await _carried_into(session, [first_day]))[first_day]


async def _carried_into(session: AsyncSession, firsts: list[date]) -> dict[date, Decimal]:
    """First day of a month -> the overpayment carried into it, for several months from one pass over the
    monthly totals up to the last of them (the same loop as for one month, its state read at each)."""
    end = max(firsts)
    output = dict(await sales.monthly_output_tax(session, end))
    creditable = await purchasing.monthly_input_tax(session, end)
    wanted = sorted(firsts)
    out: dict[date, Decimal] = {}
    carried = ZERO
    for month in sorted(set(output) | set(creditable)):
        while wanted and wanted[0] <= month:
            out[wanted.pop(0)] = carried
        payable = output.get(month, ZERO) - creditable.get(month, ZERO) - carried
        carried = -payable if payable < 0 else ZERO
    for first in wanted:
        out[first] = carried
    return out


async def _movement(session: AsyncSession, code: str, date_from: date, date_to: date) -> Decimal:
    """An account's movement over the dates on its normal side (credit for 2130, debit for 1150)."""
    ledger = await accounting.general_ledger(session, code, date_to, date_from, limit=1)
    return ledger.closing_balance - ledger.opening_balance


def _check(account: str, movement: Decimal, documents: Decimal) -> GlCheck:
    return GlCheck(account=account, movement=movement, documents=documents, difference=movement - documents,
                   matches=movement == documents)


async def ppn_summary(session: AsyncSession, month: str) -> PpnSummary:
    """The month's PPN: output vs creditable input tax, kurang/lebih bayar, the carried overpayment, the
    documents, and the GL movement of 2130 and 1150 against them."""
    label, first, last = parse_month(month)
    output = await _output_side(session, first, last)
    creditable = await _input_side(session, first, last)
    return await _summary(session, label, first, last, output, creditable, await carried_in(session, first))


async def ppn_summary_year(session: AsyncSession, year: int, months: int = 12, *,
                           items: bool = True) -> list[PpnSummary]:
    """The PPN summaries of months 1..`months` of `year`, each identical to `ppn_summary` of that month, from
    one read of the year's documents and one pass of the carry forward (not one per month from the start).
    `items=False` leaves the sides' document lists empty (every figure unchanged): the year page's case."""
    spans = [parse_month(f"{year:04d}-{m:02d}") for m in range(1, months + 1)]
    if not spans:
        return []
    year_first, year_last = spans[0][1], spans[-1][2]
    sales_rows: dict[date, list] = {first: [] for _l, first, _e in spans}
    for row in await sales.tax_totals(session, year_first, year_last):
        sales_rows[row.invoice_date.replace(day=1)].append(row)
    invoices, returns = await purchasing.input_tax_documents(session, year_first, year_last)
    bought: dict[date, tuple[list, list]] = {first: ([], []) for _l, first, _e in spans}
    for row in invoices:
        bought[row.invoice_date.replace(day=1)][0].append(row)
    for row in returns:
        bought[row.return_date.replace(day=1)][1].append(row)
    carried = await _carried_into(session, [first for _l, first, _e in spans])
    # Rows come by date then number, so each month's share keeps the order its own query gives.
    return [await _summary(session, label, first, last, _output_side_of(sales_rows[first], items),
                           _input_side_of(*bought[first], items=items), carried[first])
            for label, first, last in spans]


async def _summary(session: AsyncSession, label: str, first: date, last: date, output: PpnSide,
                   creditable: PpnSide, carried: Decimal) -> PpnSummary:
    net = output.net.tax - creditable.net.tax
    payable = net - carried
    gl = [_check(PPN_KELUARAN, await _movement(session, PPN_KELUARAN, first, last), output.net.tax),
          _check(PPN_MASUKAN, await _movement(session, PPN_MASUKAN, first, last), creditable.net.tax)]
    return PpnSummary(
        month=label, date_from=first, date_to=last, output_tax=output, input_tax=creditable, net=net,
        carried_in=carried, underpaid=max(payable, ZERO), overpaid=max(-payable, ZERO),
        status="kurang_bayar" if payable > 0 else "lebih_bayar" if payable < 0 else "nihil",
        carry_forward_rule=CARRY_FORWARD_RULE, gl=gl, matches=all(c.matches for c in gl))
