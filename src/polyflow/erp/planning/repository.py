"""Planning's queries. Its own tables (mrp_runs, mrp_proposals) are read and written here; the others are only
READ, each by one small function named after what it reads, as a fixed number of set-based queries per run
(one per kind of figure, over every variant at once) so that a run costs a handful of round trips whatever
the number of variants:

- sales (owned by erp/sales): the open, unreserved quantity of confirmed order lines;
- stock (erp/inventory): on hand - reserved per variant, outside quarantine and scrap locations;
- production (erp/production): default BOMs, open orders' remaining output and unissued, unreserved materials;
- purchasing (erp/purchasing): open purchase orders' unreceived quantity and open purchase requests.

A reservation (sales line or production order material) is already out of `on hand - reserved`, so the
demand it serves counts only its unreserved part: nothing is netted twice."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Location, ProductVariant
from polyflow.erp.models.planning import MrpProposal, MrpRun

# Stock there is not available to orders, sales or MRP.
UNAVAILABLE_LOCATION_KINDS = ("quarantine", "scrap")
OPEN_SALES_ORDER = ("confirmed", "partially_delivered")
OPEN_PRODUCTION_ORDER = ("draft", "released", "in_progress")
# A draft purchase order is counted: it is usually a converted request (or an MRP proposal) on its way out.
OPEN_PURCHASE_ORDER = ("draft", "approved", "partially_received")
OPEN_PURCHASE_REQUEST = ("draft", "submitted", "approved")


async def location(session: AsyncSession, ref: str) -> Location | None:
    """A location by id or code (case-insensitive)."""
    try:
        return await session.get(Location, uuid.UUID(ref))
    except ValueError:
        return (await session.execute(select(Location).where(func.upper(Location.code) == ref.upper()))
                ).scalar_one_or_none()


# -- reads of other modules' tables (one query each, every variant at once) ------------------------------


async def planning_items(session: AsyncSession) -> dict[uuid.UUID, tuple]:
    """variant -> (product_id, product_type, reorder point, reorder qty, sku, lead time days) of every
    variant. An inactive product or variant is not reordered (its open demand is still planned)."""
    rows = await session.execute(text("""
        SELECT v.id, v.product_id, p.product_type,
               CASE WHEN v.is_active AND p.is_active THEN coalesce(v.min_stock, p.min_stock) ELSE 0 END,
               p.reorder_qty, v.sku, p.lead_time_days
        FROM product_variants v JOIN products p ON p.id = v.product_id"""))
    return {r[0]: tuple(r[1:]) for r in rows}


async def default_boms(session: AsyncSession) -> list[tuple]:
    """(product_id, bom_id, output_quantity, expected_scrap_pct, component variant, quantity) of the lines of
    every product's default, active BOM. Regrind lines are left out: regrind is made from the floor's own
    scrap as it arises (a granulator order), not planned."""
    rows = await session.execute(text("""
        SELECT b.product_id, b.id, b.output_quantity, b.expected_scrap_pct, l.variant_id, l.quantity
        FROM boms b JOIN bom_lines l ON l.bom_id = b.id
        WHERE b.is_default AND b.is_active AND NOT l.is_regrind
        ORDER BY b.product_id, l.line_no"""))
    return [tuple(r) for r in rows]


async def available_stock(session: AsyncSession, location_id: uuid.UUID | None) -> dict[uuid.UUID, Decimal]:
    """variant -> on hand - reserved over the locations that count."""
    rows = await session.execute(text("""
        SELECT s.variant_id, sum(s.on_hand - s.reserved)
        FROM stock_levels s JOIN locations l ON l.id = s.location_id
        WHERE l.kind <> ALL(:kinds) AND (CAST(:loc AS uuid) IS NULL OR s.location_id = :loc)
        GROUP BY s.variant_id HAVING sum(s.on_hand - s.reserved) <> 0"""),
        {"kinds": list(UNAVAILABLE_LOCATION_KINDS), "loc": location_id})
    return dict(rows.all())


async def open_sales_lines(session: AsyncSession, horizon_end: date, location_id: uuid.UUID | None) -> list[tuple]:
    """(line id, variant, open unreserved quantity, order date) of confirmed sales order lines dated up to the
    horizon's end. The order date is the only date a sales line has: it is when the goods are due."""
    rows = await session.execute(text("""
        SELECT l.id, l.variant_id, l.quantity - l.qty_delivered - l.qty_reserved, o.order_date
        FROM sales_order_lines l JOIN sales_orders o ON o.id = l.order_id
        WHERE o.status = ANY(:states) AND o.order_date <= :horizon_end
          AND (CAST(:loc AS uuid) IS NULL OR o.location_id = :loc)
          AND l.quantity - l.qty_delivered - l.qty_reserved > 0
        ORDER BY o.order_date, l.id"""),
        {"states": list(OPEN_SALES_ORDER), "horizon_end": horizon_end, "loc": location_id})
    return [tuple(r) for r in rows]


