"""All payments queries. Invoices are changed only through their modules' services (`apply_payment`); the
customer statement reads posted sales documents here, read-only, to list them by date."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Partner, Payment, PaymentAllocation, SalesInvoice
from polyflow.kit.db import escape_like

# Sales invoice states that are in the books (drafts and cancelled drafts never were).
POSTED_SALES = ("open", "partially_paid", "paid")


async def get(session: AsyncSession, payment_id: uuid.UUID, *, lock: bool = False) -> Payment | None:
    """One payment (its allocations loaded), optionally locked FOR UPDATE until commit."""
    stmt = select(Payment).where(Payment.id == payment_id)
    if lock:
        stmt = stmt.with_for_update(of=Payment)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_page(session: AsyncSession, *, directions: tuple[str, ...], partner_id: uuid.UUID | None,
                    status: str | None, date_from: date | None, date_to: date | None, limit: int,
                    offset: int, q: str | None = None) -> tuple[list[Payment], int]:
    """A page of payments, newest first, and the total; `q` searches the number, the reference and the
    partner's code and name."""
    filters = [Payment.direction.in_(directions)]
    if q:
        like = "%" + escape_like(q) + "%"
        partners = select(Partner.id).where(Partner.code.ilike(like) | Partner.name.ilike(like))
        filters.append(Payment.number.ilike(like) | Payment.reference.ilike(like) | Payment.partner_id.in_(partners))
    if partner_id is not None:
        filters.append(Payment.partner_id == partner_id)
    if status is not None:
        filters.append(Payment.status == status)
    if date_from is not None:
        filters.append(Payment.payment_date >= date_from)
    if date_to is not None:
        filters.append(Payment.payment_date <= date_to)
    total = (await session.execute(select(func.count()).select_from(Payment).where(*filters))).scalar_one()
    rows = (await session.execute(select(Payment).where(*filters)
                                  .order_by(Payment.payment_date.desc(), Payment.number.desc())
                                  .limit(limit).offset(offset))).scalars().all()
    return list(rows), total


async def sales_documents(session: AsyncSession, partner_id: uuid.UUID, date_to: date) -> list[tuple]:
    """(date, kind, number, total) of the customer's posted invoices and credit notes up to `date_to`."""
    stmt = (select(SalesInvoice.invoice_date, SalesInvoice.kind, SalesInvoice.number, SalesInvoice.total)
            .where(SalesInvoice.customer_id == partner_id, SalesInvoice.status.in_(POSTED_SALES),
                   SalesInvoice.invoice_date <= date_to))
    return [tuple(r) for r in (await session.execute(stmt)).all()]


async def receipts_until(session: AsyncSession, partner_id: uuid.UUID, date_to: date) -> list[Payment]:
    """The customer's receipts dated up to `date_to` (cancelled ones too: the statement shows both sides)."""
    stmt = select(Payment).where(Payment.direction == "in", Payment.partner_id == partner_id,
                                 Payment.payment_date <= date_to)
    return list((await session.execute(stmt)).scalars().all())


async def withheld_in(session: AsyncSession, start: date, end: date) -> list[tuple[Payment, Partner]]:
    """Posted payments with PPh 23 withheld whose slip is dated in [start, end], by slip date and number."""
    stmt = (select(Payment, Partner).join(Partner, Partner.id == Payment.partner_id)
            .where(Payment.status == "posted", Payment.withheld > 0, Payment.withholding_date >= start,
                   Payment.withholding_date <= end)
            .order_by(Payment.withholding_date, Payment.number))
    return [(p, partner) for p, partner in (await session.execute(stmt)).all()]



async def allocations_after(session: AsyncSession, direction: str, day: date) -> dict[uuid.UUID, Decimal]:
    """Invoice id -> net amount allocated to it by events dated after `day`: a payment dated later counts its
    allocation, a cancellation dated later takes it back (a payment and its cancellation both later net 0)."""
    column = PaymentAllocation.sales_invoice_id if direction == "in" else PaymentAllocation.purchase_invoice_id
    net = (case((Payment.payment_date > day, PaymentAllocation.amount), else_=0)
           - case((Payment.cancel_date > day, PaymentAllocation.amount), else_=0))
    stmt = (select(column, func.sum(net)).join(Payment, Payment.id == PaymentAllocation.payment_id)
            .where(Payment.direction == direction, column.is_not(None),
                   (Payment.payment_date > day) | (Payment.cancel_date > day))
            .group_by(column))
    return {invoice_id: Decimal(amount) for invoice_id, amount in (await session.execute(stmt)).all() if amount}


async def allocations_to(session: AsyncSession, direction: str, invoice_id: uuid.UUID) -> list[tuple[Payment, Decimal]]:
    """(payment, amount allocated) of every payment (cancelled ones too) allocated to one invoice, by date."""
    column = PaymentAllocation.sales_invoice_id if direction == "in" else PaymentAllocation.purchase_invoice_id
    stmt = (select(Payment, PaymentAllocation.amount)
            .join(PaymentAllocation, PaymentAllocation.payment_id == Payment.id)
            .where(Payment.direction == direction, column == invoice_id)
            .order_by(Payment.payment_date, Payment.number))
    return [(p, Decimal(a)) for p, a in (await session.execute(stmt)).all()]
