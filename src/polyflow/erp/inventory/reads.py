"""What other modules read (or lock) of the stock ledger without moving stock: a location's book stock
with its movement watermark and the changes since (stock counts), variant row locks taken in the same
order as every movement takes them (stock counts, production orders), and the current value of given
movements (documents showing the cost of their own movements). Movements themselves are only written
by service.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.inventory import repository
from polyflow.erp.inventory.service import COST
from polyflow.erp.models import Location, Product, ProductVariant, StockLevel, StockMovement


@dataclass(frozen=True)
class SnapshotRow:
    variant_id: uuid.UUID
    sku: str
    on_hand: Decimal
    unit_cost: Decimal  # the moving average, else the buy price, else 0


async def location_snapshot(session: AsyncSession, location_id: uuid.UUID, *, variant_ids=None,
                            product_type: str | None = None) -> tuple[int, list[SnapshotRow]]:
    """Book stock at a location now and the highest movement seq it includes (the watermark). Waits for
    movements under way and holds new ones until the caller's transaction ends, so no movement with a
    lower seq can commit later. Without a filter: every variant with stock there; with one (variant ids
    and/or a product type): the filter's variants, with or without stock there."""
    await repository.hold_movements(session)
    watermark = await repository.last_seq(session)
    rows = await repository.location_stock(session, location_id, variant_ids=variant_ids, product_type=product_type)
    out = []
    for vid, sku, on_hand, qty_total, stock_value, buy_price in rows:
        cost = stock_value / qty_total if qty_total > 0 else (buy_price or Decimal(0))
        out.append(SnapshotRow(vid, sku, on_hand, Decimal(cost).quantize(COST)))
    return watermark, out


async def location_changes(session: AsyncSession, location_id: uuid.UUID, variant_ids, *, after_seq: int = 0,
                           through_seq: int | None = None) -> dict[uuid.UUID, Decimal]:
    """Net quantity moved in (+) or out (-) of a location per variant by the movements with
    after_seq < seq <= through_seq; lock the variants first (lock_variants) for a figure no movement
    under way can change."""
    if not variant_ids:
        return {}
    return await repository.location_changes(session, location_id, list(variant_ids), after_seq=after_seq,
                                             through_seq=through_seq)


async def lock_variants(session: AsyncSession, variant_ids) -> dict[uuid.UUID, ProductVariant]:
    """Lock the variants' rows (in id order) as every movement does first: movements of them under way
    have committed when this returns, and new ones wait for the caller's transaction."""
    return {v.id: v for v in await repository.lock_variants(session, list(variant_ids))} if variant_ids else {}


async def movement_values(session: AsyncSession, ids) -> dict[uuid.UUID, Decimal]:
    """Movement id -> its value now (signed: an issue is negative), after any re-costing by a backdated
    movement; for documents that show the cost of their own movements."""
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    rows = await session.execute(select(StockMovement.id, StockMovement.value).where(StockMovement.id.in_(ids)))
    return {mid: value for mid, value in rows.all()}


async def level_amounts(session: AsyncSession, location_id: uuid.UUID, variant_id: uuid.UUID) -> tuple[Decimal, Decimal]:
    """(on_hand, reserved) of a variant at a location today; zeros when it never held the variant."""
    return await repository.level_amounts(session, location_id, variant_id)


# -- reads for the stock pages (erp/inventory/pages, erp/catalog/pages) ------------------------------------


async def location_codes(session: AsyncSession) -> dict[uuid.UUID, str]:
    """Every location's code by id (movements name their locations by id)."""
    return {lid: code for lid, code in (await session.execute(select(Location.id, Location.code))).all()}


async def variant_labels(session: AsyncSession, variant_ids) -> dict[uuid.UUID, tuple[str, str, str]]:
    """(sku, name, the product's unit) of the given variants, by id."""
    ids = list({i for i in variant_ids if i is not None})
    if not ids:
        return {}
    rows = await session.execute(select(ProductVariant.id, ProductVariant.sku, ProductVariant.name, Product.unit)
                                 .join(Product, Product.id == ProductVariant.product_id)
                                 .where(ProductVariant.id.in_(ids)))
    return {vid: (sku, name, unit) for vid, sku, name, unit in rows.all()}


async def movable_variants(session: AsyncSession, limit: int = 1000) -> list[tuple[str, str, str]]:
    """(sku, name, unit) of the active stock-keeping variants, by SKU: what the stock forms offer."""
    rows = await session.execute(select(ProductVariant.sku, ProductVariant.name, Product.unit)
                                 .join(Product, Product.id == ProductVariant.product_id)
                                 .where(ProductVariant.is_active, Product.is_active,
                                        Product.product_type != "service")
                                 .order_by(ProductVariant.sku).limit(limit))
    return [tuple(r) for r in rows.all()]


async def location_quantities(session: AsyncSession, as_of, *, location_id: uuid.UUID | None = None):
    """(variant id, location id, quantity) held at the end of `as_of`, for every pair that is not zero then:
    today's level less the movements dated after the date (recent dates read few movements)."""
    parts = union_all(
        select(StockLevel.variant_id.label("variant_id"), StockLevel.location_id.label("location_id"),
               StockLevel.on_hand.label("qty")),
        select(StockMovement.variant_id, StockMovement.to_location_id, -StockMovement.quantity)
        .where(StockMovement.posting_date > as_of, StockMovement.to_location_id.is_not(None)),
        select(StockMovement.variant_id, StockMovement.from_location_id, StockMovement.quantity)
        .where(StockMovement.posting_date > as_of, StockMovement.from_location_id.is_not(None)),
    ).subquery()
    qty = func.sum(parts.c.qty)
    stmt = select(parts.c.variant_id, parts.c.location_id, qty).group_by(parts.c.variant_id, parts.c.location_id) \
        .having(qty != literal(0))
    if location_id is not None:
        stmt = stmt.where(parts.c.location_id == location_id)
    return (await session.execute(stmt)).all()


async def reorder_quantities(session: AsyncSession, variant_ids) -> dict[uuid.UUID, Decimal]:
    """The product's reorder quantity of each given variant (what to buy or make when it runs low)."""
    ids = list(variant_ids)
    if not ids:
        return {}
    rows = await session.execute(select(ProductVariant.id, Product.reorder_qty)
                                 .join(Product, Product.id == ProductVariant.product_id)
                                 .where(ProductVariant.id.in_(ids)))
    return {vid: qty for vid, qty in rows.all()}


async def variant_by_sku(session: AsyncSession, sku: str) -> ProductVariant | None:
    """The variant with this SKU (any letter case), or None."""
    return (await session.execute(select(ProductVariant).where(func.upper(ProductVariant.sku) == sku.upper())
                                  .limit(1))).unique().scalar_one_or_none()


async def product_ids(session: AsyncSession, variant_ids) -> dict[uuid.UUID, uuid.UUID]:
    """The product of each given variant (pages link a variant's row to its product)."""
    ids = list(variant_ids)
    if not ids:
        return {}
    rows = await session.execute(select(ProductVariant.id, ProductVariant.product_id)
                                 .where(ProductVariant.id.in_(ids)))
    return {vid: pid for vid, pid in rows.all()}
