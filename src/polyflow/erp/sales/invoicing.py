"""Sales invoices (goods and down payments), open items for the payments module, AR aging.

Invoice: only what was delivered and not yet invoiced (409 beyond), priced as on the order, DPP and PPN
Keluaran by tax.compute (whole rupiah, per document and tax code). Posting: Dr 1130 Piutang (total) /
Cr 4100 Pendapatan (DPP) / Cr the tax code's sales account (2130 PPN Keluaran); due date = invoice date +
the customer's payment terms; the buyer's NPWP/NIK/NITKU and the Coretax transaction code are snapshot.

Down payment: a down-payment invoice bills a percentage or an amount of the order's DPP plus its PPN
(Dr 1130 / Cr 2160 Uang Muka Penjualan / Cr 2130); each later invoice of the order deducts the down
payments not yet deducted, their DPP and PPN as invoiced, up to its own DPP (Dr 2160, Dr 2130), so its
`total` (amount due) = DPP + PPN - deductions and the order's PPN is charged once on its full value.

Credit notes come from sales returns (returning.py); Piutang (1130) = open invoices - open credit notes."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import NamedTuple, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.accounting.seeds import PENDAPATAN, PIUTANG
from polyflow.erp.models import SalesInvoice, SalesInvoiceLine, SalesOrder
from polyflow.erp.sales import common, repository
from polyflow.erp.sales.common import TRX_CODES, name, qty, refuse
from polyflow.erp.sales.schemas import Aging, AgingRow, InvoiceIn, OpenItem
from polyflow.erp.tax import service as tax
from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.kit.money import rupiah

# What payments dated after a day allocated to each invoice (the payments module's figures, passed in).
SettledAfter = Callable[[AsyncSession, date], Awaitable[dict[uuid.UUID, Decimal]]]

UANG_MUKA_PENJUALAN = "2160"
DOWN_PAYABLE = ("confirmed", "partially_delivered", "delivered")
INVOICEABLE = ("partially_delivered", "delivered", "closed")
POSTED = repository.POSTED_INVOICE
ZERO = Decimal("0.00")


def now() -> datetime:
    return datetime.now(timezone.utc)


# -- invoices ------------------------------------------------------------------------------------


async def get_invoice(session: AsyncSession, invoice_id: uuid.UUID) -> SalesInvoice:
    """One sales invoice, or 404."""
    invoice = await repository.get_invoice(session, invoice_id, "invoice")
    if invoice is None:
        raise NotFound("sales invoice not found")
    return invoice


async def get_credit_note(session: AsyncSession, note_id: uuid.UUID) -> SalesInvoice:
    """One credit note, or 404."""
    note = await repository.get_invoice(session, note_id, "credit_note")
    if note is None:
        raise NotFound("credit note not found")
    return note


INVOICE_SORTS = {"date": SalesInvoice.invoice_date, "number": SalesInvoice.number, "due": SalesInvoice.due_date,
                 "total": SalesInvoice.total, "open": SalesInvoice.open_amount, "status": SalesInvoice.status}
# Payment filters of the invoice list: not yet settled, settled, or not settled and past due on `today`.
PAYMENT_STATES = ("unpaid", "paid", "overdue")


async def _list(session, kind, *, customer_id, status, order_id, limit, offset, q=None, date_from=None,
                date_to=None, sort=None, payment=None, today=None):
    extra = [SalesInvoice.kind == kind] + ([SalesInvoice.order_id == order_id] if order_id else [])
    extra += repository.search_filters(SalesInvoice, SalesInvoice.invoice_date, q=q, date_from=date_from,
                                       date_to=date_to)
    if payment in ("unpaid", "overdue"):
        extra.append(SalesInvoice.status.in_(("open", "partially_paid")))
        if payment == "overdue":
            extra.append(SalesInvoice.due_date < (today or date.today()))
    elif payment == "paid":
        extra.append(SalesInvoice.status == "paid")
    filters = repository.document_filters(SalesInvoice, customer_id=customer_id, status=status, extra=extra)
    return await repository.list_page(session, SalesInvoice, filters=filters, limit=limit, offset=offset,
                                      order=repository.sort_order(SalesInvoice, SalesInvoice.invoice_date, sort,
                                                                  INVOICE_SORTS))


async def list_invoices(session: AsyncSession, **filters):
    """A page of sales invoices, newest first."""
    return await _list(session, "invoice", **filters)


async def list_credit_notes(session: AsyncSession, **filters):
    """A page of credit notes, newest first."""
    return await _list(session, "credit_note", **filters)


async def _priced_invoice_lines(session: AsyncSession, order: SalesOrder, on: date, wanted) -> tuple[list, dict]:
    """Invoice lines for (order line, quantity, goods/services) at the order's prices, taxed with the codes
    in effect on the invoice date."""
    lines, codes = [], {}
    for i, (line, quantity, opt) in enumerate(wanted, 1):
        v = await repository.variant(session, line.variant_id)
        if line.tax_code not in codes:
            codes[line.tax_code] = await common.sales_tax_code(session, line.tax_code, on)
        gross = common.line_amount(quantity, line.unit_price, Decimal(0))
        amount = common.line_amount(quantity, line.unit_price, line.discount_percent)
        lines.append(SalesInvoiceLine(
            line_no=i, order_line_id=line.id, variant_id=line.variant_id, item_code=v.sku,
            description=line.description, unit_code=line.unit, goods_or_services=opt, quantity=quantity,
            unit_price=line.unit_price, discount=gross - amount, tax_code=line.tax_code,
            tax_rate=codes[line.tax_code].rate, amount=amount))
    return lines, codes


def _trx_code(codes: dict) -> str:
    found = {TRX_CODES.get((c.kind, c.base_rule), "01") for c in codes.values()}
    if len(found) > 1:
        raise InvalidInput(f"one tax invoice has one Coretax transaction code; these lines need {sorted(found)}: "
                           "invoice them separately")
    return found.pop()


async def create_invoice(session: AsyncSession, data: InvoiceIn, user_id: uuid.UUID | None) -> SalesInvoice:
    """A draft invoice of delivered, not yet invoiced quantities (default: all of them)."""
    order = await repository.get(session, SalesOrder, data.order_id)
    if order is None:
        raise InvalidInput("unknown order_id")
    if data.invoice_date < order.order_date:
        raise InvalidInput(f"invoice_date {data.invoice_date} is before the order's date {order.order_date}")
    if data.down_payment_percent is not None or data.down_payment_amount is not None:
        return await _create_down_payment(session, order, data, user_id)
    if order.status not in INVOICEABLE:
        raise Conflict(f"sales order {name(order)} is {order.status.replace('_', ' ')}: only delivered goods are "
                       "invoiced")
    customer = await common.customer(session, order.customer_id, active=False)
    by_id = {line.id: line for line in order.lines}
    if data.lines is None:
        wanted = [(ln, ln.qty_delivered - ln.qty_invoiced, "A") for ln in order.lines
                  if ln.qty_delivered > ln.qty_invoiced]
        if not wanted:
            raise Conflict(f"sales order {order.number}: everything delivered is already invoiced")
    else:
        wanted, seen = [], set()
        for i, item in enumerate(data.lines, 1):
            line = by_id.get(item.order_line_id)
            if line is None:
                raise InvalidInput(f"line {i}: order_line_id is not a line of sales order {order.number}")
            if line.id in seen:
                raise InvalidInput(f"line {i}: {line.description} appears twice")
            seen.add(line.id)
            _check_invoiceable(order, line, item.quantity)
            wanted.append((line, item.quantity, item.goods_or_services))
    lines, codes = await _priced_invoice_lines(session, order, data.invoice_date, wanted)
    base, tax_total, _ = common.apply_tax(lines, codes, order.prices_include_tax)
    invoice = SalesInvoice(
        kind="invoice", order_id=order.id, customer_id=order.customer_id, invoice_date=data.invoice_date,
        due_date=data.invoice_date + timedelta(days=customer.payment_terms_days), status="draft",
        prices_include_tax=order.prices_include_tax, base=base, tax=tax_total,
        other_base=sum((ln.other_base for ln in lines), ZERO), open_amount=ZERO, note=data.note,
        trx_code=_trx_code(codes), created_by=user_id, lines=lines)
    _deduct_down_payments(order, invoice)  # a preview; taken again when posted
    session.add(invoice)
    await session.flush()
    return invoice


async def _create_down_payment(session: AsyncSession, order: SalesOrder, data: InvoiceIn,
                               user_id: uuid.UUID | None) -> SalesInvoice:
    """A draft down-payment invoice: a share of the order's DPP, with the PPN of the order's tax code."""
    if order.status not in DOWN_PAYABLE:
        raise Conflict(f"sales order {name(order)} is {order.status.replace('_', ' ')}: down payments are invoiced "
                       "on confirmed orders")
    codes = {line.tax_code for line in order.lines}
    if len(codes) != 1:
        raise InvalidInput(f"the order's lines have several tax codes ({', '.join(sorted(codes))}): a down payment "
                           "needs one")
    code = await common.sales_tax_code(session, codes.pop(), data.invoice_date)
    base = rupiah(order.base * data.down_payment_percent / 100) if data.down_payment_percent is not None \
        else rupiah(data.down_payment_amount)
    _check_down_payment(order, base)
    figures = tax.compute(code, [base])
    customer = await common.customer(session, order.customer_id, active=False)
    invoice = SalesInvoice(
        kind="invoice", is_down_payment=True, order_id=order.id, customer_id=order.customer_id,
        invoice_date=data.invoice_date, due_date=data.invoice_date + timedelta(days=customer.payment_terms_days),
        status="draft", prices_include_tax=False, base=figures.base, other_base=figures.other_base, tax=figures.tax,
        total=figures.total, open_amount=ZERO, note=data.note or f"Uang muka {order.number}",
        trx_code=_trx_code({code.code: code}), created_by=user_id, lines=[])
    session.add(invoice)
    await session.flush()
    return invoice


def _check_down_payment(order: SalesOrder, base: Decimal) -> None:
    if base <= 0:
        raise InvalidInput("a down payment is at least Rp 1")
    if order.dp_base + base > order.base:
        raise Conflict(f"down payments of sales order {order.number} would reach {order.dp_base + base:.2f}, more than "
                       f"its DPP {order.base:.2f} (already invoiced as down payment: {order.dp_base:.2f})")


def _deduct_down_payments(order: SalesOrder, invoice: SalesInvoice) -> None:
    """Deduct the order's down payments not yet deducted (their DPP and PPN as invoiced), up to this
    invoice's DPP; a partial deduction takes the PPN in proportion."""
    left_base = order.dp_base - order.dp_base_deducted
    left_tax = order.dp_tax - order.dp_tax_deducted
    base = min(left_base, invoice.base)
    tax_part = left_tax if base == left_base else (rupiah(left_tax * base / left_base) if left_base else ZERO)
    invoice.dp_base_deducted, invoice.dp_tax_deducted = base, tax_part
    invoice.total = invoice.base + invoice.tax - base - tax_part


