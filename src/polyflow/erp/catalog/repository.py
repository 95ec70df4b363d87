"""All catalog queries."""

from __future__ import annotations

import uuid

from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from polyflow.erp.models import Product, ProductUnitConversion, ProductVariant, StockLevel, StockMovement, Unit
from polyflow.kit.db import escape_like

SORTS = {"sku": (Product.sku,), "-sku": (Product.sku.desc(),), "name": (Product.name, Product.sku),
         "-name": (Product.name.desc(), Product.sku), "created": (Product.created_at, Product.sku),
         "-created": (Product.created_at.desc(), Product.sku)}


WITH_CONVERSIONS = selectinload(Product.conversions)


async def get(session: AsyncSession, product_id: uuid.UUID) -> Product | None:
    """The product as stored now (amounts as the database rounds them), with its conversions."""
    stmt = select(Product).where(Product.id == product_id).options(WITH_CONVERSIONS)
    product = (await session.execute(stmt.execution_options(populate_existing=True))).scalar_one_or_none()
    if product is not None:
        # The variants' own eager load of their product (joined) re-populates this same product, and with
        # populate_existing that resets its not-yet-loaded collections; whether it ran before or after the
        # conversions' load depended on the order the loaders ran in (a 500 on POST /products in some test
        # orders). Loading the conversions last, by name, does not depend on it.
        await session.refresh(product, attribute_names=["conversions"])
    return product


async def conversion_factor(session: AsyncSession, product_id: uuid.UUID, unit: str) -> Decimal | None:
    stmt = select(ProductUnitConversion.factor).where(ProductUnitConversion.product_id == product_id,
                                                      ProductUnitConversion.unit == unit)
    return (await session.execute(stmt)).scalar_one_or_none()


async def conversion_units(session: AsyncSession, product_id: uuid.UUID) -> list[str]:
    stmt = select(ProductUnitConversion.unit).where(ProductUnitConversion.product_id == product_id)
    return list((await session.execute(stmt.order_by(ProductUnitConversion.unit))).scalars())


async def get_by_sku(session: AsyncSession, sku: str) -> Product | None:
    return (await session.execute(select(Product).where(Product.sku == sku))).scalar_one_or_none()


async def get_variant(session: AsyncSession, variant_id: uuid.UUID) -> ProductVariant | None:
    return await session.get(ProductVariant, variant_id)


async def missing_units(session: AsyncSession, codes: set[str]) -> list[str]:
    """Those of `codes` that are no active unit."""
    found = set((await session.execute(select(Unit.code).where(Unit.code.in_(codes), Unit.is_active))).scalars())
    return sorted(codes - found)


async def has_stock_history(session: AsyncSession, product_id: uuid.UUID) -> bool:
    variants = select(ProductVariant.id).where(ProductVariant.product_id == product_id)
    moved = select(StockMovement.id).where(StockMovement.variant_id.in_(variants)).limit(1)
    stocked = select(StockLevel.variant_id).where(StockLevel.variant_id.in_(variants)).limit(1)
    return (await session.execute(moved)).first() is not None or (await session.execute(stocked)).first() is not None


async def list_page(session: AsyncSession, *, q: str | None, product_type: str | None = None,
                    active: bool | None = None, sort: str = "sku", limit: int,
                    offset: int) -> tuple[list[Product], int]:
    """One page and the total in one round trip (count(*) OVER ()); a second query only past the end."""
    filters = []
    if q:
        like = "%" + escape_like(q) + "%"
        filters.append(or_(Product.sku.ilike(like), Product.name.ilike(like)))
    if product_type:
        filters.append(Product.product_type == product_type)
    if active is not None:
        filters.append(Product.is_active == active)
    total_col = func.count().over().label("total")
    rows = (
        await session.execute(
            select(Product, total_col).where(*filters).options(WITH_CONVERSIONS).order_by(*SORTS[sort])
            .limit(limit).offset(offset)
        )
    ).all()
    if rows:
        return [r[0] for r in rows], rows[0][1]
    if offset == 0:
        return [], 0
    total = (await session.execute(select(func.count()).select_from(Product).where(*filters))).scalar_one()
    return [], total
