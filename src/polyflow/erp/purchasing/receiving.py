"""Goods receipts and purchase returns: the stock side of purchasing, moved through inventory's service.

A receipt puts stock IN (reason purchase) at the order line's net unit price (DPP per unit, without
PPN): Dr inventory / Cr 2120 Barang Diterima Belum Ditagih, one movement per line, in one transaction.
Over-receipt: a line may receive up to its ordered quantity plus POLYFLOW_RECEIPT_TOLERANCE_PERCENT
(default 0); beyond is a 409.

A return sends stock OUT (reason return) at the moving-average cost, posted by inventory against 5500
Selisih Harga Pembelian (Dr 5500 / Cr inventory) rather than 2120: a later re-costing of that issue (a
backdated movement, a landed cost) then lands in 5500 and never moves 2120. Of the returned quantity, what
was not yet invoiced is taken first: the return's journal (PRET/<year>/<n>) clears it from 2120 at the
receipt's price (Dr 2120 / Cr 5500). The rest was invoiced: a debit note at the invoiced price (DPP and its
PPN) reduces the payable (Dr 2110) and the input PPN (Cr 1150), applied to the order's open invoices
(Cr 5500 by its DPP). 5500 so nets what the stock cost differs from what the supplier takes back.

Landed costs (freight, duties) on a receipt are allocated to its lines by value and added to the stock
cost by inventory revaluations (value only), against 2150 Biaya Yang Masih Harus Dibayar."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import seeds as coa
from polyflow.erp.accounting import service as accounting
from polyflow.erp.accounting.service import Line
from polyflow.erp.inventory import service as inventory
from polyflow.erp.inventory.schemas import MovementIn
from polyflow.erp.models import (
    GoodsReceipt, GoodsReceiptLine, LandedCost, LandedCostLine, PurchaseOrder, PurchaseReturn, PurchaseReturnLine,
)
from polyflow.erp.production.lots import service as supplier_lots
from polyflow.erp.purchasing import common, orders, repository
from polyflow.erp.purchasing.common import qty
from polyflow.erp.purchasing.schemas import LandedCostIn, ReceiptIn, ReturnIn
from polyflow.erp.tax.calc import allocate
from polyflow.kit.errors import Conflict, InvalidInput
from polyflow.kit.money import ZERO, money

HUNDRED = Decimal(100)
# Landed costs accrue here until the forwarder's or customs' bill is booked against it (kept off 2110 so that
# Hutang Usaha stays the sum of open supplier invoices).
ACCRUED = "2150"


class Tolerance:
    """Over-receipt allowed, percent of the ordered quantity (set from the settings at app build)."""

    percent = Decimal(0)


def configure(settings) -> None:
    """Take the receipt tolerance from the settings (POLYFLOW_RECEIPT_TOLERANCE_PERCENT)."""
    Tolerance.percent = Decimal(settings.receipt_tolerance_percent)


async def create_receipt(session: AsyncSession, data: ReceiptIn, user_id: uuid.UUID | None) -> GoodsReceipt:
    """Receive goods against an approved order into a location, posted at once (stock IN at the order's
    net price, Dr inventory / Cr 2120); more than ordered beyond the tolerance is a 409."""
    order = await orders.get_doc(session, "order", data.order_id, lock=True)
    if order.status not in ("approved", "partially_received", "received"):
        hint = "approve it first" if order.status == "draft" else "it takes no more receipts"
        raise Conflict(f"purchase order {orders.label(order)} is {order.status}: {hint}")
    on = data.receipt_date or await accounting.local_today(session)
    if on < order.order_date:
        raise InvalidInput(f"receipt_date {on} is before the order date {order.order_date}")
    await accounting.ensure_postable(session, on, stock=True)
    order_lines = common.matched_lines(order, data.lines)
    variants = await repository.variants(session, {ol.variant_id for ol in order_lines})
    for n, (line, ol) in enumerate(zip(data.lines, order_lines), 1):
        net = ol.qty_received - ol.qty_returned_open - ol.qty_debited
        limit = ol.quantity * (1 + Tolerance.percent / HUNDRED)
        if net + line.quantity > limit:
            raise Conflict(f"line {n}: receiving {qty(line.quantity)} {ol.unit} of {variants[ol.variant_id].sku} "
                           f"would make {qty(net + line.quantity)} received against {qty(ol.quantity)} ordered "
                           f"(tolerance {qty(Tolerance.percent)} %: at most {qty(max(limit - net, ZERO))} more)")
    number = await accounting.next_document_number(session, "GRN", on)
    receipt = GoodsReceipt(number=number, order_id=order.id, partner_id=order.partner_id, receipt_date=on,
                           delivery_note=data.delivery_note, created_by=user_id, value=ZERO)
    for n, (line, ol) in enumerate(zip(data.lines, order_lines), 1):
        movement = await inventory.create_movement(session, MovementIn(
            kind="IN", variant_id=ol.variant_id, quantity=line.quantity, to_location=data.location,
            unit_cost=ol.net_unit_price, reason="purchase", reference=number, posting_date=on,
            note=f"lot {line.lot_number}" if line.lot_number else None), user_id=user_id, may_choose_account=False)
        ol.qty_received += line.quantity
        ol.received_value += movement.value
        receipt.location_id = movement.to_location_id
        receipt.value += movement.value
        receipt.lines.append(GoodsReceiptLine(line_no=n, order_line_id=ol.id, variant_id=ol.variant_id,
                                              quantity=line.quantity, unit_cost=movement.unit_cost,
                                              value=movement.value, lot_number=line.lot_number,
                                              movement_id=movement.id))
    orders.refresh_receipt_status(order)
    session.add(receipt)
    await session.flush()
    await supplier_lots.register_supplier_lots(session, receipt)  # lines with a lot number become traceable lots
    return receipt


async def create_return(session: AsyncSession, data: ReturnIn, user_id: uuid.UUID | None) -> PurchaseReturn:
    """Send received goods back to the supplier, posted at once: stock OUT, 2120 cleared for what was not
    invoiced, a debit note (Dr 2110 / Cr 1150) for what was."""
    order = await orders.get_doc(session, "order", data.order_id, lock=True)
    if order.status in ("draft", "cancelled"):
        raise Conflict(f"purchase order {orders.label(order)} is {order.status}: nothing was received on it")
    on = data.return_date or await accounting.local_today(session)
    await accounting.ensure_postable(session, on, stock=True)
    order_lines = common.matched_lines(order, data.lines)
    variants = await repository.variants(session, {ol.variant_id for ol in order_lines})
    for n, (line, ol) in enumerate(zip(data.lines, order_lines), 1):
        open_qty = ol.qty_received - ol.qty_invoiced - ol.qty_returned_open
        returnable = open_qty + ol.qty_invoiced - ol.qty_debited
        if line.quantity > returnable:
            raise Conflict(f"line {n}: only {qty(returnable)} {ol.unit} of {variants[ol.variant_id].sku} received "
                           f"on {orders.label(order)} can be returned, not {qty(line.quantity)}")
    if any(line.quantity > ol.qty_received - ol.qty_invoiced - ol.qty_returned_open
           for line, ol in zip(data.lines, order_lines)):
        # A debit note reduces invoices: not before the last of them was posted.
        invoiced = await repository.last_invoice_date(session, order.id)
        if invoiced is not None and on < invoiced:
            raise InvalidInput(f"return_date {on} is before the last invoice on {orders.label(order)} ({invoiced}), "
                               "whose goods it sends back")
    number = await accounting.next_document_number(session, "PRET", on)
    ret = PurchaseReturn(number=number, order_id=order.id, partner_id=order.partner_id, return_date=on,
                         reason=data.reason, tax_invoice_no=data.tax_invoice_no, created_by=user_id,
                         debit_base=ZERO, debit_tax=ZERO, debit_total=ZERO)
    cleared_total = ZERO
    invoiced_parts = []  # (order line, quantity) of what goes back after invoicing
    for n, (line, ol) in enumerate(zip(data.lines, order_lines), 1):
        open_qty = ol.qty_received - ol.qty_invoiced - ol.qty_returned_open
        before_invoice = min(line.quantity, open_qty)
        after_invoice = line.quantity - before_invoice
        # Against 5500, not 2120: should a backdated movement re-cost this issue later, the difference is
        # a cost, and 2120 keeps exactly the receipt value of what is received and not invoiced.
        movement = await inventory.create_movement(session, MovementIn(
            kind="OUT", variant_id=ol.variant_id, quantity=line.quantity, from_location=data.location,
            reason="return", counter_account=coa.SELISIH_HARGA_PEMBELIAN, reference=number, posting_date=on),
            # Goods that failed incoming inspection go back to the supplier straight from quarantine: they
            # leave the books, nothing becomes available.
            user_id=user_id, may_choose_account=True, from_quarantine=True)
        stock_value = -movement.value
        if before_invoice:
            cleared = common.received_value(ol, before_invoice, open_qty)
            ol.qty_returned_open += before_invoice
            ol.cleared_value += cleared
            cleared_total += cleared
        if after_invoice:
            invoiced_parts.append((ol, after_invoice))
            ol.qty_debited += after_invoice
        ret.location_id = movement.from_location_id
        ret.lines.append(PurchaseReturnLine(line_no=n, order_line_id=ol.id, variant_id=ol.variant_id,
                                            quantity=line.quantity, qty_not_invoiced=before_invoice,
                                            stock_value=stock_value, movement_id=movement.id))
    lines = [Line(coa.BARANG_BELUM_DITAGIH, debit=cleared_total, memo="returned before invoicing")]
    credit_base = ZERO
    if invoiced_parts:
        # The debit note: at the price the supplier invoiced (average over the line's invoices), its PPN
        # by the line's tax code, computed per document and tax code like an invoice.
        amounts = [(ol.tax_code, qty * ol.invoiced_base / ol.qty_invoiced) for ol, qty in invoiced_parts]
        figures, versions = await orders.compute_lines(session, amounts, on, inclusive=False)
        taxes: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for (code, _), (base, tax_amount) in zip(amounts, figures):
            ret.debit_base += base
            credit_base += base
            if tax_amount:
                account = versions[code].purchase_account
                if account is None:
                    raise InvalidInput(f"tax code {code} has no purchase account for its tax")
                taxes[account] += tax_amount
                ret.debit_tax += tax_amount
        ret.debit_total = ret.debit_base + ret.debit_tax
        lines.append(Line(coa.HUTANG_USAHA, debit=ret.debit_total, memo="debit note"))
        lines += [Line(account, credit=amount, memo="PPN Masukan reversed") for account, amount in sorted(taxes.items())]
        await _apply_debit_note(session, order, ret.debit_total)
    # The stock left at its moving average against 5500 (inventory's journal); the supplier takes it back
    # at the receipt price (not invoiced) or the invoiced price (debit note): 5500 nets the difference.
    lines.append(Line(coa.SELISIH_HARGA_PEMBELIAN, credit=cleared_total + credit_base, memo="goods returned"))
    lines = [line for line in lines if line.debit or line.credit]
    if lines:
        entry = await accounting.post_journal(
            session, doc_type="PRET", number=number, entry_date=on, source="purchasing", reference=orders.label(order),
            description=f"Purchase return {number} ({orders.label(order)})", lines=lines, created_by=user_id)
        ret.journal_entry_id = entry.id
    orders.refresh_receipt_status(order)
    session.add(ret)
    await session.flush()
    return ret


async def _apply_debit_note(session: AsyncSession, order: PurchaseOrder, amount: Decimal) -> None:
    """Reduce the open amounts of the order's posted invoices, oldest first, by the debit note."""
    invoices = await repository.posted_invoices_of_order(session, order.id)
    available = sum((inv.open_amount for inv in invoices), ZERO)
    if amount > available:
        raise Conflict(f"the debit note of {amount} exceeds what is still open on the invoices of "
                       f"{orders.label(order)} ({available}): settle the supplier's refund first")
    for inv in invoices:
        take = min(amount, inv.open_amount)
        inv.credited += take
        inv.open_amount -= take
        common.set_invoice_status(inv)
        amount -= take
        if not amount:
            break


