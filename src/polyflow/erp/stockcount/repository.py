"""All stock count queries. Stock figures come from inventory's public reads (erp/inventory/service.py),
never from the ledger tables directly."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Location, ProductVariant, StockCount, StockCountEntry, StockCountLine


async def get_count(session: AsyncSession, count_id: uuid.UUID, *, for_update: bool = False) -> StockCount | None:
    """A count with its lines; `for_update` locks its row: the actions on one count run one at a time."""
    stmt = select(StockCount).where(StockCount.id == count_id)
    if for_update:
        stmt = stmt.with_for_update(of=StockCount)
    return (await session.execute(stmt)).scalar_one_or_none()


async def location(session: AsyncSession, ref: str) -> Location | None:
    try:
        return await session.get(Location, uuid.UUID(ref))
    except ValueError:
        return (await session.execute(select(Location).where(func.upper(Location.code) == ref.upper()))
                ).scalar_one_or_none()


async def location_code(session: AsyncSession, location_id: uuid.UUID) -> str:
    return (await session.execute(select(Location.code).where(Location.id == location_id))).scalar_one()


async def active_count_at(session: AsyncSession, location_id: uuid.UUID) -> str | None:
    """The number of the open or counted count of the location, if any."""
    return (await session.execute(select(StockCount.number).where(
        StockCount.location_id == location_id, StockCount.status.in_(("open", "counted"))))).scalars().first()


async def existing_variant_ids(session: AsyncSession, ids) -> set[uuid.UUID]:
    return set((await session.execute(select(ProductVariant.id).where(ProductVariant.id.in_(ids)))).scalars())


async def entry_counts(session: AsyncSession, count_id: uuid.UUID) -> dict[uuid.UUID, int]:
    rows = await session.execute(select(StockCountEntry.line_id, func.count()).where(
        StockCountEntry.count_id == count_id).group_by(StockCountEntry.line_id))
    return {line_id: n for line_id, n in rows.all()}


async def list_counts(session: AsyncSession, *, status, location_id, limit: int, offset: int):
    """(rows of (count, location code, lines, counted lines), total), newest first."""
    filters = []
    if status:
        filters.append(StockCount.status == status)
    if location_id:
        filters.append(StockCount.location_id == location_id)
    lines = (select(func.count()).where(StockCountLine.count_id == StockCount.id)
             .correlate(StockCount).scalar_subquery())
    counted = (select(func.count()).where(StockCountLine.count_id == StockCount.id,
                                          StockCountLine.counted_qty.is_not(None))
               .correlate(StockCount).scalar_subquery())
    stmt = (select(StockCount, Location.code, lines, counted, func.count().over())
            .join(Location, Location.id == StockCount.location_id).where(*filters)
            .order_by(StockCount.created_at.desc(), StockCount.number.desc()).limit(limit).offset(offset))
    rows = (await session.execute(stmt)).all()
    if rows:
        return [r[:4] for r in rows], rows[0][4]
    total = (await session.execute(select(func.count()).select_from(StockCount).where(*filters))).scalar_one()
    return [], total


async def variants_by_ids(session: AsyncSession, ids) -> dict[uuid.UUID, ProductVariant]:
    if not ids:
        return {}
    rows = await session.execute(select(ProductVariant).where(ProductVariant.id.in_(list(ids))))
    return {v.id: v for v in rows.unique().scalars()}


async def variants_by_refs(session: AsyncSession, ids, skus) -> tuple[dict, dict]:
    """(id -> variant, sku -> variant) of the variants named by id or by SKU, in one query."""
    ids, skus = list(set(ids)), list(set(skus))
    if not ids and not skus:
        return {}, {}
    stmt = select(ProductVariant).where(ProductVariant.id.in_(ids) | ProductVariant.sku.in_(skus))
    found = list((await session.execute(stmt)).unique().scalars())
    return {v.id: v for v in found}, {v.sku: v for v in found}