async def open_order_materials(session: AsyncSession, horizon_end: date,
                               location_id: uuid.UUID | None) -> dict[uuid.UUID, tuple[Decimal, date | None]]:
    """variant -> (quantity still to issue, earliest date) of open production orders' materials: the
    unissued, unreserved part of a released order's material lines; a draft order has none yet (they are
    laid out at release), so its BOM is exploded for what it still has to make, with expected scrap.
    Regrind lines are left out, as in the netting."""
    rows = await session.execute(text("""
        WITH open_orders AS (
            SELECT o.id, o.bom_id, greatest(o.quantity - o.qty_output, 0) AS remaining,
                   coalesce(o.planned_start, o.due_date) AS needed_on,
                   EXISTS (SELECT 1 FROM production_order_materials m WHERE m.order_id = o.id) AS laid_out
            FROM production_orders o
            WHERE o.status = ANY(:states) AND (o.due_date IS NULL OR o.due_date <= :horizon_end)
              AND (CAST(:loc AS uuid) IS NULL OR o.source_location_id = :loc)
        )
        SELECT variant_id, sum(qty), min(needed_on) FROM (
            SELECT m.variant_id, greatest(m.planned_qty - m.issued_qty - m.reserved_qty, 0) AS qty, o.needed_on
            FROM open_orders o JOIN production_order_materials m ON m.order_id = o.id
            WHERE o.laid_out AND NOT m.is_regrind
            UNION ALL
            SELECT l.variant_id, o.remaining * l.quantity / b.output_quantity * (1 + b.expected_scrap_pct / 100),
                   o.needed_on
            FROM open_orders o JOIN boms b ON b.id = o.bom_id JOIN bom_lines l ON l.bom_id = b.id
            WHERE NOT o.laid_out AND NOT l.is_regrind
        ) s GROUP BY variant_id HAVING sum(qty) > 0"""),
        {"states": list(OPEN_PRODUCTION_ORDER), "horizon_end": horizon_end, "loc": location_id})
    return {r[0]: (r[1], r[2]) for r in rows}