def _check_invoiceable(order: SalesOrder, line, quantity: Decimal) -> None:
    left = line.qty_delivered - line.qty_invoiced
    if quantity > left:
        raise Conflict(f"cannot invoice {qty(quantity)} {line.unit} of {line.description} on sales order "
                       f"{order.number}: delivered {qty(line.qty_delivered)}, invoiced {qty(line.qty_invoiced)}, "
                       f"left to invoice {qty(left)}")


async def delete_invoice(session: AsyncSession, invoice_id: uuid.UUID) -> None:
    """Throw a draft invoice away (a posted one is corrected by a credit note)."""
    invoice = await repository.get_invoice(session, invoice_id, "invoice", lock=True)
    if invoice is None:
        raise NotFound("sales invoice not found")
    refuse(invoice, "sales invoice", ("draft",), "deleted")
    await session.delete(invoice)
    await session.flush()


def snapshot_buyer(invoice: SalesInvoice, customer) -> None:
    invoice.buyer_name, invoice.buyer_address, invoice.buyer_is_pkp = customer.name, customer.address, customer.is_pkp
    if customer.npwp:
        invoice.buyer_tin, invoice.buyer_document = customer.npwp, "TIN"
    elif customer.nik:
        invoice.buyer_tin, invoice.buyer_document = customer.nik, "NIK"
    else:
        invoice.buyer_tin, invoice.buyer_document = None, "Other"
    invoice.buyer_idtku = customer.nitku


