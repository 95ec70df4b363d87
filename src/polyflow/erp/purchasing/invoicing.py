"""Supplier invoices (matched to one purchase order and what was received on it), their open amounts
for the payments module, and the AP aging.

Posting (PINV/<year>/<n> on the invoice date), per invoice:
  Dr 2120  the receipt value of the invoiced quantity (received not billed is cleared at the price it
           was received at: the order's net price)
  Dr/Cr 5500 Selisih Harga Pembelian  invoice DPP - that value (the supplier's price differs from the
           order's; expensed, the stock is NOT re-valued: part of it may already be sold or used, and the
           moving average of the rest stays what the receipts made it)
  Dr 1150  PPN Masukan (the tax code's purchase account), with the supplier's faktur pajak number
  Cr 2110  Hutang Usaha: the total including PPN (the open amount)
A line may invoice at most what was received and not yet invoiced or returned (409 otherwise)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import seeds as coa
from polyflow.erp.accounting import service as accounting
from polyflow.erp.accounting.service import Line
from polyflow.erp.models import Partner, PurchaseInvoice, PurchaseInvoiceLine, PurchaseOrder
from polyflow.erp.purchasing import common, orders, repository
from polyflow.erp.purchasing.common import qty
from polyflow.erp.purchasing.schemas import Aging, AgingBuckets, AgingRow, InvoiceIn, OpenItem
from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.kit.money import ZERO, money

# What payments dated after a day allocated to each invoice (the payments module's figures, passed in).
SettledAfter = Callable[[AsyncSession, date], Awaitable[dict[uuid.UUID, Decimal]]]

POSTED = ("open", "partially_paid", "paid")
BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90")


def _to_invoice(ol) -> Decimal:
    return ol.qty_received - ol.qty_invoiced - ol.qty_returned_open


async def _check_quantities(order: PurchaseOrder, data_lines, order_lines, variants) -> None:
    for n, (line, ol) in enumerate(zip(data_lines, order_lines), 1):
        left = _to_invoice(ol)
        if line.quantity > left:
            raise Conflict(f"line {n}: {qty(line.quantity)} {ol.unit} of {variants[ol.variant_id].sku} is more than "
                           f"received and not yet invoiced on {orders.label(order)} ({qty(left)})")


async def _fill(session: AsyncSession, invoice: PurchaseInvoice, data: InvoiceIn) -> None:
    order = await orders.get_doc(session, "order", data.order_id)
    if order.status in ("draft", "cancelled"):
        raise Conflict(f"purchase order {orders.label(order)} is {order.status}: nothing to invoice on it")
    partner = await repository.get(session, Partner, order.partner_id)
    on = data.invoice_date or await accounting.local_today(session)
    if on < order.order_date:
        raise InvalidInput(f"invoice_date {on} is before the order date {order.order_date}")
    order_lines = common.matched_lines(order, data.lines)
    variants = await repository.variants(session, {ol.variant_id for ol in order_lines})
    await _check_quantities(order, data.lines, order_lines, variants)
    prices = [line.unit_price if line.unit_price is not None else ol.unit_price
              for line, ol in zip(data.lines, order_lines)]
    figures, _ = await orders.compute_lines(
        session, [(ol.tax_code, line.quantity * price) for line, ol, price in zip(data.lines, order_lines, prices)],
        on, order.prices_include_tax)
    invoice.order_id, invoice.partner_id, invoice.invoice_date = order.id, order.partner_id, on
    invoice.due_date = on + timedelta(days=partner.payment_terms_days)
    invoice.supplier_invoice_no, invoice.tax_invoice_no = data.supplier_invoice_no, data.tax_invoice_no
    invoice.prices_include_tax, invoice.note = order.prices_include_tax, data.note
    invoice.lines = [PurchaseInvoiceLine(line_no=n, order_line_id=ol.id, variant_id=ol.variant_id,
                                         quantity=line.quantity, unit_price=money(price), tax_code=ol.tax_code,
                                         base_amount=base, tax_amount=tax_amount)
                     for n, (line, ol, price, (base, tax_amount))
                     in enumerate(zip(data.lines, order_lines, prices, figures), 1)]
    invoice.subtotal = sum((b for b, _ in figures), ZERO)
    invoice.tax_amount = sum((t for _, t in figures), ZERO)
    invoice.total = invoice.subtotal + invoice.tax_amount


async def create_invoice(session: AsyncSession, data: InvoiceIn, user_id: uuid.UUID | None) -> PurchaseInvoice:
    """A draft supplier invoice against an order: quantities up to what was received and not invoiced,
    prices default to the order's (no number until posted)."""
    invoice = PurchaseInvoice(created_by=user_id, status="draft")
    await _fill(session, invoice, data)
    session.add(invoice)
    await session.flush()
    return invoice


