"""Sales invoices, sales returns with their credit notes, open items for payments, AR aging.

Invoice: only what was delivered and not yet invoiced (409 beyond), priced as on the order, DPP and PPN
Keluaran by tax.compute (whole rupiah, per document and tax code). Posting: Dr 1130 Piutang (total) /
Cr 4100 Pendapatan (DPP) / Cr the tax code's sales account (2130 PPN Keluaran); due date = invoice date +
the customer's payment terms; the buyer's NPWP/NIK/NITKU and the Coretax transaction code are snapshot.

Return: goods of a posted delivery come back into a location (inventory IN reason return, at the cost
they left with: the delivery movement's cost per unit) and a credit note (CN) is posted: Dr 4110 Retur
Penjualan (DPP) + Dr 2130 (PPN) / Cr 1130 (total), priced at the invoice line's DPP per unit. The credit
is applied to the invoice's open amount at once; what exceeds it (the invoice was already paid) stays
open on the credit note, a negative open item, for a refund or offset by the payments module.
So Piutang (1130) = sum of open invoices - sum of open credit notes."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.accounting.seeds import PENDAPATAN, PIUTANG
from polyflow.erp.inventory import service as inventory
from polyflow.erp.inventory.schemas import MovementIn
from polyflow.erp.models import SalesInvoice, SalesInvoiceLine, SalesOrder, SalesReturn, SalesReturnLine
from polyflow.erp.sales import common, repository
from polyflow.erp.sales.common import TRX_CODES, get_doc, name, qty, refuse
from polyflow.erp.sales.schemas import Aging, AgingRow, InvoiceIn, OpenItem, ReturnIn
from polyflow.erp.tax import service as tax
from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.kit.money import rupiah

RETUR_PENJUALAN = "4110"
INVOICEABLE = ("partially_delivered", "delivered", "closed")
POSTED = repository.POSTED_INVOICE
ZERO = Decimal("0.00")


def _now() -> datetime:
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


async def _list(session, kind, *, customer_id, status, order_id, limit, offset):
    extra = [SalesInvoice.kind == kind] + ([SalesInvoice.order_id == order_id] if order_id else [])
    filters = repository.document_filters(SalesInvoice, customer_id=customer_id, status=status, extra=extra)
    return await repository.list_page(session, SalesInvoice, filters=filters, limit=limit, offset=offset,
                                      order=(SalesInvoice.invoice_date.desc(), SalesInvoice.created_at.desc()))


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
        prices_include_tax=order.prices_include_tax, base=base, tax=tax_total, total=base + tax_total,
        other_base=sum((ln.other_base for ln in lines), ZERO), open_amount=ZERO, note=data.note,
        trx_code=_trx_code(codes), created_by=user_id, lines=lines)
    session.add(invoice)
    await session.flush()
    return invoice


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


def _snapshot_buyer(invoice: SalesInvoice, customer) -> None:
    invoice.buyer_name, invoice.buyer_address, invoice.buyer_is_pkp = customer.name, customer.address, customer.is_pkp
    if customer.npwp:
        invoice.buyer_tin, invoice.buyer_document = customer.npwp, "TIN"
    elif customer.nik:
        invoice.buyer_tin, invoice.buyer_document = customer.nik, "NIK"
    else:
        invoice.buyer_tin, invoice.buyer_document = None, "Other"
    invoice.buyer_idtku = customer.nitku


async def _tax_lines(session: AsyncSession, lines, on: date, debit: bool) -> list[accounting.Line]:
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
    by_id = {line.id: line for line in order.lines}
    for il in invoice.lines:
        line = by_id[il.order_line_id]
        _check_invoiceable(order, line, il.quantity)
        line.qty_invoiced += il.quantity
    customer = await common.customer(session, invoice.customer_id, active=False)
    invoice.due_date = invoice.invoice_date + timedelta(days=customer.payment_terms_days)
    _snapshot_buyer(invoice, customer)
    invoice.number = await accounting.next_document_number(session, "SI", invoice.invoice_date)
    lines = [accounting.Line(PIUTANG, debit=invoice.total), accounting.Line(PENDAPATAN, credit=invoice.base)]
    lines += await _tax_lines(session, invoice.lines, invoice.invoice_date, debit=False)
    entry = await accounting.post_journal(
        session, doc_type="SI", number=invoice.number, entry_date=invoice.invoice_date, source="sales",
        description=f"Sales invoice {invoice.number} {customer.code} ({order.number})", reference=order.number,
        lines=[ln for ln in lines if ln.debit or ln.credit], created_by=user_id)
    invoice.journal_entry_id = entry.id
    invoice.status, invoice.open_amount = "open", invoice.total
    invoice.posted_by, invoice.posted_at = user_id, _now()
    order.invoiced_total += invoice.total
    if order.status != "closed" and all(ln.qty_invoiced >= ln.quantity for ln in order.lines):
        order.status = "invoiced"
    if invoice.total == 0:
        invoice.status = "paid"
    await session.flush()
    return invoice


# -- returns and credit notes --------------------------------------------------------------------


async def get_return(session: AsyncSession, return_id: uuid.UUID, *, lock: bool = False) -> SalesReturn:
    """One sales return, or 404."""
    return await get_doc(session, SalesReturn, return_id, "sales return", lock=lock)


async def list_returns(session: AsyncSession, *, customer_id, status, limit: int, offset: int):
    """A page of sales returns, newest first."""
    filters = repository.document_filters(SalesReturn, customer_id=customer_id, status=status)
    return await repository.list_page(session, SalesReturn, filters=filters, limit=limit, offset=offset,
                                      order=(SalesReturn.return_date.desc(), SalesReturn.created_at.desc()))


async def _return_targets(session, invoice: SalesInvoice, items) -> list[tuple]:
    """(delivery line, invoice line, quantity) per returned line, or 409/422 with the reason."""
    dls = await repository.delivery_lines(session, [i[0] for i in items])
    inv_lines = {il.order_line_id: il for il in invoice.lines}
    out = []
    for n, (dl_id, quantity) in enumerate(items, 1):
        found = dls.get(dl_id)
        if found is None or found[1].order_id != invoice.order_id or found[1].status != "posted":
            raise InvalidInput(f"line {n}: delivery_line_id is not a posted delivery line of this invoice's order")
        dl, delivery = found
        il = inv_lines.get(dl.order_line_id)
        if il is None:
            raise InvalidInput(f"line {n}: invoice {invoice.number} does not bill that delivery line's goods")
        if quantity > dl.quantity - dl.qty_returned:
            raise Conflict(f"line {n}: cannot return {qty(quantity)} of {il.description}: delivery "
                           f"{delivery.number} delivered {qty(dl.quantity)}, returned {qty(dl.qty_returned)}")
        if quantity > il.quantity - il.qty_credited:
            raise Conflict(f"line {n}: cannot credit {qty(quantity)} of {il.description}: invoice {invoice.number} "
                           f"billed {qty(il.quantity)}, credited {qty(il.qty_credited)}")
        out.append((dl, il, quantity))
    return out


async def create_return(session: AsyncSession, data: ReturnIn, user_id: uuid.UUID | None) -> SalesReturn:
    """A draft return of delivered goods against a posted invoice."""
    invoice = await repository.get_invoice(session, data.invoice_id, "invoice")
    if invoice is None:
        raise InvalidInput("unknown invoice_id")
    if invoice.status not in POSTED:
        raise Conflict(f"sales invoice {name(invoice)} is {invoice.status}: goods are returned against a posted "
                       "invoice")
    ids = [line.delivery_line_id for line in data.lines]
    if len(set(ids)) != len(ids):
        raise InvalidInput("a delivery line appears twice; give one line per delivery line")
    targets = await _return_targets(session, invoice, [(ln.delivery_line_id, ln.quantity) for ln in data.lines])
    loc = await common.location(session, data.location)
    ret = SalesReturn(invoice_id=invoice.id, order_id=invoice.order_id, customer_id=invoice.customer_id,
                      location_id=loc.id, return_date=data.return_date, status="draft", reason=data.reason,
                      created_by=user_id, lines=[
                          SalesReturnLine(line_no=i, delivery_line_id=dl.id, invoice_line_id=il.id,
                                          variant_id=dl.variant_id, quantity=q)
                          for i, (dl, il, q) in enumerate(targets, 1)])
    session.add(ret)
    await session.flush()
    return ret


async def delete_return(session: AsyncSession, return_id: uuid.UUID) -> None:
    """Throw a draft return away."""
    ret = await get_return(session, return_id, lock=True)
    refuse(ret, "sales return", ("draft",), "deleted")
    await session.delete(ret)
    await session.flush()


def _settle(doc: SalesInvoice) -> None:
    doc.status = "paid" if doc.open_amount == 0 else ("open" if doc.open_amount == doc.total else "partially_paid")


async def post_return(session: AsyncSession, return_id: uuid.UUID, user_id: uuid.UUID | None) -> SalesReturn:
    """Draft -> posted: goods in at the cost they left with, and the credit note posted and applied."""
    ret = await get_return(session, return_id, lock=True)
    refuse(ret, "sales return", ("draft",), "posted")
    invoice = await repository.get_invoice(session, ret.invoice_id, "invoice", lock=True)
    order = await repository.get(session, SalesOrder, ret.order_id, lock=True)
    await accounting.ensure_postable(session, ret.return_date, stock=True)
    targets = await _return_targets(session, invoice, [(ln.delivery_line_id, ln.quantity) for ln in ret.lines])
    ret.number = await accounting.next_document_number(session, "SR", ret.return_date)
    by_order_line = {line.id: line for line in order.lines}
    note_lines, codes = [], {}
    for rl, (dl, il, quantity) in sorted(zip(ret.lines, targets), key=lambda t: str(t[0].variant_id)):
        left = await inventory.get_movement(session, dl.movement_id)
        unit_cost = (-left.value / left.quantity).quantize(Decimal("0.0001"))
        movement = await inventory.create_movement(session, MovementIn(
            kind="IN", variant_id=rl.variant_id, quantity=quantity, to_location=str(ret.location_id),
            reason="return", unit_cost=unit_cost, reference=ret.number, posting_date=ret.return_date,
            note=f"Sales return {ret.number} of {left.number}"), user_id=user_id, may_choose_account=False)
        rl.movement_id, rl.cost = movement.id, movement.value
        dl.qty_returned += quantity
        il.qty_credited += quantity
        by_order_line[dl.order_line_id].qty_returned += quantity
        if il.tax_code not in codes:
            codes[il.tax_code] = await common.sales_tax_code(session, il.tax_code, ret.return_date)
        # The invoice line's DPP per unit: a full return credits exactly what was billed.
        base = il.base if quantity == il.quantity else rupiah(il.base * quantity / il.quantity)
        note_lines.append(SalesInvoiceLine(
            line_no=len(note_lines) + 1, order_line_id=il.order_line_id, variant_id=il.variant_id,
            item_code=il.item_code, description=il.description, unit_code=il.unit_code,
            goods_or_services=il.goods_or_services, quantity=quantity, unit_price=il.unit_price, discount=ZERO,
            tax_code=il.tax_code, tax_rate=codes[il.tax_code].rate, amount=base))
    base, tax_total, _ = common.apply_tax(note_lines, codes, inclusive=False)
    total = base + tax_total
    number = await accounting.next_document_number(session, "CN", ret.return_date)
    customer = await common.customer(session, ret.customer_id, active=False)
    note = SalesInvoice(kind="credit_note", number=number, order_id=order.id, customer_id=ret.customer_id,
                        invoice_date=ret.return_date, due_date=ret.return_date, status="open",
                        prices_include_tax=False, base=base, tax=tax_total, total=total,
                        other_base=sum((ln.other_base for ln in note_lines), ZERO), credit_note_of_id=invoice.id,
                        trx_code=invoice.trx_code, note=f"Sales return {ret.number}", created_by=user_id,
                        posted_by=user_id, posted_at=_now(), lines=note_lines)
    _snapshot_buyer(note, customer)
    lines = [accounting.Line(RETUR_PENJUALAN, debit=base)]
    lines += await _tax_lines(session, note_lines, ret.return_date, debit=True)
    lines.append(accounting.Line(PIUTANG, credit=total))
    entry = await accounting.post_journal(
        session, doc_type="CN", number=number, entry_date=ret.return_date, source="sales",
        description=f"Credit note {number} for {invoice.number} (return {ret.number})", reference=invoice.number,
        lines=[ln for ln in lines if ln.debit or ln.credit], created_by=user_id)
    # Applied to the invoice at once; any excess stays open on the credit note.
    applied = min(total, invoice.open_amount)
    invoice.credited += applied
    invoice.open_amount -= applied
    _settle(invoice)
    note.journal_entry_id, note.credited, note.open_amount = entry.id, applied, total - applied
    _settle(note)
    session.add(note)
    await session.flush()
    ret.credit_note_id = note.id
    ret.status, ret.posted_by, ret.posted_at = "posted", user_id, _now()
    await session.flush()
    return ret


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
    _settle(doc)
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


async def ar_aging(session: AsyncSession, as_of: date | None = None) -> Aging:
    """Open receivables per customer by days past due on `as_of` (default today): current, 1-30, 31-60,
    61-90, over 90. Documents dated after `as_of` are left out; amounts are today's open amounts."""
    as_of = as_of or await accounting.local_today(session)
    sums: dict[uuid.UUID, dict[str, Decimal]] = defaultdict(lambda: {b: ZERO for b in BUCKETS})
    for doc in await repository.open_invoices(session, as_of=as_of):
        item = _item(doc)
        sums[item.partner_id][_bucket((as_of - item.due_date).days)] += item.open_amount
    partners = await repository.partners_by_id(session, sums.keys())
    rows = []
    for pid, buckets in sorted(sums.items(), key=lambda kv: partners[kv[0]].code):
        rows.append(AgingRow(partner_id=pid, partner_code=partners[pid].code, partner_name=partners[pid].name,
                             total=sum(buckets.values(), ZERO), **buckets))
    totals = {b: sum((getattr(r, b) for r in rows), ZERO) for b in BUCKETS}
    return Aging(as_of=as_of, rows=rows, totals=totals, total=sum(totals.values(), ZERO))