async def tax_lines(session: AsyncSession, lines, on: date, debit: bool) -> list[accounting.Line]:
    by_account: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.tax:
            code = await common.sales_tax_code(session, line.tax_code, on)
            if not code.sales_account:
                raise InvalidInput(f"tax code {code.code} has no sales account to post {line.tax} to")
            by_account[code.sales_account] += line.tax
    return [accounting.Line(acct, debit=amt if debit else ZERO, credit=ZERO if debit else amt)
            for acct, amt in sorted(by_account.items()) if amt]


async def post_invoice(session: AsyncSession, invoice_id: uuid.UUID, user_id: uuid.UUID | None) -> SalesInvoice:
    """Draft -> open: numbered (SI), quantities invoiced on the order, journal Dr 1130 / Cr 4100 / Cr 2130."""
    invoice = await repository.get_invoice(session, invoice_id, "invoice", lock=True)
    if invoice is None:
        raise NotFound("sales invoice not found")
    refuse(invoice, "sales invoice", ("draft",), "posted")
    order = await repository.get(session, SalesOrder, invoice.order_id, lock=True)
    await accounting.ensure_postable(session, invoice.invoice_date)
    if invoice.is_down_payment:
        return await _post_down_payment(session, invoice, order, user_id)
    by_id = {line.id: line for line in order.lines}
    for il in invoice.lines:
        line = by_id[il.order_line_id]
        _check_invoiceable(order, line, il.quantity)
        line.qty_invoiced += il.quantity
    customer = await common.customer(session, invoice.customer_id, active=False)
    invoice.due_date = invoice.invoice_date + timedelta(days=customer.payment_terms_days)
    snapshot_buyer(invoice, customer)
    invoice.number = await accounting.next_document_number(session, "SI", invoice.invoice_date)
    _deduct_down_payments(order, invoice)
    lines = [accounting.Line(PIUTANG, debit=invoice.total), accounting.Line(PENDAPATAN, credit=invoice.base)]
    lines += await tax_lines(session, invoice.lines, invoice.invoice_date, debit=False)
    if invoice.dp_base_deducted:
        # The down payment's DPP leaves Uang Muka Penjualan and its PPN is taken back: this invoice carries
        # the PPN of the whole value.
        lines.append(accounting.Line(UANG_MUKA_PENJUALAN, debit=invoice.dp_base_deducted))
        code = await common.sales_tax_code(session, invoice.lines[0].tax_code, invoice.invoice_date)
        lines.append(accounting.Line(code.sales_account or PIUTANG, debit=invoice.dp_tax_deducted))
        order.dp_base_deducted += invoice.dp_base_deducted
        order.dp_tax_deducted += invoice.dp_tax_deducted
    entry = await accounting.post_journal(
        session, doc_type="SI", number=invoice.number, entry_date=invoice.invoice_date, source="sales",
        description=f"Sales invoice {invoice.number} {customer.code} ({order.number})", reference=order.number,
        lines=[ln for ln in lines if ln.debit or ln.credit], created_by=user_id)
    invoice.journal_entry_id = entry.id
    invoice.status, invoice.open_amount = "open", invoice.total
    invoice.posted_by, invoice.posted_at = user_id, now()
    order.invoiced_total += invoice.total
    if order.status != "closed" and all(ln.qty_invoiced >= ln.quantity for ln in order.lines):
        order.status = "invoiced"
    if invoice.total == 0:
        invoice.status = "paid"
    await session.flush()
    return invoice