async def _draft(session: AsyncSession, invoice_id: uuid.UUID) -> PurchaseInvoice:
    invoice = await orders.get_doc(session, "invoice", invoice_id, lock=True)
    if invoice.status != "draft":
        raise Conflict(f"purchase invoice {orders.label(invoice)} is {invoice.status}: a posted invoice is never "
                       "edited (return the goods for a debit note instead)")
    return invoice


async def update_invoice(session: AsyncSession, invoice_id: uuid.UUID, data: InvoiceIn) -> PurchaseInvoice:
    """Replace a draft invoice (409 once posted)."""
    invoice = await _draft(session, invoice_id)
    invoice.lines.clear()
    await session.flush()
    await _fill(session, invoice, data)
    await session.flush()
    return invoice


async def cancel_invoice(session: AsyncSession, invoice_id: uuid.UUID) -> PurchaseInvoice:
    """draft -> cancelled (a posted invoice is corrected by a return's debit note, never cancelled)."""
    invoice = await _draft(session, invoice_id)
    invoice.status = "cancelled"
    await session.flush()
    return invoice


async def post_invoice(session: AsyncSession, invoice_id: uuid.UUID, user_id: uuid.UUID | None) -> PurchaseInvoice:
    """draft -> open: numbered, matched again under the order's lock, journal posted (see the module)."""
    peek = await orders.get_doc(session, "invoice", invoice_id)
    # The order first, then the invoice: the same order of locks as receipts and returns.
    order = await orders.get_doc(session, "order", peek.order_id, lock=True)
    invoice = await _draft(session, invoice_id)
    # Received not billed is cleared on the invoice date: not before the goods came (2120 would go the
    # wrong way in between).
    received = await repository.last_receipt_date(session, order.id)
    if received is not None and invoice.invoice_date < received:
        raise InvalidInput(f"invoice_date {invoice.invoice_date} is before the last receipt on "
                           f"{orders.label(order)} ({received}); date the invoice on or after it")
    if invoice.tax_amount and not invoice.tax_invoice_no:
        raise InvalidInput("the supplier's tax invoice (faktur pajak) number is needed to credit PPN Masukan: "
                           "set tax_invoice_no")
    by_id = {ol.id: ol for ol in order.lines}
    order_lines = [by_id[line.order_line_id] for line in invoice.lines]
    variants = await repository.variants(session, {ol.variant_id for ol in order_lines})
    await _check_quantities(order, invoice.lines, order_lines, variants)
    versions = {code: await orders.tax_code_for(session, code, invoice.invoice_date)
                for code in {line.tax_code for line in invoice.lines}}
    cleared = difference = ZERO
    taxes: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line, ol in zip(invoice.lines, order_lines):
        line.cleared_value = common.received_value(ol, line.quantity, _to_invoice(ol))
        line.price_difference = line.base_amount - line.cleared_value
        cleared += line.cleared_value
        difference += line.price_difference
        ol.qty_invoiced += line.quantity
        ol.cleared_value += line.cleared_value
        ol.invoiced_base += line.base_amount
        if line.tax_amount:
            account = versions[line.tax_code].purchase_account
            if account is None:
                raise InvalidInput(f"tax code {line.tax_code} has no purchase account for its tax")
            taxes[account] += line.tax_amount
    invoice.number = await accounting.next_document_number(session, "PINV", invoice.invoice_date)
    lines = [Line(coa.BARANG_BELUM_DITAGIH, debit=cleared, memo="received not billed cleared")]
    lines.append(Line(coa.SELISIH_HARGA_PEMBELIAN, debit=difference, memo="invoice vs order price")
                 if difference > 0 else Line(coa.SELISIH_HARGA_PEMBELIAN, credit=-difference,
                                             memo="invoice vs order price"))
    lines += [Line(account, debit=amount, memo=f"faktur {invoice.tax_invoice_no}")
              for account, amount in sorted(taxes.items())]
    lines.append(Line(coa.HUTANG_USAHA, credit=invoice.total))
    lines = [line for line in lines if line.debit or line.credit]
    if len(lines) >= 2:
        entry = await accounting.post_journal(
            session, doc_type="PINV", number=invoice.number, entry_date=invoice.invoice_date, source="purchasing",
            reference=invoice.supplier_invoice_no or orders.label(order),
            description=f"Supplier invoice {invoice.number} ({orders.label(order)})", lines=lines, created_by=user_id)
        invoice.journal_entry_id = entry.id
    else:
        await accounting.ensure_postable(session, invoice.invoice_date)
    invoice.price_difference = difference
    invoice.paid, invoice.credited, invoice.open_amount = ZERO, ZERO, invoice.total
    invoice.posted_by, invoice.posted_at = user_id, datetime.now(timezone.utc)
    common.set_invoice_status(invoice)
    await session.flush()
    return invoice


# -- for the payments module ---------------------------------------------------------------------------------


def _item(invoice: PurchaseInvoice) -> OpenItem:
    return OpenItem(id=invoice.id, number=invoice.number, partner_id=invoice.partner_id,
                    invoice_date=invoice.invoice_date, due_date=invoice.due_date, total=invoice.total,
                    open_amount=invoice.open_amount, control_account=coa.HUTANG_USAHA)


