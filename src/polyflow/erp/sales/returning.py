"""Sales returns and their credit notes.

A return brings goods of a posted delivery back into a location (inventory IN reason return, at the cost
they left with: the delivery movement's cost per unit, read when the return is posted so a later
re-costing of that issue is followed) and posts a credit note (CN): Dr 4110 Retur Penjualan (DPP) + Dr
2130 (PPN) / Cr 1130 (total), at the invoice line's DPP per unit. The credit is applied to the invoice's
open amount at once; what exceeds it (the invoice was already paid) stays open on the credit note, a
negative open item, for a refund or an offset by the payments module. Returned goods are not delivered
again under the order (its delivered quantity stays; a new order ships replacements)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.accounting.seeds import PIUTANG
from polyflow.erp.inventory import service as inventory
from polyflow.erp.inventory.schemas import MovementIn
from polyflow.erp.models import SalesInvoice, SalesInvoiceLine, SalesOrder, SalesReturn, SalesReturnLine
from polyflow.erp.sales import common, repository
from polyflow.erp.sales.common import get_doc, name, qty, refuse
from polyflow.erp.sales.invoicing import POSTED, ZERO, now, settle, snapshot_buyer, tax_lines
from polyflow.erp.sales.schemas import ReturnIn
from polyflow.kit.errors import Conflict, InvalidInput
from polyflow.kit.money import rupiah

RETUR_PENJUALAN = "4110"


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
    if data.return_date < invoice.invoice_date:
        raise InvalidInput(f"return_date {data.return_date} is before the invoice's date {invoice.invoice_date}")
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
                        posted_by=user_id, posted_at=now(), lines=note_lines)
    snapshot_buyer(note, customer)
    lines = [accounting.Line(RETUR_PENJUALAN, debit=base)]
    lines += await tax_lines(session, note_lines, ret.return_date, debit=True)
    lines.append(accounting.Line(PIUTANG, credit=total))
    entry = await accounting.post_journal(
        session, doc_type="CN", number=number, entry_date=ret.return_date, source="sales",
        description=f"Credit note {number} for {invoice.number} (return {ret.number})", reference=invoice.number,
        lines=[ln for ln in lines if ln.debit or ln.credit], created_by=user_id)
    # Applied to the invoice at once; any excess stays open on the credit note.
    applied = min(total, invoice.open_amount)
    invoice.credited += applied
    invoice.open_amount -= applied
    settle(invoice)
    note.journal_entry_id, note.credited, note.open_amount = entry.id, applied, total - applied
    settle(note)
    session.add(note)
    await session.flush()
    ret.credit_note_id = note.id
    ret.status, ret.posted_by, ret.posted_at = "posted", user_id, now()
    await session.flush()
    return ret