async def _post_down_payment(session: AsyncSession, invoice: SalesInvoice, order: SalesOrder,
                             user_id: uuid.UUID | None) -> SalesInvoice:
    """Dr 1130 Piutang / Cr 2160 Uang Muka Penjualan (DPP) / Cr 2130 PPN Keluaran."""
    if order.status not in DOWN_PAYABLE:
        raise Conflict(f"sales order {name(order)} is {order.status.replace('_', ' ')}: down payments are invoiced "
                       "on confirmed orders")
    _check_down_payment(order, invoice.base)
    customer = await common.customer(session, invoice.customer_id, active=False)
    invoice.due_date = invoice.invoice_date + timedelta(days=customer.payment_terms_days)
    snapshot_buyer(invoice, customer)
    code = await common.sales_tax_code(session, order.lines[0].tax_code, invoice.invoice_date)
    invoice.number = await accounting.next_document_number(session, "SI", invoice.invoice_date)
    lines = [accounting.Line(PIUTANG, debit=invoice.total), accounting.Line(UANG_MUKA_PENJUALAN, credit=invoice.base),
             accounting.Line(code.sales_account or PIUTANG, credit=invoice.tax)]
    entry = await accounting.post_journal(
        session, doc_type="SI", number=invoice.number, entry_date=invoice.invoice_date, source="sales",
        description=f"Down-payment invoice {invoice.number} {customer.code} ({order.number})", reference=order.number,
        lines=[ln for ln in lines if ln.debit or ln.credit], created_by=user_id)
    invoice.journal_entry_id = entry.id
    invoice.status, invoice.open_amount = "open", invoice.total
    invoice.posted_by, invoice.posted_at = user_id, now()
    order.dp_base += invoice.base
    order.dp_tax += invoice.tax
    order.invoiced_total += invoice.total
    await session.flush()
    return invoice


