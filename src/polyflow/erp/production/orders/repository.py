"""All queries of production runs and orders. The floor tables (BOMs, routes, machines) are read here
directly (same module; the piece-rate rule is the floor's `piece_rate_for`); stock movements are only
read, for the value an issue or an output carries now (a backdated receipt may have re-costed it since)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import (
    Bom, Execution, Location, Lot, LotConsumption, Machine, MaterialIssue, Operator, Product, ProductionCost,
    ProductionOrder, ProductionRun, ProductVariant, Route, SalesOrderLine, Shift, StockMovement,
)
from polyflow.kit.db import escape_like

ZERO = Decimal("0.00")


async def order(session: AsyncSession, order_id: uuid.UUID, *, lock: bool = False) -> ProductionOrder | None:
    """One order; `lock`: SELECT ... FOR UPDATE, re-read (the identity map may hold an older copy)."""
    stmt = select(ProductionOrder).where(ProductionOrder.id == order_id)
    if lock:
        stmt = stmt.with_for_update(of=ProductionOrder).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def run(session: AsyncSession, run_id: uuid.UUID, *, lock: bool = False) -> ProductionRun | None:
    stmt = select(ProductionRun).where(ProductionRun.id == run_id)
    if lock:
        stmt = stmt.with_for_update(of=ProductionRun).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def run_orders(session: AsyncSession, run_id: uuid.UUID, *, lock: bool = False) -> list[ProductionOrder]:
    """The run's orders by step; `lock` takes their rows in step order (every path locks orders that way)."""
    stmt = select(ProductionOrder).where(ProductionOrder.run_id == run_id).order_by(ProductionOrder.step_seq)
    if lock:
        stmt = stmt.with_for_update(of=ProductionOrder).execution_options(populate_existing=True)
    return list((await session.execute(stmt)).scalars())


async def _page(session: AsyncSession, model, filters: list, limit: int, offset: int, order_by=None):
    order_by = order_by or (model.created_at.desc(),)
    rows = (await session.execute(select(model, func.count().over()).where(*filters)
                                  .order_by(*order_by, model.id).limit(limit).offset(offset))).all()
    if rows:
        return [r[0] for r in rows], rows[0][1]
    if offset == 0:
        return [], 0
    return [], (await session.execute(select(func.count()).select_from(model).where(*filters))).scalar_one()


def _product_filter(model, product_id):
    return model.variant_id.in_(select(ProductVariant.id).where(ProductVariant.product_id == product_id))


async def list_runs(session: AsyncSession, *, status=None, priority=None, product_id=None, variant_id=None,
                    limit: int, offset: int):
    filters = []
    if status:
        filters.append(ProductionRun.status == status)
    if priority:
        filters.append(ProductionRun.priority == priority)
    if variant_id:
        filters.append(ProductionRun.variant_id == variant_id)
    if product_id:
        filters.append(_product_filter(ProductionRun, product_id))
    return await _page(session, ProductionRun, filters, limit, offset)


# Sorts of the order list (the pages'): "-priority" puts urgent first; ties newest first.
_PRIORITY_RANK = case({"urgent": 4, "high": 3, "normal": 2, "low": 1}, value=ProductionOrder.priority, else_=0)
ORDER_SORTS = {"created": ProductionOrder.created_at, "number": ProductionOrder.number,
               "due": ProductionOrder.due_date, "priority": _PRIORITY_RANK, "status": ProductionOrder.status}


async def list_orders(session: AsyncSession, *, status=None, priority=None, stage=None, run_id=None,
                      product_id=None, variant_id=None, machine_id=None, due_from=None, due_to=None, q=None,
                      sort=None, limit: int, offset: int):
    filters = []
    for column, value in ((ProductionOrder.status, status), (ProductionOrder.priority, priority),
                          (ProductionOrder.stage, stage), (ProductionOrder.run_id, run_id),
                          (ProductionOrder.variant_id, variant_id), (ProductionOrder.machine_id, machine_id)):
        if value:
            filters.append(column == value)
    if product_id:
        filters.append(_product_filter(ProductionOrder, product_id))
    if due_from:
        filters.append(ProductionOrder.due_date >= due_from)
    if due_to:
        filters.append(ProductionOrder.due_date <= due_to)
    if q:
        # The SPK number or the SKU / name of what the order makes.
        like = "%" + escape_like(q) + "%"
        filters.append(ProductionOrder.number.ilike(like) | ProductionOrder.variant_id.in_(
            select(ProductVariant.id).join(Product, Product.id == ProductVariant.product_id)
            .where(ProductVariant.sku.ilike(like) | Product.name.ilike(like))))
    order_by = None
    if sort and sort.lstrip("-") in ORDER_SORTS:
        column = ORDER_SORTS[sort.lstrip("-")]
        order_by = (column.desc().nulls_last() if sort.startswith("-") else column.asc().nulls_last(),
                    ProductionOrder.created_at.desc())
    return await _page(session, ProductionOrder, filters, limit, offset, order_by)


