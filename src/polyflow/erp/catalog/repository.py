"""All catalog queries."""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Product
from polyflow.kit.db import escape_like


async def get(session: AsyncSession, product_id: uuid.UUID) -> Product | None:
    return await session.get(Product, product_id)


async def get_by_sku(session: AsyncSession, sku: str) -> Product | None:
    return (await session.execute(select(Product).where(Product.sku == sku))).scalar_one_or_none()


async def list_page(session: AsyncSession, *, q: str | None, limit: int, offset: int) -> tuple[list[Product], int]:
    """One page and the total in one round trip (count(*) OVER ()); a second query only past the end."""
    filters = []
    if q:
        like = "%" + escape_like(q) + "%"
        filters.append(or_(Product.sku.ilike(like), Product.name.ilike(like)))
    total_col = func.count().over().label("total")
    rows = (
        await session.execute(
            select(Product, total_col).where(*filters).order_by(Product.sku).limit(limit).offset(offset)
        )
    ).all()
    if rows:
        return [r[0] for r in rows], rows[0][1]
    if offset == 0:
        return [], 0
    total = (await session.execute(select(func.count()).select_from(Product).where(*filters))).scalar_one()
    return [], total