class ServiceLine(NamedTuple):
    """A line of a service invoice: `variant_id` names what the service was done on (Coretax item code)."""

    variant_id: uuid.UUID
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    tax_code: str


async def create_service_invoice(session: AsyncSession, *, customer_id: uuid.UUID, invoice_date: date,
                                 lines: Sequence[ServiceLine], revenue_account: str, reference: str,
                                 note: str | None = None, user_id: uuid.UUID | None = None) -> SalesInvoice:
    """A posted invoice for services billed without a sales order (toll manufacturing fees): numbered SI,
    taxed by the one rule of tax.compute, Dr 1130 (total) / Cr `revenue_account` (DPP) / Cr the tax code's
    sales account (2130 PPN Keluaran); an open item for the payments module like any other invoice."""
    if not lines:
        raise InvalidInput("a service invoice needs at least one line")
    customer = await common.customer(session, customer_id, active=False)
    await accounting.ensure_postable(session, invoice_date)
    invoice_lines, codes = [], {}
    for i, item in enumerate(lines, 1):
        v = await repository.variant(session, item.variant_id)
        if v is None:
            raise InvalidInput(f"line {i}: unknown variant_id {item.variant_id}")
        code = item.tax_code.strip().upper()
        if code not in codes:
            codes[code] = await common.sales_tax_code(session, code, invoice_date)
        invoice_lines.append(SalesInvoiceLine(
            line_no=i, order_line_id=None, variant_id=v.id, item_code=v.sku, description=item.description[:200],
            unit_code=item.unit, goods_or_services="B", quantity=item.quantity, unit_price=item.unit_price,
            discount=ZERO, tax_code=code, tax_rate=codes[code].rate,
            amount=common.line_amount(item.quantity, item.unit_price, Decimal(0))))
    base, tax_total, _ = common.apply_tax(invoice_lines, codes, False)
    if base + tax_total >= common.MAX_AMOUNT:
        raise InvalidInput(f"the invoice's total would reach {base + tax_total:.2f}; amounts stay below "
                           f"{common.MAX_AMOUNT:.0f} rupiah")
    invoice = SalesInvoice(
        kind="invoice", order_id=None, customer_id=customer.id, invoice_date=invoice_date,
        due_date=invoice_date + timedelta(days=customer.payment_terms_days), status="draft",
        prices_include_tax=False, base=base, tax=tax_total, total=base + tax_total,
        other_base=sum((ln.other_base for ln in invoice_lines), ZERO), open_amount=ZERO, note=note,
        trx_code=_trx_code(codes), created_by=user_id, lines=invoice_lines)
    snapshot_buyer(invoice, customer)
    invoice.number = await accounting.next_document_number(session, "SI", invoice_date)
    journal = [accounting.Line(PIUTANG, debit=invoice.total), accounting.Line(revenue_account, credit=base)]
    journal += await tax_lines(session, invoice_lines, invoice_date, debit=False)
    entry = await accounting.post_journal(
        session, doc_type="SI", number=invoice.number, entry_date=invoice_date, source="sales",
        description=f"Service invoice {invoice.number} {customer.code} ({reference})", reference=reference,
        lines=[ln for ln in journal if ln.debit or ln.credit], created_by=user_id)
    invoice.journal_entry_id = entry.id
    invoice.status, invoice.open_amount = ("open" if invoice.total else "paid"), invoice.total
    invoice.posted_by, invoice.posted_at = user_id, now()
    session.add(invoice)
    await session.flush()
    return invoice


