"""The dashboard's own small aggregates (one query each) where no module has a read that answers them:
how many orders are open and for how much, the sales of each day of a range, and the stock's value now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models.product import ProductVariant
from polyflow.erp.models.purchasing import PurchaseOrder
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