# -- master data ---------------------------------------------------------------------------------------------


async def variant(session: AsyncSession, *, variant_id=None, sku=None) -> ProductVariant | None:
    stmt = select(ProductVariant)
    stmt = stmt.where(ProductVariant.id == variant_id) if variant_id else stmt.where(ProductVariant.sku == sku)
    return (await session.execute(stmt)).scalar_one_or_none()


async def variants(session: AsyncSession, ids) -> dict[uuid.UUID, ProductVariant]:
    ids = list(set(ids))
    if not ids:
        return {}
    return {v.id: v for v in (await session.execute(select(ProductVariant).where(ProductVariant.id.in_(ids))))
            .scalars()}


async def location(session: AsyncSession, ref: str) -> Location | None:
    try:
        stmt = select(Location).where(Location.id == uuid.UUID(ref))
    except ValueError:
        stmt = select(Location).where(Location.code == ref.upper())
    return (await session.execute(stmt)).scalar_one_or_none()


async def location_by_id(session: AsyncSession, location_id) -> Location | None:
    return await session.get(Location, location_id)


async def first_location_of_kind(session: AsyncSession, kind: str) -> Location | None:
    return (await session.execute(select(Location).where(Location.kind == kind, Location.is_active)
                                  .order_by(Location.code).limit(1))).scalar_one_or_none()


async def bom(session: AsyncSession, bom_id) -> Bom | None:
    return await session.get(Bom, bom_id)


async def default_bom(session: AsyncSession, product_id) -> Bom | None:
    return (await session.execute(select(Bom).where(Bom.product_id == product_id, Bom.is_default)
                                  )).scalar_one_or_none()


async def route(session: AsyncSession, route_id) -> Route | None:
    return await session.get(Route, route_id)


async def default_route(session: AsyncSession, product_id) -> Route | None:
    return (await session.execute(select(Route).where(Route.product_id == product_id, Route.is_default)
                                  )).scalar_one_or_none()


async def machine(session: AsyncSession, machine_id) -> Machine | None:
    return await session.get(Machine, machine_id)


async def operator(session: AsyncSession, operator_id) -> Operator | None:
    return await session.get(Operator, operator_id)


async def shift(session: AsyncSession, shift_id) -> Shift | None:
    return await session.get(Shift, shift_id)


# -- the WIP sub-ledger --------------------------------------------------------------------------------------


def _wip_change():
    # A row tied to a movement counts minus the movement's value as it is now (re-costing followed).
    return func.coalesce(func.sum(case((ProductionCost.movement_id.is_not(None), -StockMovement.value),
                                       else_=ProductionCost.amount)), ZERO)


async def wip(session: AsyncSession, as_of: date | None = None, order_id=None) -> Decimal:
    """WIP as of a date (all rows when None), of one order or of all orders."""
    stmt = select(_wip_change()).select_from(ProductionCost).outerjoin(
        StockMovement, StockMovement.id == ProductionCost.movement_id)
    if as_of is not None:
        stmt = stmt.where(ProductionCost.posting_date <= as_of)
    if order_id is not None:
        stmt = stmt.where(ProductionCost.order_id == order_id)
    return (await session.execute(stmt)).scalar_one()


async def wip_by_kind(session: AsyncSession, order_id) -> dict[str, Decimal]:
    rows = await session.execute(
        select(ProductionCost.kind, _wip_change()).select_from(ProductionCost)
        .outerjoin(StockMovement, StockMovement.id == ProductionCost.movement_id)
        .where(ProductionCost.order_id == order_id).group_by(ProductionCost.kind))
    return {kind: value for kind, value in rows.all()}


async def last_cost_date(session: AsyncSession, order_id) -> date | None:
    return (await session.execute(select(func.max(ProductionCost.posting_date))
                                  .where(ProductionCost.order_id == order_id))).scalar_one()


