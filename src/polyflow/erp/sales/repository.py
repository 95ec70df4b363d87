"""All sales queries (the sales documents' own tables; other modules are reached through their services)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, case, cast, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import (
    Delivery, DeliveryLine, Partner, ProductVariant, Quotation, SalesInvoice, SalesInvoiceLine, SalesOrder,
    SalesOrderLine, SalesReturn,
)
from polyflow.kit.db import escape_like

POSTED_INVOICE = ("open", "partially_paid", "paid")
# Orders whose value counts against the credit limit until it is invoiced.
COMMITTED_ORDER = ("confirmed", "partially_delivered", "delivered")


async def get(session: AsyncSession, model, doc_id: uuid.UUID, *, lock: bool = False):
    """One document, optionally locked (FOR UPDATE) until commit; None if not found."""
    stmt = select(model).where(model.id == doc_id)
    if lock:
        stmt = stmt.with_for_update(of=model)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_invoice(session: AsyncSession, invoice_id: uuid.UUID, kind: str | None = None, *,
                      lock: bool = False) -> SalesInvoice | None:
    stmt = select(SalesInvoice).where(SalesInvoice.id == invoice_id)
    if kind is not None:
        stmt = stmt.where(SalesInvoice.kind == kind)
    if lock:
        stmt = stmt.with_for_update(of=SalesInvoice)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_page(session: AsyncSession, model, *, filters: list, order, limit: int, offset: int):
    """One page and the total. The page is its own query (ORDER BY ... LIMIT walks the index of the sort and
    stops after `limit` rows; a count(*) OVER () in it would read and sort every matching row first); the
    total is counted only when the page does not already tell it (a short page is the last one)."""
    rows = list((await session.execute(select(model).where(*filters).order_by(*order)
                                       .limit(limit).offset(offset))).scalars())
    if rows and len(rows) < limit or not rows and offset == 0:
        return rows, offset + len(rows)
    return rows, (await session.execute(select(func.count()).select_from(model).where(*filters))).scalar_one()


def document_filters(model, *, customer_id: uuid.UUID | None, status: str | None, extra=()) -> list:
    filters = list(extra)
    if customer_id is not None:
        filters.append(model.customer_id == customer_id)
    if status is not None:
        filters.append(model.status == status)
    return filters


def search_filters(model, date_column, *, q: str | None = None, date_from: date | None = None,
                   date_to: date | None = None) -> list:
    """A list page's search (`q` over the number and the customer's code and name) and date range."""
    filters = []
    if q:
        like = "%" + escape_like(q) + "%"
        customers = select(Partner.id).where(Partner.code.ilike(like) | Partner.name.ilike(like))
        filters.append(model.number.ilike(like) | model.customer_id.in_(customers))
    if date_from is not None:
        filters.append(date_column >= date_from)
    if date_to is not None:
        filters.append(date_column <= date_to)
    return filters


def sort_order(model, date_column, sort: str | None, sorts: dict) -> tuple:
    """ORDER BY of a list page: "-date" (newest first, the default), "number", "total" ... (a name in
    `sorts`, minus for descending); ties newest first."""
    key = (sort or "-date").lstrip("-")
    column = sorts.get(key, date_column)
    descending = (sort or "-date").startswith("-") or key not in sorts
    if column is date_column and descending:
        # The date is NOT NULL, so NULLS LAST changes nothing but would keep the planner off the
        # (date, created_at) index (revision 0020), scanned backwards: newest first without a sort.
        return column.desc(), model.created_at.desc()
    return (column.desc().nulls_last() if descending else column.asc().nulls_last(), model.created_at.desc())


async def variant(session: AsyncSession, variant_id: uuid.UUID) -> ProductVariant | None:
    return (await session.execute(select(ProductVariant).where(ProductVariant.id == variant_id))).unique() \
        .scalar_one_or_none()


async def order_lines(session: AsyncSession, line_ids) -> dict[uuid.UUID, SalesOrderLine]:
    rows = (await session.execute(select(SalesOrderLine).where(SalesOrderLine.id.in_(list(line_ids))))).scalars()
    return {r.id: r for r in rows}


async def delivery_lines(session: AsyncSession, line_ids) -> dict[uuid.UUID, tuple[DeliveryLine, Delivery]]:
    rows = (await session.execute(select(DeliveryLine, Delivery).join(Delivery, Delivery.id == DeliveryLine.delivery_id)
                                  .where(DeliveryLine.id.in_(list(line_ids))).with_for_update(of=DeliveryLine))).all()
    return {dl.id: (dl, d) for dl, d in rows}


async def invoice_lines(session: AsyncSession, invoice_id: uuid.UUID) -> list[SalesInvoiceLine]:
    return list((await session.execute(select(SalesInvoiceLine).where(SalesInvoiceLine.invoice_id == invoice_id)
                                       .order_by(SalesInvoiceLine.line_no))).scalars())


async def lock_customer_credit(session: AsyncSession, customer_id: uuid.UUID) -> None:
    """Serialise credit checks of one customer (two confirmations cannot both fit under the limit on the
    same headroom); held until commit."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('sales-credit'), hashtext(:c))"),
                          {"c": str(customer_id)})


