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
    stmt = select(Product)
    if q:
        like = "%" + escape_like(q) + "%"
        stmt = stmt.where(or_(Product.sku.ilike(like), Product.name.ilike(like)))
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    rows = (await session.execute(stmt.order_by(Product.sku).limit(limit).offset(offset))).scalars().all()
    return list(rows), total