def settle(doc: SalesInvoice) -> None:
    doc.status = "paid" if doc.open_amount == 0 else ("open" if doc.open_amount == doc.total else "partially_paid")


# -- open items (for the payments module) and aging ----------------------------------------------


def _item(doc: SalesInvoice) -> OpenItem:
    sign = -1 if doc.kind == "credit_note" else 1
    return OpenItem(id=doc.id, number=doc.number, kind=doc.kind, partner_id=doc.customer_id,
                    invoice_date=doc.invoice_date, due_date=doc.due_date, total=sign * doc.total,
                    open_amount=sign * doc.open_amount, control_account=PIUTANG)


async def open_item(session: AsyncSession, invoice_id: uuid.UUID, *, lock: bool = True) -> OpenItem:
    """A posted invoice or credit note as an open item (locked FOR UPDATE until commit when `lock`).
    A credit note's total and open amount are negative."""
    doc = await repository.get_invoice(session, invoice_id, lock=lock)
    if doc is None:
        raise NotFound("sales invoice not found")
    if doc.status not in POSTED:
        raise Conflict(f"sales invoice {name(doc)} is {doc.status}: only posted invoices are open items")
    return _item(doc)


async def apply_payment(session: AsyncSession, invoice_id: uuid.UUID, amount: Decimal) -> None:
    """Reduce the open amount by a payment (positive; 409 above the open amount) or re-open it on a payment
    reversal (negative; never above total - credited). On a credit note a positive amount is a refund."""
    doc = await repository.get_invoice(session, invoice_id, lock=True)
    if doc is None:
        raise NotFound("sales invoice not found")
    if doc.status not in POSTED:
        raise Conflict(f"sales invoice {name(doc)} is {doc.status}: payments go to posted invoices")
    amount = Decimal(amount)
    if amount == 0 or amount != rupiah(amount):
        raise InvalidInput("a payment is a non-zero amount in whole rupiah")
    if amount > doc.open_amount:
        raise Conflict(f"payment {amount:.2f} exceeds the open amount {doc.open_amount:.2f} of {doc.number}")
    ceiling = doc.total - doc.credited
    if doc.open_amount - amount > ceiling:
        raise Conflict(f"reversing {-amount:.2f} would re-open {doc.number} above what was paid "
                       f"({doc.paid:.2f})")
    doc.paid += amount
    doc.open_amount -= amount
    settle(doc)
    await session.flush()


