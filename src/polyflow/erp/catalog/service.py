"""Catalog business rules (the same functions serve the API and the pages)."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.catalog import repository
from polyflow.erp.catalog.schemas import ProductIn, ProductPatch
from polyflow.erp.models import Product
from polyflow.kit.errors import Conflict, NotFound


async def create_product(session: AsyncSession, data: ProductIn) -> Product:
    """Create a product; a SKU already in use is a 409."""
    product = Product(**data.model_dump())
    session.add(product)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"SKU '{data.sku}' is already used by another product") from None
    return product


async def get_product(session: AsyncSession, product_id: uuid.UUID) -> Product:
    """One product of this tenant, or 404."""
    product = await repository.get(session, product_id)
    if product is None:
        raise NotFound("product not found")
    return product


async def update_product(session: AsyncSession, product_id: uuid.UUID, patch: ProductPatch) -> Product:
    """Change the given fields of a product."""
    product = await get_product(session, product_id)
    for key, value in patch.model_dump(exclude_unset=True).items():
        if key == "unit" and value:
            value = value.upper()
        setattr(product, key, value)
    await session.flush()
    await session.refresh(product)
    return product


async def delete_product(session: AsyncSession, product_id: uuid.UUID) -> None:
    """Delete a product (later issues refuse this once stock or documents refer to it)."""
    product = await get_product(session, product_id)
    await session.delete(product)
    await session.flush()


async def list_products(session: AsyncSession, *, q: str | None, limit: int, offset: int):
    return await repository.list_page(session, q=q, limit=limit, offset=offset)
