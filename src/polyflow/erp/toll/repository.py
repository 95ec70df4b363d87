"""All toll manufacturing queries (its own tables; catalog variants and partners are read for names)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Partner, ProductVariant, TollMaterialMove, TollOrder


async def get_order(session: AsyncSession, order_id: uuid.UUID, *, lock: bool = False) -> TollOrder | None:
    """One toll order; with `lock`, FOR UPDATE until commit and re-read (lines and moves included), so an
    action waiting on another sees what that one wrote."""
    stmt = select(TollOrder).where(TollOrder.id == order_id)
    if lock:
        stmt = stmt.with_for_update(of=TollOrder).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_orders(session: AsyncSession, *, customer_id: uuid.UUID | None, status: str | None, limit: int,
                      offset: int) -> tuple[list[TollOrder], int]:
    filters = []
    if customer_id is not None:
        filters.append(TollOrder.customer_id == customer_id)
    if status is not None:
        filters.append(TollOrder.status == status)
    rows = (await session.execute(
        select(TollOrder, func.count().over()).where(*filters)
        .order_by(TollOrder.order_date.desc(), TollOrder.created_at.desc()).limit(limit).offset(offset))).all()
    if rows:
        return [r[0] for r in rows], rows[0][1]
    if offset == 0:
        return [], 0
    return [], (await session.execute(select(func.count()).select_from(TollOrder).where(*filters))).scalar_one()


async def variants(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, ProductVariant]:
    """Catalog variants by id (with their product), for names, units and checks."""
    ids = list(set(ids))
    if not ids:
        return {}
    rows = (await session.execute(select(ProductVariant).where(ProductVariant.id.in_(ids)))).unique().scalars()
    return {v.id: v for v in rows}


async def partners(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Partner]:
    ids = list(set(ids))
    if not ids:
        return {}
    return {p.id: p for p in (await session.execute(select(Partner).where(Partner.id.in_(ids)))).scalars()}


async def move_totals(session: AsyncSession, as_of: date, customer_id: uuid.UUID | None):
    """(customer_id, variant_id, kind, quantity) summed over every toll order's moves dated on or before
    `as_of`."""
    stmt = (select(TollOrder.customer_id, TollMaterialMove.variant_id, TollMaterialMove.kind,
                   func.sum(TollMaterialMove.quantity))
            .join(TollOrder, TollOrder.id == TollMaterialMove.order_id)
            .where(TollMaterialMove.move_date <= as_of)
            .group_by(TollOrder.customer_id, TollMaterialMove.variant_id, TollMaterialMove.kind))
    if customer_id is not None:
        stmt = stmt.where(TollOrder.customer_id == customer_id)
    return (await session.execute(stmt)).all()
