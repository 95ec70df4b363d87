"""All queries of lots, their consumption, traceability and inspections."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import (
    Execution, GoodsReceipt, GoodsReceiptLine, Inspection, Location, Lot, LotConsumption, Machine, Operator, Partner,
    ProductionOrder, ProductVariant, Shift, StockMovement,
)
from polyflow.kit.db import escape_like


async def lot(session: AsyncSession, lot_id: uuid.UUID, *, lock: bool = False) -> Lot | None:
    """One lot; `lock`: FOR UPDATE, re-read (an inspection and an issue of the same lot wait for each other)."""
    stmt = select(Lot).where(Lot.id == lot_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def lot_number_taken(session: AsyncSession, number: str) -> bool:
    return (await session.execute(select(Lot.id).where(Lot.number == number))).first() is not None


async def claimed_in_lots(session: AsyncSession, variant_id: uuid.UUID, location_id: uuid.UUID):
    """What the variant's live lots at the location still claim (sum of remaining). Two opening lots of
    one variant and location queue here (until commit), so the second sees the first's claim."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                          {"key": f"lots:opening:{variant_id}:{location_id}"})
    return (await session.execute(
        select(func.coalesce(func.sum(Lot.remaining), 0)).where(
            Lot.variant_id == variant_id, Lot.location_id == location_id,
            Lot.status.in_(("available", "quarantine", "rejected")))
    )).scalar_one()


async def variant(session: AsyncSession, *, variant_id: uuid.UUID | None = None,
                  sku: str | None = None) -> ProductVariant | None:
    stmt = select(ProductVariant)
    stmt = stmt.where(ProductVariant.id == variant_id) if variant_id is not None else \
        stmt.where(ProductVariant.sku == sku)
    return (await session.execute(stmt)).scalar_one_or_none()


async def location(session: AsyncSession, ref: str) -> Location | None:
    """A location by id or code."""
    try:
        return await session.get(Location, uuid.UUID(ref))
    except ValueError:
        return (await session.execute(select(Location).where(Location.code == ref.upper()))).scalar_one_or_none()


async def partner(session: AsyncSession, partner_id: uuid.UUID) -> Partner | None:
    return await session.get(Partner, partner_id)


def _list_filters(*, variant_id, sku, kind, status, supplier_lot_no, location_id, produced_from, produced_to,
                  q) -> list:
    filters = []
    if variant_id is not None:
        filters.append(Lot.variant_id == variant_id)
    if sku is not None:
        filters.append(Lot.variant_id.in_(select(ProductVariant.id).where(ProductVariant.sku == sku)))
    if kind is not None:
        filters.append(Lot.kind == kind)
    if status is not None:
        filters.append(Lot.status == status)
    if supplier_lot_no is not None:
        filters.append(Lot.supplier_lot_no == supplier_lot_no)
    if location_id is not None:
        filters.append(Lot.location_id == location_id)
    if produced_from is not None:
        filters.append(Lot.produced_on >= produced_from)
    if produced_to is not None:
        filters.append(Lot.produced_on <= produced_to)
    if q:
        like = "%" + escape_like(q) + "%"
        filters.append(Lot.number.ilike(like) | Lot.supplier_lot_no.ilike(like))
    return filters


async def list_lots(session: AsyncSession, *, limit: int, offset: int, **filters):
    """Newest first, with the variant's SKU and the location's code, and the total."""
    where = _list_filters(**filters)
    rows = (await session.execute(
        select(Lot, ProductVariant.sku, Location.code, func.count().over())
        .join(ProductVariant, ProductVariant.id == Lot.variant_id)
        .outerjoin(Location, Location.id == Lot.location_id)
        .where(*where).order_by(Lot.created_at.desc(), Lot.id).limit(limit).offset(offset)
    )).all()
    if rows:
        return [(r[0], r[1], r[2]) for r in rows], rows[0][3]
    if offset == 0:
        return [], 0
    return [], (await session.execute(select(func.count()).select_from(Lot).where(*where))).scalar_one()


async def sku_and_code(session: AsyncSession, lot_row: Lot) -> tuple[str | None, str | None]:
    sku = (await session.execute(select(ProductVariant.sku).where(ProductVariant.id == lot_row.variant_id))).scalar()
    code = None
    if lot_row.location_id is not None:
        code = (await session.execute(select(Location.code).where(Location.id == lot_row.location_id))).scalar()
    return sku, code


async def receipt_origin(session: AsyncSession, line_id: uuid.UUID):
    """(goods receipt, its line, the supplier) of a supplier lot."""
    return (await session.execute(
        select(GoodsReceipt, GoodsReceiptLine, Partner)
        .join(GoodsReceiptLine, GoodsReceiptLine.receipt_id == GoodsReceipt.id)
        .join(Partner, Partner.id == GoodsReceipt.partner_id)
        .where(GoodsReceiptLine.id == line_id)
    )).first()


