"""The dashboard's own small aggregates (one query each) where no module has a read that answers them:
how many orders are open and for how much, the sales of each day of a range, the stock's value now, and the
receivables / payables by days past due in total (the aging reports list every customer; the tile needs the sums)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models.product import ProductVariant
from polyflow.erp.models.purchasing import PurchaseInvoice, PurchaseOrder
from polyflow.erp.models.sales import SalesInvoice, SalesOrder

# Orders still to be delivered / received or invoiced (the states between confirmation and the end).
OPEN_SALES_ORDERS = ("confirmed", "partially_delivered", "delivered")
OPEN_PURCHASE_ORDERS = ("approved", "partially_received")
POSTED_INVOICES = ("open", "partially_paid", "paid")


@dataclass(frozen=True)
class OpenOrders:
    count: int
    total: Decimal


async def open_sales_orders(session: AsyncSession) -> OpenOrders:
    """Confirmed sales orders not yet fully delivered or invoiced: how many, and their total with PPN."""
    row = (await session.execute(select(func.count(), func.coalesce(func.sum(SalesOrder.total), 0))
                                 .where(SalesOrder.status.in_(OPEN_SALES_ORDERS)))).one()
    return OpenOrders(row[0], Decimal(row[1]))


async def open_purchase_orders(session: AsyncSession) -> OpenOrders:
    """Approved purchase orders not yet fully received: how many, and their total with PPN."""
    row = (await session.execute(select(func.count(), func.coalesce(func.sum(PurchaseOrder.total), 0))
                                 .where(PurchaseOrder.status.in_(OPEN_PURCHASE_ORDERS)))).one()
    return OpenOrders(row[0], Decimal(row[1]))


async def sales_per_day(session: AsyncSession, first: date, last: date) -> dict[date, Decimal]:
    """Net sales (DPP of posted invoices less posted credit notes) per invoice date in [first, last]; days
    without sales are left out."""
    signed = case((SalesInvoice.kind == "credit_note", -SalesInvoice.base), else_=SalesInvoice.base)
    rows = await session.execute(
        select(SalesInvoice.invoice_date, func.sum(signed))
        .where(SalesInvoice.invoice_date.between(first, last), SalesInvoice.status.in_(POSTED_INVOICES))
        .group_by(SalesInvoice.invoice_date))
    return {day: Decimal(amount) for day, amount in rows}


@dataclass(frozen=True)
class StockValue:
    value: Decimal
    in_stock: int  # variants with stock


async def stock_value(session: AsyncSession) -> StockValue:
    """The stock's value now: the sum of the running value inventory keeps on each variant (what the valuation
    as of today adds up from every movement, read in one pass over the variants instead of the history)."""
    row = (await session.execute(select(func.coalesce(func.sum(ProductVariant.stock_value), 0),
                                        func.count().filter(ProductVariant.qty_total > 0)))).one()
    return StockValue(Decimal(row[0]), row[1])



# Days past due: the aging reports' buckets (sales.invoicing.BUCKETS, purchasing's AgingBuckets).
AGING_BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "over_90")


def _bucket_conditions(due, today: date) -> list:
    """One condition per bucket on the due date, as the reports bucket the days late (today - due date)."""
    return [due >= today,
            due.between(today - timedelta(days=30), today - timedelta(days=1)),
            due.between(today - timedelta(days=60), today - timedelta(days=31)),
            due.between(today - timedelta(days=90), today - timedelta(days=61)),
            due < today - timedelta(days=90)]


async def _aging_totals(session: AsyncSession, today: date, amount, due, *where) -> dict[str, Decimal]:
    row = (await session.execute(
        select(*(func.coalesce(func.sum(amount).filter(cond), 0) for cond in _bucket_conditions(due, today)))
        .where(*where))).one()
    out = {bucket: Decimal(value) for bucket, value in zip(AGING_BUCKETS, row)}
    out["total"] = sum(out.values(), Decimal(0))
    return out


async def receivables_aging(session: AsyncSession, today: date) -> dict[str, Decimal]:
    """What customers owe today by days past due, in total (the AR aging report's totals for today, summed in
    one query instead of per customer): posted invoices and credit notes dated up to today with something
    open, a credit note counting against."""
    signed = case((SalesInvoice.kind == "credit_note", -SalesInvoice.open_amount), else_=SalesInvoice.open_amount)
    return await _aging_totals(session, today, signed, SalesInvoice.due_date,
                               SalesInvoice.status.in_(POSTED_INVOICES), SalesInvoice.open_amount > 0,
                               SalesInvoice.invoice_date <= today)


async def payables_aging(session: AsyncSession, today: date) -> dict[str, Decimal]:
    """What the plant owes its suppliers today by days past due, in total (the AP aging report's totals for
    today, in one query): posted supplier invoices dated up to today with something open."""
    return await _aging_totals(session, today, PurchaseInvoice.open_amount, PurchaseInvoice.due_date,
                               PurchaseInvoice.status.in_(POSTED_INVOICES), PurchaseInvoice.open_amount > 0,
                               PurchaseInvoice.invoice_date <= today)