async def open_supply(session: AsyncSession, horizon_end: date,
                      location_id: uuid.UUID | None) -> dict[uuid.UUID, Decimal]:
    """variant -> what is already coming by the horizon's end: open production orders' remaining output,
    open purchase orders' unreceived quantity, open purchase requests. Purchase documents carry no location
    (the receipt picks it), so they count whatever the location filter."""
    rows = await session.execute(text("""
        SELECT variant_id, sum(qty) FROM (
            SELECT o.variant_id, greatest(o.quantity - o.qty_output, 0) AS qty
            FROM production_orders o
            WHERE o.status = ANY(:production) AND (o.due_date IS NULL OR o.due_date <= :horizon_end)
              AND (CAST(:loc AS uuid) IS NULL OR o.output_location_id = :loc)
            UNION ALL
            SELECT l.variant_id, greatest(l.quantity - l.qty_received, 0)
            FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.order_id
            WHERE o.status = ANY(:purchase) AND (o.expected_date IS NULL OR o.expected_date <= :horizon_end)
            UNION ALL
            SELECT l.variant_id, l.quantity
            FROM purchase_request_lines l JOIN purchase_requests r ON r.id = l.request_id
            WHERE r.status = ANY(:requests) AND (l.needed_by IS NULL OR l.needed_by <= :horizon_end)
        ) s GROUP BY variant_id HAVING sum(qty) > 0"""),
        {"production": list(OPEN_PRODUCTION_ORDER), "purchase": list(OPEN_PURCHASE_ORDER),
         "requests": list(OPEN_PURCHASE_REQUEST), "horizon_end": horizon_end, "loc": location_id})
    return dict(rows.all())


# -- planning's own tables ----------------------------------------------------------------------------------


async def lock_runs(session: AsyncSession) -> None:
    """One MRP run at a time per tenant (until commit): two runs would supersede each other's proposals."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('polyflow.mrp_run'))"))


async def supersede_proposed(session: AsyncSession, new_run_id: uuid.UUID) -> int:
    """Mark every still-proposed proposal of earlier runs superseded; how many."""
    result = await session.execute(update(MrpProposal).where(MrpProposal.status == "proposed",
                                                             MrpProposal.run_id != new_run_id)
                                   .values(status="superseded").execution_options(synchronize_session=False))
    return result.rowcount or 0


async def insert_proposals(session: AsyncSession, rows: list[dict]) -> None:
    if rows:
        await session.execute(MrpProposal.__table__.insert(), rows)


async def get_run(session: AsyncSession, run_id: uuid.UUID) -> MrpRun | None:
    return await session.get(MrpRun, run_id)


async def list_runs(session: AsyncSession, *, limit: int, offset: int) -> tuple[list[MrpRun], int]:
    total = func.count().over()
    rows = (await session.execute(select(MrpRun, total).order_by(MrpRun.created_at.desc(), MrpRun.id.desc())
                                  .limit(limit).offset(offset))).all()
    if not rows and offset:
        return [], await session.scalar(select(func.count()).select_from(MrpRun))
    return [r[0] for r in rows], (rows[0][1] if rows else 0)


async def list_proposals(session: AsyncSession, run_id: uuid.UUID, *, kind: str | None, status: str | None,
                         limit: int, offset: int) -> tuple[list[tuple[MrpProposal, str]], int]:
    """A page of a run's proposals (level, then SKU) with each variant's SKU, and how many match."""
    filters = [MrpProposal.run_id == run_id]
    if kind:
        filters.append(MrpProposal.kind == kind)
    if status:
        filters.append(MrpProposal.status == status)
    total = func.count().over()
    rows = (await session.execute(
        select(MrpProposal, ProductVariant.sku, total).join(ProductVariant, ProductVariant.id == MrpProposal.variant_id)
        .where(*filters).order_by(MrpProposal.level, ProductVariant.sku).limit(limit).offset(offset))).all()
    if not rows and offset:
        return [], await session.scalar(select(func.count()).select_from(MrpProposal).where(*filters))
    return [(r[0], r[1]) for r in rows], (rows[0][2] if rows else 0)


async def proposals_for_update(session: AsyncSession, ids: list[uuid.UUID]) -> list[tuple[MrpProposal, str]]:
    """The proposals (with SKUs) locked for the decision, in a fixed order (no deadlock between two planners)."""
    rows = (await session.execute(
        select(MrpProposal, ProductVariant.sku).join(ProductVariant, ProductVariant.id == MrpProposal.variant_id)
        .where(MrpProposal.id.in_(ids)).order_by(MrpProposal.id).with_for_update(of=MrpProposal))).all()
    return [(r[0], r[1]) for r in rows]