async def open_item(session: AsyncSession, invoice_id: uuid.UUID, *, lock: bool = True) -> OpenItem:
    """A posted supplier invoice as an open item (SELECT ... FOR UPDATE when `lock`); 404 if none, 409 for
    a draft or cancelled one."""
    invoice = await repository.get(session, PurchaseInvoice, invoice_id, lock=lock)
    if invoice is None:
        raise NotFound("purchase invoice not found")
    if invoice.status not in POSTED:
        raise Conflict(f"purchase invoice {orders.label(invoice)} is {invoice.status}: only a posted invoice is "
                       "an open item")
    return _item(invoice)


async def apply_payment(session: AsyncSession, invoice_id: uuid.UUID, amount: Decimal) -> None:
    """Reduce the invoice's open amount by a payment (positive), or re-open it by a reversed payment
    (negative, never above its total); more than open, or reversing more than paid, is a 409."""
    amount = money(amount)
    if amount == 0:
        raise InvalidInput("a payment amount cannot be zero")
    invoice = await repository.get(session, PurchaseInvoice, invoice_id, lock=True)
    if invoice is None:
        raise NotFound("purchase invoice not found")
    if invoice.status not in POSTED:
        raise Conflict(f"purchase invoice {orders.label(invoice)} is {invoice.status}: only a posted invoice can be "
                       "paid")
    if amount > invoice.open_amount:
        raise Conflict(f"payment {amount} is more than the {invoice.open_amount} open on {invoice.number}")
    if -amount > invoice.paid:
        raise Conflict(f"cannot reverse {-amount} on {invoice.number}: only {invoice.paid} was paid")
    invoice.paid += amount
    invoice.open_amount -= amount
    common.set_invoice_status(invoice)
    await session.flush()


async def open_items(session: AsyncSession, partner_id: uuid.UUID | None = None) -> list[OpenItem]:
    """Posted supplier invoices with an open amount (of one supplier, or all), by due date."""
    return [_item(inv) for inv in await repository.open_invoices(session, partner_id)]


async def _debited_after(session: AsyncSession, day: date) -> dict[uuid.UUID, Decimal]:
    """Invoice id -> what debit notes dated after `day` took off it. A debit note records only its order, and
    it reduced the order's invoices oldest first: undoing the later ones (newest first) gives the amount back
    newest invoice first, each up to what was credited on it. The order's total is exact; the split among
    several open invoices of one order follows that rule."""
    notes = await repository.debit_notes_after(session, day)
    if not notes:
        return {}
    credited: dict[uuid.UUID, list[list]] = defaultdict(list)
    for order_id, invoice_id, amount in await repository.credited_invoices_of_orders(session, {o for o, _ in notes}):
        credited[order_id].append([invoice_id, Decimal(amount)])
    out: dict[uuid.UUID, Decimal] = defaultdict(lambda: ZERO)
    for order_id, amount in notes:
        for entry in credited[order_id]:
            take = min(Decimal(amount), entry[1])
            entry[1] -= take
            out[entry[0]] += take
            amount -= take
            if not amount:
                break
    return out


async def ap_aging(session: AsyncSession, as_of: date, *, settled_after: SettledAfter | None = None) -> Aging:
    """Open supplier invoices (posted up to `as_of`) by supplier and days past due on `as_of`, at the amounts
    open on `as_of`: before today, payments and debit notes dated after it are added back.

    For a past `as_of`, `settled_after(session, day)` gives what supplier payments dated after `day`
    allocated to each invoice (passed in by the endpoint: payments imports this module)."""
    rows: dict[uuid.UUID, dict] = {}
    totals = dict.fromkeys(BUCKETS + ("total",), ZERO)
    later: dict[uuid.UUID, Decimal] = defaultdict(lambda: ZERO)
    if as_of < await accounting.local_today(session):
        if settled_after is None:
            raise ValueError("an aging before today needs the payments' allocations (settled_after)")
        for invoice_id, amount in (await settled_after(session, as_of)).items():
            later[invoice_id] += amount
        for invoice_id, amount in (await _debited_after(session, as_of)).items():
            later[invoice_id] += amount
    for invoice_id, pid, code, name, due, open_now in await repository.aging_invoices(session, as_of, later.keys()):
        open_amount = open_now + later.get(invoice_id, ZERO)
        if not open_amount:
            continue
        row = rows.setdefault(pid, {"partner_id": pid, "partner_code": code, "partner_name": name,
                                    **dict.fromkeys(BUCKETS + ("total",), ZERO)})
        late = (as_of - due).days
        bucket = BUCKETS[0 if late <= 0 else 1 if late <= 30 else 2 if late <= 60 else 3 if late <= 90 else 4]
        for target in (row, totals):
            target[bucket] += open_amount
            target["total"] += open_amount
    return Aging(as_of=as_of, rows=[AgingRow(**r) for r in rows.values()], totals=AgingBuckets(**totals))