async def open_items(session: AsyncSession, partner_id: uuid.UUID | None = None) -> list[OpenItem]:
    """Posted invoices and credit notes with an open amount, by due date."""
    return [_item(doc) for doc in await repository.open_invoices(session, partner_id)]


BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90")


def _bucket(days_late: int) -> str:
    if days_late <= 0:
        return "current"
    if days_late <= 30:
        return "days_1_30"
    if days_late <= 60:
        return "days_31_60"
    return "days_61_90" if days_late <= 90 else "over_90"


async def _aging_figures(session: AsyncSession, as_of: date, touched) -> list:
    """The figures `_item` reads of the documents `repository.aging_documents` picks (dated up to `as_of`,
    open now or among `touched`): columns only, as the invoices' ORM load also fetched every line of each
    (30 ms for 800 open invoices; the partial index on open_amount > 0 answers the rest in 1 ms)."""
    c = SalesInvoice
    open_now = c.open_amount > 0
    stmt = (select(c.id, c.number, c.kind, c.customer_id, c.invoice_date, c.due_date, c.total, c.open_amount)
            .where(c.status.in_(repository.POSTED_INVOICE), c.invoice_date <= as_of,
                   open_now | c.id.in_(list(touched)) if touched else open_now)
            .order_by(c.due_date, c.number))
    return list((await session.execute(stmt)).all())


async def ar_aging(session: AsyncSession, as_of: date | None = None, *,
                   settled_after: SettledAfter | None = None) -> Aging:
    """Open receivables per customer by days past due on `as_of` (default today): current, 1-30, 31-60,
    61-90, over 90. Documents dated after `as_of` are left out; amounts are those open on `as_of`.

    For a past `as_of`, `settled_after(session, day)` must say what receipts dated after `day` allocated
    to each invoice (the payments module's figures; the endpoint passes them in, so this module does
    not import payments, which imports it)."""
    today = await accounting.local_today(session)
    as_of = as_of or today
    later: dict[uuid.UUID, Decimal] = {}
    if as_of < today:
        # Open on a past date = open now + what was taken off it since: receipts allocated after the date
        # (net of cancellations after it; payments' figures, read through its service) and credit notes
        # dated after it. A credit note's stored open amount grows back by the credit it has used since.
        if settled_after is None:
            raise ValueError("an aging before today needs the payments' allocations (settled_after)")
        for invoice_id, amount in (await settled_after(session, as_of)).items():
            later[invoice_id] = later.get(invoice_id, ZERO) + amount
        for invoice_id, amount in (await repository.credited_after(session, as_of)).items():
            later[invoice_id] = later.get(invoice_id, ZERO) + amount
    sums: dict[uuid.UUID, dict[str, Decimal]] = defaultdict(lambda: {b: ZERO for b in BUCKETS})
    for doc in await _aging_figures(session, as_of, later.keys()):
        item = _item(doc)
        # A credit note's allocations are negative (credit used) and its item amount is negative too.
        open_then = item.open_amount + later.get(doc.id, ZERO)
        if open_then:
            sums[item.partner_id][_bucket((as_of - item.due_date).days)] += open_then
    partners = await repository.partners_by_id(session, sums.keys())
    rows = []
    for pid, buckets in sorted(sums.items(), key=lambda kv: partners[kv[0]].code):
        rows.append(AgingRow(partner_id=pid, partner_code=partners[pid].code, partner_name=partners[pid].name,
                             total=sum(buckets.values(), ZERO), **buckets))
    totals = {b: sum((getattr(r, b) for r in rows), ZERO) for b in BUCKETS}
    return Aging(as_of=as_of, rows=rows, totals=totals, total=sum(totals.values(), ZERO))
