"""The demo seeder's one query."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.models import Product


async def has_products(session: AsyncSession) -> bool:
    """Whether the tenant has any product: the marker that it was seeded (or is in real use)."""
    return bool(await session.scalar(select(exists().where(Product.id.isnot(None)))))