async def issued(session: AsyncSession, order_id) -> dict[uuid.UUID, tuple[Decimal, Decimal]]:
    """Variant -> (net quantity issued, value issued now) into the order (returns subtracted)."""
    rows = await session.execute(
        select(MaterialIssue.variant_id, func.sum(MaterialIssue.quantity), func.sum(-StockMovement.value))
        .join(StockMovement, StockMovement.id == MaterialIssue.movement_id)
        .where(MaterialIssue.order_id == order_id).group_by(MaterialIssue.variant_id))
    return {vid: (qty, value) for vid, qty, value in rows.all()}


async def issued_by_day(session: AsyncSession, order_id, variant_id) -> list[tuple[date, Decimal]]:
    """(day, net quantity issued that day) of one material of the order, by day (returns negative)."""
    rows = await session.execute(
        select(MaterialIssue.issued_on, func.sum(MaterialIssue.quantity))
        .where(MaterialIssue.order_id == order_id, MaterialIssue.variant_id == variant_id)
        .group_by(MaterialIssue.issued_on).order_by(MaterialIssue.issued_on))
    return [(day, qty) for day, qty in rows.all()]


async def lots_given(session: AsyncSession, order_id, lot_ids) -> dict[uuid.UUID, Decimal]:
    """Lot -> net quantity it gave the order (consumptions less what came back)."""
    rows = await session.execute(
        select(LotConsumption.lot_id, func.sum(LotConsumption.quantity))
        .where(LotConsumption.order_id == order_id, LotConsumption.lot_id.in_(list(lot_ids)))
        .group_by(LotConsumption.lot_id))
    return {lot_id: qty for lot_id, qty in rows.all()}


async def has_activity(session: AsyncSession, order_id) -> bool:
    """Anything issued or recorded on the order (even voided since)."""
    issue = select(MaterialIssue.id).where(MaterialIssue.order_id == order_id).exists()
    execution = select(Execution.id).where(Execution.order_id == order_id).exists()
    return (await session.execute(select(issue | execution))).scalar_one()


# -- executions and lots -------------------------------------------------------------------------------------


async def executions(session: AsyncSession, order_id) -> list[tuple[Execution, str | None]]:
    rows = await session.execute(select(Execution, Lot.number).outerjoin(Lot, Lot.id == Execution.lot_id)
                                 .where(Execution.order_id == order_id)
                                 .order_by(Execution.work_date, Execution.created_at, Execution.number))
    return [(e, n) for e, n in rows.all()]


async def execution(session: AsyncSession, execution_id, *, lock: bool = False) -> Execution | None:
    stmt = select(Execution).where(Execution.id == execution_id)
    if lock:
        stmt = stmt.with_for_update(of=Execution).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def backflushed(session: AsyncSession, execution_id) -> list[tuple[MaterialIssue, Decimal]]:
    """The issues a backflushed output made, with each one's movement value now."""
    rows = await session.execute(select(MaterialIssue, StockMovement.value)
                                 .join(StockMovement, StockMovement.id == MaterialIssue.movement_id)
                                 .where(MaterialIssue.execution_id == execution_id, MaterialIssue.quantity > 0))
    return [(i, v) for i, v in rows.all()]


async def lots_for_update(session: AsyncSession, ids) -> dict[uuid.UUID, Lot]:
    ids = sorted(set(ids))
    stmt = (select(Lot).where(Lot.id.in_(ids)).order_by(Lot.id).with_for_update(of=Lot)
            .execution_options(populate_existing=True))
    return {lot.id: lot for lot in (await session.execute(stmt)).scalars()}


async def lot(session: AsyncSession, lot_id, *, lock: bool = False) -> Lot | None:
    stmt = select(Lot).where(Lot.id == lot_id)
    if lock:
        stmt = stmt.with_for_update(of=Lot).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def lot_number_taken(session: AsyncSession, number: str) -> bool:
    return (await session.execute(select(select(Lot.id).where(Lot.number == number).exists()))).scalar_one()


async def product(session: AsyncSession, product_id) -> Product | None:
    return await session.get(Product, product_id)


async def sales_order_line_exists(session: AsyncSession, line_id) -> bool:
    """Whether a sales order line exists (a make-to-order link; read only)."""
    return (await session.execute(select(select(SalesOrderLine.id).where(SalesOrderLine.id == line_id).exists())
                                  )).scalar_one()