async def execution_origin(session: AsyncSession, execution_id: uuid.UUID):
    """(execution, its order, machine, operator, shift) of a produced lot."""
    return (await session.execute(
        select(Execution, ProductionOrder, Machine, Operator, Shift)
        .join(ProductionOrder, ProductionOrder.id == Execution.order_id)
        .outerjoin(Machine, Machine.id == Execution.machine_id)
        .outerjoin(Operator, Operator.id == Execution.operator_id)
        .outerjoin(Shift, Shift.id == Execution.shift_id)
        .where(Execution.id == execution_id)
    )).first()


async def consumptions(session: AsyncSession, lot_id: uuid.UUID):
    """The lot's consumption rows with their orders, oldest first."""
    return (await session.execute(
        select(LotConsumption, ProductionOrder.number, ProductionOrder.stage)
        .join(ProductionOrder, ProductionOrder.id == LotConsumption.order_id)
        .where(LotConsumption.lot_id == lot_id)
        .order_by(LotConsumption.consumed_on, ProductionOrder.number, LotConsumption.id)
    )).all()


def _inspections_query():
    return (select(Inspection, Lot.number, StockMovement.kind)
            .join(Lot, Lot.id == Inspection.lot_id)
            .outerjoin(StockMovement, StockMovement.id == Inspection.movement_id))


async def inspections_of(session: AsyncSession, lot_id: uuid.UUID):
    return (await session.execute(
        _inspections_query().where(Inspection.lot_id == lot_id)
        .order_by(Inspection.inspected_on, Inspection.created_at, Inspection.id))).all()


async def inspection(session: AsyncSession, inspection_id: uuid.UUID):
    return (await session.execute(_inspections_query().where(Inspection.id == inspection_id))).first()


async def list_inspections(session: AsyncSession, *, lot_id: uuid.UUID | None, result: str | None,
                           date_from: date | None, date_to: date | None, limit: int, offset: int):
    """Newest first, with the total."""
    where = []
    if lot_id is not None:
        where.append(Inspection.lot_id == lot_id)
    if result is not None:
        where.append(Inspection.result == result)
    if date_from is not None:
        where.append(Inspection.inspected_on >= date_from)
    if date_to is not None:
        where.append(Inspection.inspected_on <= date_to)
    rows = (await session.execute(
        _inspections_query().add_columns(func.count().over()).where(*where)
        .order_by(Inspection.inspected_on.desc(), Inspection.created_at.desc(), Inspection.id)
        .limit(limit).offset(offset))).all()
    if rows:
        return [tuple(r[:3]) for r in rows], rows[0][3]
    if offset == 0:
        return [], 0
    return [], (await session.execute(select(func.count()).select_from(Inspection).where(*where))).scalar_one()


async def quarantine_location(session: AsyncSession, code: str) -> Location | None:
    return (await session.execute(select(Location).where(Location.code == code))).scalar_one_or_none()


# -- traceability --------------------------------------------------------------------------------------------
# One recursive walk per direction over lots and orders (alternating): a lot -> the order that produced it
# (back) or the orders that consumed it (forward); an order -> the lots it consumed (back) or produced
# (forward). An order that took its input order's output without naming a lot (no consumption row of any
# lot of that order) is linked to all of that order's output lots ("input_order"). UNION (not UNION ALL)
# drops repeated (node, depth, parent) rows, so a diamond costs rows in nodes x depth, never in paths.
# The walk goes one step past the bound: a row there says the answer was cut (`truncated`).

_NO_LOT_OF_INPUT = """NOT EXISTS (
              SELECT 1 FROM lot_consumptions nc
              JOIN lots nl ON nl.id = nc.lot_id
              JOIN production_executions nx ON nx.id = nl.execution_id
              WHERE nc.order_id = o.id AND nx.order_id = o.input_order_id)"""

_BACK_STEP = f"""
        SELECT 'order'::text AS kind, x.order_id AS id, 'produced'::text AS link, l.quantity AS quantity
          FROM lots l JOIN production_executions x ON x.id = l.execution_id
         WHERE w.kind = 'lot' AND l.id = w.id
        UNION ALL
        SELECT 'lot', lc.lot_id, 'consumed', sum(lc.quantity)
          FROM lot_consumptions lc
         WHERE w.kind = 'order' AND lc.order_id = w.id
         GROUP BY lc.lot_id HAVING sum(lc.quantity) > 0
        UNION ALL
        SELECT 'lot', l.id, 'input_order', NULL::numeric
          FROM production_orders o
          JOIN production_executions x ON x.order_id = o.input_order_id AND x.kind = 'output'
          JOIN lots l ON l.execution_id = x.id AND l.status <> 'voided'
         WHERE w.kind = 'order' AND o.id = w.id AND {_NO_LOT_OF_INPUT}"""

