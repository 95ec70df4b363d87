"""All purchasing queries."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Date, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import (
    GoodsReceipt, LandedCost, Partner, ProductVariant, PurchaseInvoice, PurchaseOrder, PurchaseRequest, PurchaseReturn,
)
from polyflow.kit.db import escape_like

POSTED_INVOICE = ("open", "partially_paid", "paid")


async def get(session: AsyncSession, model, doc_id: uuid.UUID, *, lock: bool = False):
    """One document by id; `lock`: SELECT ... FOR UPDATE (the document row only, not its lines)."""
    stmt = select(model).where(model.id == doc_id)
    if lock:
        # Re-read under the lock: the identity map may hold the row as it was before another transaction.
        stmt = stmt.with_for_update(of=model).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_page(session: AsyncSession, model, *, status: str | None = None, partner_id: uuid.UUID | None = None,
                    order_id: uuid.UUID | None = None, limit: int, offset: int):
    """Newest first, with the total (count(*) OVER ())."""
    filters = []
    if status is not None:
        filters.append(model.status == status)
    if partner_id is not None and hasattr(model, "partner_id"):
        filters.append(model.partner_id == partner_id)
    if order_id is not None and hasattr(model, "order_id"):
        filters.append(model.order_id == order_id)
    rows = list((await session.execute(
        select(model).where(*filters).order_by(model.created_at.desc(), model.id).limit(limit).offset(offset)
    )).scalars())
    return rows, await _total(session, select(func.count()).select_from(model).where(*filters), len(rows),
                              limit=limit, offset=offset)


async def _total(session: AsyncSession, count, found: int, *, limit: int, offset: int) -> int:
    """A list's total: told by a short page (the last one), else counted by `count`. The page itself has no
    count(*) OVER (): that reads and sorts every matching row before LIMIT, where the page alone walks the
    index of its sort and stops after `limit` rows."""
    if found and found < limit or not found and offset == 0:
        return offset + found
    return (await session.execute(count)).scalar_one()


async def variants(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, ProductVariant]:
    rows = (await session.execute(select(ProductVariant).where(ProductVariant.id.in_(ids)))).scalars()
    return {v.id: v for v in rows}


async def posted_invoices_of_order(session: AsyncSession, order_id: uuid.UUID) -> list[PurchaseInvoice]:
    """The order's posted invoices with something open, oldest first, locked (a debit note reduces them)."""
    return list((await session.execute(
        select(PurchaseInvoice).where(PurchaseInvoice.order_id == order_id, PurchaseInvoice.status.in_(POSTED_INVOICE),
                                      PurchaseInvoice.open_amount > 0)
        .order_by(PurchaseInvoice.invoice_date, PurchaseInvoice.number).with_for_update(of=PurchaseInvoice)
        .execution_options(populate_existing=True)
    )).scalars())


async def open_invoices(session: AsyncSession, partner_id: uuid.UUID | None) -> list[PurchaseInvoice]:
    filters = [PurchaseInvoice.status.in_(("open", "partially_paid"))]
    if partner_id is not None:
        filters.append(PurchaseInvoice.partner_id == partner_id)
    return list((await session.execute(
        select(PurchaseInvoice).where(*filters).order_by(PurchaseInvoice.due_date, PurchaseInvoice.number)
    )).scalars())


async def last_receipt_date(session: AsyncSession, order_id: uuid.UUID) -> date | None:
    return (await session.execute(select(func.max(GoodsReceipt.receipt_date))
                                  .where(GoodsReceipt.order_id == order_id))).scalar_one()


async def last_invoice_date(session: AsyncSession, order_id: uuid.UUID) -> date | None:
    return (await session.execute(select(func.max(PurchaseInvoice.invoice_date)).where(
        PurchaseInvoice.order_id == order_id, PurchaseInvoice.status.in_(POSTED_INVOICE)))).scalar_one()

async def aging_invoices(session: AsyncSession, as_of: date, touched):
    """(id, partner id, code, name, due date, open amount now) of the invoices posted up to `as_of` that are
    open now or among `touched` (ids whose open amount changed after `as_of`)."""
    open_now = PurchaseInvoice.open_amount > 0
    return (await session.execute(
        select(PurchaseInvoice.id, Partner.id, Partner.code, Partner.name, PurchaseInvoice.due_date,
               PurchaseInvoice.open_amount)
        .join(Partner, Partner.id == PurchaseInvoice.partner_id)
        .where(PurchaseInvoice.status.in_(POSTED_INVOICE), PurchaseInvoice.invoice_date <= as_of,
               open_now | PurchaseInvoice.id.in_(list(touched)) if touched else open_now)
        .order_by(Partner.code)
    )).all()


async def debit_notes_after(session: AsyncSession, day: date) -> list[tuple[uuid.UUID, Decimal]]:
    """(order id, debit note total) of the purchase returns with a debit note dated after `day`, newest first."""
    return [tuple(r) for r in (await session.execute(
        select(PurchaseReturn.order_id, PurchaseReturn.debit_total)
        .where(PurchaseReturn.debit_total > 0, PurchaseReturn.return_date > day)
        .order_by(PurchaseReturn.return_date.desc(), PurchaseReturn.number.desc()))).all()]


async def credited_invoices_of_orders(session: AsyncSession, order_ids) -> list[tuple]:
    """(order id, invoice id, credited) of the orders' posted invoices a debit note reduced, newest first."""
    if not order_ids:
        return []
    return [tuple(r) for r in (await session.execute(
        select(PurchaseInvoice.order_id, PurchaseInvoice.id, PurchaseInvoice.credited)
        .where(PurchaseInvoice.order_id.in_(list(order_ids)), PurchaseInvoice.status.in_(POSTED_INVOICE),
               PurchaseInvoice.credited > 0)
        .order_by(PurchaseInvoice.invoice_date.desc(), PurchaseInvoice.number.desc()))).all()]


