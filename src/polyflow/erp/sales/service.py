"""Sales rules: quotations and sales orders here; deliveries in delivering.py, invoices, credit notes,
open items and AR aging in invoicing.py, returns with credit notes in returning.py (re-exported below:
the endpoints and the payments module import this module only).

Numbers: gap-free per type and year (accounting.next_document_number), taken at the transition that makes
a document official — quotation: send (QT), order: confirm (SO), delivery: post (DO), invoice: post (SI),
return: post (SR, with its credit note CN). A draft has no number and may be edited or deleted.

Confirming an order checks the credit limit (open receivables + confirmed orders not yet invoiced + this
order > limit: 409 with the figures; no limit = none) and reserves at the order's location what is
available of each line (`qty_reserved`); the rest stays unreserved (production or a later receipt covers
it) and deliveries take what is there when they are posted."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.accounting import service as accounting
from polyflow.erp.inventory import service as inventory
from polyflow.erp.inventory.schemas import ReservationIn
from polyflow.erp.models import Quotation, QuotationLine, SalesOrder, SalesOrderLine
from polyflow.erp.sales import common, repository
from polyflow.erp.sales.common import get_doc, name, qty, refuse
from polyflow.erp.sales.delivering import (  # noqa: F401  (one import point for the endpoints)
    create_delivery, delete_delivery, get_delivery, list_deliveries, post_delivery, with_current_cost,
)
from polyflow.erp.sales.invoicing import (  # noqa: F401
    apply_payment, ar_aging, create_invoice, delete_invoice, get_credit_note, get_invoice, list_credit_notes,
    list_invoices, open_item, open_items, post_invoice,
)
from polyflow.erp.sales.returning import (  # noqa: F401
    create_return, delete_return, get_return, list_returns, post_return,
)
from polyflow.erp.sales.schemas import ConvertIn, QuotationIn, SalesOrderIn
from polyflow.kit.errors import Conflict, InvalidInput


def _now() -> datetime:
    return datetime.now(timezone.utc)


# -- quotations ----------------------------------------------------------------------------------


async def get_quotation(session: AsyncSession, quotation_id: uuid.UUID, *, lock: bool = False) -> Quotation:
    """One quotation, or 404."""
    return await get_doc(session, Quotation, quotation_id, "quotation", lock=lock)


async def list_quotations(session: AsyncSession, *, customer_id, status, limit: int, offset: int):
    """A page of quotations, newest first."""
    filters = repository.document_filters(Quotation, customer_id=customer_id, status=status)
    return await repository.list_page(session, Quotation, filters=filters, limit=limit, offset=offset,
                                      order=(Quotation.quote_date.desc(), Quotation.created_at.desc()))


async def _fill_quotation(session: AsyncSession, quotation: Quotation, data: QuotationIn) -> None:
    await common.customer(session, data.customer_id)
    if data.valid_until is not None and data.valid_until < data.quote_date:
        raise InvalidInput("valid_until is before quote_date")
    lines, base, tax = await common.priced_lines(session, data.customer_id, data.quote_date, data.lines,
                                                 QuotationLine, data.prices_include_tax)
    quotation.customer_id, quotation.quote_date, quotation.valid_until = data.customer_id, data.quote_date, \
        data.valid_until
    quotation.prices_include_tax, quotation.note = data.prices_include_tax, data.note
    quotation.base, quotation.tax, quotation.total = base, tax, base + tax
    quotation.lines = lines


async def create_quotation(session: AsyncSession, data: QuotationIn, user_id: uuid.UUID | None) -> Quotation:
    """A draft quotation with priced lines."""
    quotation = Quotation(status="draft", created_by=user_id)
    await _fill_quotation(session, quotation, data)
    session.add(quotation)
    await session.flush()
    return quotation


async def update_quotation(session: AsyncSession, quotation_id: uuid.UUID, data: QuotationIn) -> Quotation:
    """Replace a draft quotation (409 once sent)."""
    quotation = await get_quotation(session, quotation_id, lock=True)
    refuse(quotation, "quotation", ("draft",), "edited")
    await _fill_quotation(session, quotation, data)
    await session.flush()
    return quotation


async def delete_quotation(session: AsyncSession, quotation_id: uuid.UUID) -> None:
    """Throw a draft quotation away."""
    quotation = await get_quotation(session, quotation_id, lock=True)
    refuse(quotation, "quotation", ("draft",), "deleted")
    await session.delete(quotation)
    await session.flush()


async def quotation_action(session: AsyncSession, quotation_id: uuid.UUID, action: str) -> Quotation:
    """send (numbered), accept, reject, expire."""
    quotation = await get_quotation(session, quotation_id, lock=True)
    allowed = {"send": ("draft",), "accept": ("sent",), "reject": ("sent",), "expire": ("sent",)}[action]
    done = {"send": "sent", "accept": "accepted", "reject": "rejected", "expire": "expired"}[action]
    refuse(quotation, "quotation", allowed, done)
    if action == "send":
        quotation.number = await accounting.next_document_number(session, "QT", quotation.quote_date)
    if action == "accept" and quotation.valid_until is not None \
            and await accounting.local_today(session) > quotation.valid_until:
        raise Conflict(f"quotation {quotation.number} was valid until {quotation.valid_until}: expire it and "
                       "send a new one")
    quotation.status = done
    await session.flush()
    return quotation


async def convert_quotation(session: AsyncSession, quotation_id: uuid.UUID, data: ConvertIn,
                            user_id: uuid.UUID | None) -> SalesOrder:
    """A draft sales order from an accepted quotation, at the quotation's prices (once)."""
    quotation = await get_quotation(session, quotation_id, lock=True)
    refuse(quotation, "quotation", ("accepted",), "converted")
    if quotation.sales_order_id is not None:
        raise Conflict(f"quotation {quotation.number} is already converted")
    await common.customer(session, quotation.customer_id)
    loc = await common.location(session, data.location)
    lines = [SalesOrderLine(line_no=q.line_no, variant_id=q.variant_id, description=q.description, unit=q.unit,
                            quantity=q.quantity, unit_price=q.unit_price, discount_percent=q.discount_percent,
                            tax_code=q.tax_code, amount=q.amount, base=q.base, tax=q.tax) for q in quotation.lines]
    order = SalesOrder(customer_id=quotation.customer_id, order_date=data.order_date or quotation.quote_date,
                       location_id=loc.id, status="draft", prices_include_tax=quotation.prices_include_tax,
                       note=quotation.note, base=quotation.base, tax=quotation.tax, total=quotation.total,
                       created_by=user_id, lines=lines,
                       customer_reference=f"Quotation {quotation.number}")
    session.add(order)
    await session.flush()
    quotation.sales_order_id = order.id
    await session.flush()
    return order