_FORWARD_STEP = f"""
        SELECT 'order'::text AS kind, lc.order_id AS id, 'consumed'::text AS link, sum(lc.quantity) AS quantity
          FROM lot_consumptions lc
         WHERE w.kind = 'lot' AND lc.lot_id = w.id
         GROUP BY lc.order_id HAVING sum(lc.quantity) > 0
        UNION ALL
        SELECT 'order', o.id, 'input_order', NULL::numeric
          FROM lots l
          JOIN production_executions x ON x.id = l.execution_id
          JOIN production_orders po ON po.id = x.order_id AND po.run_id IS NOT NULL
          -- input_order_id links the steps of one run: found through the run's index (input_order_id has none)
          JOIN production_orders o ON o.run_id = po.run_id AND o.input_order_id = po.id
         WHERE w.kind = 'lot' AND l.id = w.id AND l.status <> 'voided' AND {_NO_LOT_OF_INPUT}
        UNION ALL
        SELECT 'lot', l.id, 'produced', l.quantity
          FROM production_executions x JOIN lots l ON l.execution_id = x.id AND l.status <> 'voided'
         WHERE w.kind = 'order' AND x.order_id = w.id"""

_TRACE = """
WITH RECURSIVE walk(kind, id, depth, parent_kind, parent_id, link, quantity) AS (
    SELECT 'lot'::text, CAST(:lot_id AS uuid), 0, NULL::text, NULL::uuid, NULL::text, NULL::numeric
    UNION
    SELECT step.kind, step.id, w.depth + 1, w.kind, w.id, step.link, step.quantity
      FROM walk w
      CROSS JOIN LATERAL ({step}) step
     WHERE w.depth <= :max_depth
), edges AS (
    SELECT kind, id, parent_kind, parent_id, link, quantity, min(depth) AS depth
      FROM walk GROUP BY kind, id, parent_kind, parent_id, link, quantity
)
SELECT e.depth, e.kind, e.id, e.parent_kind, e.parent_id, e.link, e.quantity,
       l.number AS lot_number, l.kind AS lot_kind, l.status AS lot_status, l.variant_id AS lot_variant_id,
       lv.sku AS lot_sku, l.quantity AS lot_quantity, l.remaining AS lot_remaining, loc.code AS location_code,
       l.produced_on, l.supplier_lot_no, p.id AS partner_id, p.code AS partner_code, p.name AS partner_name,
       gr.number AS receipt_number,
       x.id AS execution_id, x.number AS execution_number, x.status AS execution_status, x.work_date,
       xo.id AS x_order_id, xo.number AS x_order_number, xo.stage AS x_stage,
       m.id AS machine_id, m.code AS machine_code, m.name AS machine_name,
       op.id AS operator_id, op.code AS operator_code, op.name AS operator_name,
       s.id AS shift_id, s.code AS shift_code, s.name AS shift_name,
       o.number AS order_number, o.stage AS order_stage, o.status AS order_status, o.variant_id AS order_variant_id,
       ov.sku AS order_sku, o.quantity AS order_quantity, o.input_order_id,
       om.id AS order_machine_id, om.code AS order_machine_code, om.name AS order_machine_name
  FROM edges e
  LEFT JOIN lots l ON e.kind = 'lot' AND l.id = e.id
  LEFT JOIN product_variants lv ON lv.id = l.variant_id
  LEFT JOIN locations loc ON loc.id = l.location_id
  LEFT JOIN partners p ON p.id = l.partner_id
  LEFT JOIN goods_receipt_lines grl ON grl.id = l.goods_receipt_line_id
  LEFT JOIN goods_receipts gr ON gr.id = grl.receipt_id
  LEFT JOIN production_executions x ON x.id = l.execution_id
  LEFT JOIN production_orders xo ON xo.id = x.order_id
  LEFT JOIN machines m ON m.id = x.machine_id
  LEFT JOIN operators op ON op.id = x.operator_id
  LEFT JOIN shifts s ON s.id = x.shift_id
  LEFT JOIN production_orders o ON e.kind = 'order' AND o.id = e.id
  LEFT JOIN product_variants ov ON ov.id = o.variant_id
  LEFT JOIN machines om ON om.id = o.machine_id
 ORDER BY e.depth, e.kind, coalesce(l.number, o.number), e.parent_id
"""

TRACE_SQL = {"back": text(_TRACE.format(step=_BACK_STEP)), "forward": text(_TRACE.format(step=_FORWARD_STEP))}


async def trace(session: AsyncSession, lot_id: uuid.UUID, direction: str, max_depth: int):
    """Every (node, parent) the walk reaches from the lot within max_depth + 1 steps, with its details."""
    return (await session.execute(TRACE_SQL[direction], {"lot_id": lot_id, "max_depth": max_depth})).mappings().all()