async def create_landed_cost(session: AsyncSession, data: LandedCostIn, user_id: uuid.UUID | None) -> LandedCost:
    """Freight or duties on a receipt, posted at once: allocated to its lines by value (whole rupiah, largest
    remainder) and added to their stock cost by inventory revaluations (Dr inventory / Cr 2150)."""
    receipt = await orders.get_doc(session, "receipt", data.receipt_id)
    on = data.cost_date or receipt.receipt_date
    if on < receipt.receipt_date:
        raise InvalidInput(f"cost_date {on} is before the receipt ({receipt.receipt_date})")
    number = await accounting.next_document_number(session, "LC", on)
    cost = LandedCost(number=number, receipt_id=receipt.id, cost_date=on, description=data.description,
                      amount=money(data.amount), counter_account=ACCRUED, created_by=user_id)
    shares = allocate(money(data.amount), [line.value for line in receipt.lines])
    for n, (line, share) in enumerate(zip(receipt.lines, shares), 1):
        if not share:
            continue
        movement = await inventory.revalue(session, line.variant_id, share, on, counter_account=ACCRUED,
                                           reference=number, note=data.description[:500], user_id=user_id)
        cost.lines.append(LandedCostLine(line_no=n, receipt_line_id=line.id, variant_id=line.variant_id,
                                         amount=money(share), movement_id=movement.id))
    session.add(cost)
    await session.flush()
    return cost