# -- sales orders --------------------------------------------------------------------------------


async def get_order(session: AsyncSession, order_id: uuid.UUID, *, lock: bool = False) -> SalesOrder:
    """One sales order, or 404."""
    return await get_doc(session, SalesOrder, order_id, "sales order", lock=lock)


ORDER_SORTS = {"date": SalesOrder.order_date, "number": SalesOrder.number, "total": SalesOrder.total,
               "status": SalesOrder.status}


async def list_orders(session: AsyncSession, *, customer_id, status, limit: int, offset: int, q: str | None = None,
                      date_from=None, date_to=None, sort: str | None = None):
    """A page of sales orders, newest first (or by `sort`, a key of ORDER_SORTS, "-" for descending)."""
    filters = repository.document_filters(SalesOrder, customer_id=customer_id, status=status, extra=(
        repository.search_filters(SalesOrder, SalesOrder.order_date, q=q, date_from=date_from, date_to=date_to)))
    return await repository.list_page(session, SalesOrder, filters=filters, limit=limit, offset=offset,
                                      order=repository.sort_order(SalesOrder, SalesOrder.order_date, sort,
                                                                  ORDER_SORTS))


async def partners_by_id(session: AsyncSession, ids) -> dict:
    """Partner id -> partner, for the documents a page lists (their customers' names)."""
    return await repository.partners_by_id(session, set(ids))


async def _fill_order(session: AsyncSession, order: SalesOrder, data: SalesOrderIn) -> None:
    await common.customer(session, data.customer_id)
    loc = await common.location(session, data.location)
    lines, base, tax = await common.priced_lines(session, data.customer_id, data.order_date, data.lines,
                                                 SalesOrderLine, data.prices_include_tax)
    order.customer_id, order.order_date, order.location_id = data.customer_id, data.order_date, loc.id
    order.prices_include_tax, order.customer_reference, order.note = data.prices_include_tax, \
        data.customer_reference, data.note
    order.base, order.tax, order.total = base, tax, base + tax
    order.lines = lines


async def create_order(session: AsyncSession, data: SalesOrderIn, user_id: uuid.UUID | None) -> SalesOrder:
    """A draft sales order with priced lines (no number yet)."""
    order = SalesOrder(status="draft", created_by=user_id)
    await _fill_order(session, order, data)
    session.add(order)
    await session.flush()
    return order


async def update_order(session: AsyncSession, order_id: uuid.UUID, data: SalesOrderIn) -> SalesOrder:
    """Replace a draft order's header and lines (409 once confirmed)."""
    order = await get_order(session, order_id, lock=True)
    refuse(order, "sales order", ("draft",), "edited")
    await _fill_order(session, order, data)
    await session.flush()
    return order


async def delete_order(session: AsyncSession, order_id: uuid.UUID) -> None:
    """Throw a draft order away (a confirmed one is cancelled instead)."""
    order = await get_order(session, order_id, lock=True)
    refuse(order, "sales order", ("draft",), "deleted")
    await session.delete(order)
    await session.flush()


async def _check_credit(session: AsyncSession, order: SalesOrder) -> None:
    partner = await common.customer(session, order.customer_id)
    if partner.credit_limit is None:
        return
    await repository.lock_customer_credit(session, partner.id)
    open_ar = await repository.open_receivable(session, partner.id)
    pending = await repository.uninvoiced_orders(session, partner.id, exclude=order.id)
    exposure = open_ar + pending + order.total
    if exposure > partner.credit_limit:
        raise Conflict(f"credit limit of {partner.code} exceeded: open receivables {open_ar:.2f} + confirmed orders "
                       f"not yet invoiced {pending:.2f} + this order {order.total:.2f} = {exposure:.2f} > credit "
                       f"limit {partner.credit_limit:.2f}")