async def input_tax_documents(session: AsyncSession, date_from: date, date_to: date):
    """(posted supplier invoices, purchase returns with a debit note) dated within the dates, by date and
    number, as rows of their tax figures (no lines: a month's summary stays light)."""
    i, r = PurchaseInvoice, PurchaseReturn
    invoices = (await session.execute(
        select(i.id, i.number, i.invoice_date, i.partner_id, i.tax_invoice_no, i.subtotal, i.tax_amount)
        .where(i.status.in_(POSTED_INVOICE), i.invoice_date.between(date_from, date_to))
        .order_by(i.invoice_date, i.number))).all()
    returns = (await session.execute(
        select(r.id, r.number, r.return_date, r.partner_id, r.tax_invoice_no, r.debit_base, r.debit_tax)
        .where(r.debit_total > 0, r.return_date.between(date_from, date_to))
        .order_by(r.return_date, r.number))).all()
    return invoices, returns


async def monthly_input_tax(session: AsyncSession, before: date) -> dict[date, Decimal]:
    """First day of the month -> PPN Masukan of posted invoices less debit notes' PPN, every month before `before`."""
    out: dict[date, Decimal] = {}
    for day, amount, extra in (
            (PurchaseInvoice.invoice_date, PurchaseInvoice.tax_amount, [PurchaseInvoice.status.in_(POSTED_INVOICE)]),
            (PurchaseReturn.return_date, -PurchaseReturn.debit_tax, [])):
        month = cast(func.date_trunc("month", day), Date)
        rows = await session.execute(select(month, func.sum(amount)).where(day < before, *extra).group_by(month))
        for m, v in rows.all():
            out[m] = out.get(m, Decimal(0)) + Decimal(v)
    return out


MODELS = {"request": PurchaseRequest, "order": PurchaseOrder, "receipt": GoodsReceipt, "invoice": PurchaseInvoice,
          "return": PurchaseReturn, "landed_cost": LandedCost}


# -- browsing (the pages' lists) -------------------------------------------------------------------------

DATE_COLUMNS = {"request": "request_date", "order": "order_date", "receipt": "receipt_date",
                "invoice": "invoice_date", "return": "return_date"}
# Columns a free-text search looks in, beyond the number and the supplier's code and name.
SEARCHED = {"request": ("note",), "order": ("note",), "receipt": ("delivery_note",),
            "invoice": ("supplier_invoice_no", "tax_invoice_no", "note"), "return": ("reason", "tax_invoice_no")}
AMOUNTS = {"receipt": "value", "return": "debit_total"}  # what "total" sorts by where there is no total
UNPAID = ("open", "partially_paid")


async def browse(session: AsyncSession, kind: str, *, q: str | None = None, status: str | None = None,
                 partner_id: uuid.UUID | None = None, order_id: uuid.UUID | None = None,
                 date_from: date | None = None, date_to: date | None = None, sort: str = "-date",
                 limit: int, offset: int):
    """([(document, supplier code, supplier name)], total) of one kind, searched, filtered and sorted
    ("date", "number", "supplier", "total", "status", "due"; "-" in front: descending). status "unpaid" is
    an invoice open or partially paid."""
    model = MODELS[kind]
    day = getattr(model, DATE_COLUMNS[kind])
    has_partner = hasattr(model, "partner_id")
    code = Partner.code if has_partner else None
    name = Partner.name if has_partner else None
    filters = []
    if status == "unpaid":
        filters.append(model.status.in_(UNPAID))
    elif status:
        filters.append(model.status == status)
    if partner_id is not None and has_partner:
        filters.append(model.partner_id == partner_id)
    if order_id is not None and hasattr(model, "order_id"):
        filters.append(model.order_id == order_id)
    if date_from is not None:
        filters.append(day >= date_from)
    if date_to is not None:
        filters.append(day <= date_to)
    if q:
        like = "%" + escape_like(q) + "%"
        columns = [model.number] + [getattr(model, c) for c in SEARCHED[kind]]
        if has_partner:
            columns += [Partner.code, Partner.name]
        filters.append(or_(*(c.ilike(like) for c in columns)))
    amount = getattr(model, AMOUNTS.get(kind, "total"), None)
    keys = {"date": day, "number": model.number, "status": getattr(model, "status", None), "supplier": name,
            "total": amount,
            "due": getattr(model, "due_date", None)}
    desc = sort.startswith("-")
    key = keys.get(sort.lstrip("-")) if keys.get(sort.lstrip("-")) is not None else day
    if key is day:
        # The date is NOT NULL (NULLS LAST would change nothing but keep the planner off the index): by date,
        # either way, is a walk of the (date, created_at, id) index of revision 0020, without a sort.
        ordering = [day.desc(), model.created_at.desc(), model.id.desc()] if desc \
            else [day, model.created_at, model.id]
    else:
        ordering = [key.desc().nulls_last() if desc else key.asc().nulls_last(),
                    model.created_at.desc() if desc else model.created_at, model.id]
    stmt = select(model, code, name) if has_partner else select(model)
    count = select(func.count()).select_from(model)
    if has_partner:
        stmt = stmt.join(Partner, Partner.id == model.partner_id)
        if q:  # the search looks at the supplier; otherwise every document has one (NOT NULL key)
            count = count.join(Partner, Partner.id == model.partner_id)
    rows = (await session.execute(stmt.where(*filters).order_by(*ordering).limit(limit).offset(offset))).all()
    out = [(r[0], r[1], r[2]) if has_partner else (r[0], None, None) for r in rows]
    return out, await _total(session, count.where(*filters), len(rows), limit=limit, offset=offset)