async def open_receivable(session: AsyncSession, customer_id: uuid.UUID) -> Decimal:
    """Open invoices minus unapplied credit notes of a customer."""
    stmt = select(
        func.coalesce(func.sum(SalesInvoice.open_amount).filter(SalesInvoice.kind == "invoice"), 0)
        - func.coalesce(func.sum(SalesInvoice.open_amount).filter(SalesInvoice.kind == "credit_note"), 0)
    ).where(SalesInvoice.customer_id == customer_id, SalesInvoice.status.in_(POSTED_INVOICE))
    return Decimal((await session.execute(stmt)).scalar_one())


async def uninvoiced_orders(session: AsyncSession, customer_id: uuid.UUID, exclude: uuid.UUID) -> Decimal:
    """Value of the customer's confirmed orders not yet invoiced."""
    stmt = select(func.coalesce(func.sum(func.greatest(SalesOrder.total - SalesOrder.invoiced_total, 0)), 0)).where(
        SalesOrder.customer_id == customer_id, SalesOrder.status.in_(COMMITTED_ORDER), SalesOrder.id != exclude)
    return Decimal((await session.execute(stmt)).scalar_one())


async def open_invoices(session: AsyncSession, partner_id: uuid.UUID | None = None,
                        as_of: date | None = None) -> list[SalesInvoice]:
    """Posted invoices and credit notes with something open, by due date."""
    stmt = select(SalesInvoice).where(SalesInvoice.status.in_(POSTED_INVOICE), SalesInvoice.open_amount > 0)
    if partner_id is not None:
        stmt = stmt.where(SalesInvoice.customer_id == partner_id)
    if as_of is not None:
        stmt = stmt.where(SalesInvoice.invoice_date <= as_of)
    stmt = stmt.order_by(SalesInvoice.due_date, SalesInvoice.number)
    return list((await session.execute(stmt)).scalars())


async def aging_documents(session: AsyncSession, as_of: date, touched) -> list[SalesInvoice]:
    """Posted invoices and credit notes dated up to `as_of` that are open now or among `touched` (ids whose
    open amount changed after `as_of`), by due date."""
    stmt = select(SalesInvoice).where(SalesInvoice.status.in_(POSTED_INVOICE), SalesInvoice.invoice_date <= as_of)
    open_now = SalesInvoice.open_amount > 0
    stmt = stmt.where(open_now | SalesInvoice.id.in_(list(touched)) if touched else open_now)
    return list((await session.execute(stmt.order_by(SalesInvoice.due_date, SalesInvoice.number))).scalars())


async def credited_after(session: AsyncSession, day: date) -> dict[uuid.UUID, Decimal]:
    """Invoice id -> what the credit notes dated after `day` took off its open amount when they were posted."""
    stmt = (select(SalesInvoice.credit_note_of_id, func.sum(SalesInvoice.credited))
            .where(SalesInvoice.kind == "credit_note", SalesInvoice.status.in_(POSTED_INVOICE),
                   SalesInvoice.invoice_date > day, SalesInvoice.credited > 0)
            .group_by(SalesInvoice.credit_note_of_id))
    return {invoice_id: Decimal(amount) for invoice_id, amount in (await session.execute(stmt)).all()}


async def partners_by_id(session: AsyncSession, ids) -> dict[uuid.UUID, Partner]:
    if not ids:
        return {}
    return {p.id: p for p in (await session.execute(select(Partner).where(Partner.id.in_(list(ids))))).scalars()}


async def draft_deliveries(session: AsyncSession, order_id: uuid.UUID) -> list[Delivery]:
    return list((await session.execute(select(Delivery).where(Delivery.order_id == order_id,
                                                              Delivery.status == "draft"))).scalars())


def _posted_within(date_from: date, date_to: date) -> list:
    return [SalesInvoice.status.in_(POSTED_INVOICE), SalesInvoice.invoice_date.between(date_from, date_to)]


async def tax_documents(session: AsyncSession, date_from: date, date_to: date) -> list[SalesInvoice]:
    """Posted invoices and credit notes dated within the dates (the month's tax invoices) with their lines,
    by date and number."""
    return list((await session.execute(select(SalesInvoice).where(*_posted_within(date_from, date_to))
                                       .order_by(SalesInvoice.invoice_date, SalesInvoice.number))).scalars())


async def tax_totals(session: AsyncSession, date_from: date, date_to: date):
    """The same documents' tax figures only (rows, no lines: a summary of thousands stays light)."""
    c = SalesInvoice
    return (await session.execute(
        select(c.id, c.number, c.kind, c.invoice_date, c.customer_id, c.buyer_name, c.trx_code, c.base, c.other_base,
               c.tax, c.dp_base_deducted, c.dp_tax_deducted)
        .where(*_posted_within(date_from, date_to)).order_by(c.invoice_date, c.number))).all()


async def monthly_output_tax(session: AsyncSession, before: date) -> list[tuple[date, Decimal]]:
    """(first day of the month, net PPN Keluaran) per month before `before`: invoices' PPN less the
    down-payment PPN they deduct, less credit notes' PPN."""
    month = cast(func.date_trunc("month", SalesInvoice.invoice_date), Date)
    net = func.sum(case((SalesInvoice.kind == "credit_note", -SalesInvoice.tax),
                        else_=SalesInvoice.tax - SalesInvoice.dp_tax_deducted))
    rows = await session.execute(select(month, net).where(SalesInvoice.status.in_(POSTED_INVOICE),
                                                          SalesInvoice.invoice_date < before)
                                 .group_by(month).order_by(month))
    return [(m, Decimal(v)) for m, v in rows.all()]


MODELS = {"quotation": Quotation, "order": SalesOrder, "delivery": Delivery, "return": SalesReturn}