async def _available(session: AsyncSession, location_id: uuid.UUID, variant_id: uuid.UUID) -> Decimal:
    levels, _ = await inventory.list_levels(session, variant_id=variant_id, location_id=location_id, product_id=None,
                                            q=None, nonzero=False, sort="sku", limit=1, offset=0)
    return levels[0].available if levels else Decimal(0)


async def confirm_order(session: AsyncSession, order_id: uuid.UUID, user_id: uuid.UUID | None) -> SalesOrder:
    """Draft -> confirmed: credit-limit check, number, and a reservation of what is available per line."""
    order = await get_order(session, order_id, lock=True)
    refuse(order, "sales order", ("draft",), "confirmed")
    await _check_credit(session, order)
    order.number = await accounting.next_document_number(session, "SO", order.order_date)
    # Variant order: two confirmations never wait on each other's stock rows in opposite order.
    for line in sorted(order.lines, key=lambda ln: str(ln.variant_id)):
        want = min(line.quantity, await _available(session, order.location_id, line.variant_id))
        line.qty_reserved = Decimal(0)
        if want > 0:
            try:
                await inventory.reserve(session, ReservationIn(variant_id=line.variant_id,
                                                               location=str(order.location_id), quantity=want))
                line.qty_reserved = want
            except Conflict:
                pass  # taken meanwhile by another order: this line stays unreserved
    order.status, order.confirmed_by, order.confirmed_at = "confirmed", user_id, _now()
    await session.flush()
    return order


async def release_reservations(session: AsyncSession, order: SalesOrder) -> None:
    """Give back whatever the order still holds reserved."""
    for line in sorted(order.lines, key=lambda ln: str(ln.variant_id)):
        if line.qty_reserved > 0:
            await inventory.release(session, ReservationIn(variant_id=line.variant_id,
                                                           location=str(order.location_id),
                                                           quantity=line.qty_reserved))
            line.qty_reserved = Decimal(0)


async def cancel_order(session: AsyncSession, order_id: uuid.UUID) -> SalesOrder:
    """Cancel a draft or confirmed order with nothing delivered: reservations released, draft deliveries
    cancelled. After a delivery the order is closed instead (and goods come back by a return)."""
    order = await get_order(session, order_id, lock=True)
    if any(line.qty_delivered > 0 for line in order.lines):
        raise Conflict(f"sales order {name(order)} has deliveries: it cannot be cancelled; close it to stop further "
                       "deliveries, and return goods with a sales return")
    refuse(order, "sales order", ("draft", "confirmed"), "cancelled")
    _no_open_down_payment(order, "cancelled")
    await release_reservations(session, order)
    for delivery in await repository.draft_deliveries(session, order.id):
        delivery.status = "cancelled"
    order.status = "cancelled"
    await session.flush()
    return order


def _no_open_down_payment(order: SalesOrder, action: str) -> None:
    left = order.dp_base - order.dp_base_deducted
    if left > 0:
        raise Conflict(f"sales order {order.number} has down payments of {left:.2f} (DPP) not yet deducted by an "
                       f"invoice: it cannot be {action} until they are invoiced against goods")


async def close_order(session: AsyncSession, order_id: uuid.UUID) -> SalesOrder:
    """Close an order that has had deliveries: what is undelivered will not be; reservations released."""
    order = await get_order(session, order_id, lock=True)
    refuse(order, "sales order", ("partially_delivered", "delivered", "invoiced"), "closed")
    uninvoiced = [ln for ln in order.lines if ln.qty_invoiced < ln.qty_delivered]
    if uninvoiced:
        raise Conflict(f"sales order {order.number}: {', '.join(ln.description for ln in uninvoiced)} delivered but "
                       f"not invoiced ({', '.join(qty(ln.qty_delivered - ln.qty_invoiced) for ln in uninvoiced)}); "
                       "invoice it first")
    _no_open_down_payment(order, "closed")
    await release_reservations(session, order)
    for delivery in await repository.draft_deliveries(session, order.id):
        delivery.status = "cancelled"
    order.status = "closed"
    await session.flush()
    return order


async def tax_documents(session: AsyncSession, date_from, date_to):
    """Posted sales invoices and credit notes dated within the dates, with lines (for the Coretax file)."""
    return await repository.tax_documents(session, date_from, date_to)


async def tax_totals(session: AsyncSession, date_from, date_to):
    """The same documents' tax figures as rows (id, number, kind, invoice_date, customer_id, buyer_name,
    trx_code, base, other_base, tax, dp_base_deducted, dp_tax_deducted), for the PPN summary."""
    return await repository.tax_totals(session, date_from, date_to)


async def monthly_output_tax(session: AsyncSession, before):
    """(month, net PPN Keluaran) of every month before `before` (for the PPN carried forward)."""
    return await repository.monthly_output_tax(session, before)
