"""Catalog business rules (the same functions serve the API and the pages)."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.catalog import repository
from polyflow.erp.catalog.schemas import ProductIn, ProductPatch, VariantIn, VariantPatch
from polyflow.erp.models import Product, ProductVariant
from polyflow.kit.errors import Conflict, InvalidInput, NotFound


async def _check_units(session: AsyncSession, *codes: str | None) -> None:
    for code in codes:
        if code and not await repository.unit_exists(session, code):
            raise InvalidInput(f"unknown unit '{code}'")


async def _flush_or_sku_taken(session: AsyncSession, sku: str) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"SKU '{sku}' is already used by another product") from None


async def create_product(session: AsyncSession, data: ProductIn) -> Product:
    """Create a product and its default variant (same SKU); a SKU already in use is a 409."""
    await _check_units(session, data.unit, data.sales_unit)
    product = Product(**data.model_dump())
    product.variants = [ProductVariant(sku=data.sku, name=data.name, is_default=True, sell_price=data.sell_price,
                                       buy_price=data.buy_price)]
    session.add(product)
    await _flush_or_sku_taken(session, data.sku)
    await session.refresh(product)  # amounts as stored ("21500.00"), as a later read shows them
    for variant in product.variants:
        await session.refresh(variant)
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
    changes = patch.model_dump(exclude_unset=True)
    await _check_units(session, changes.get("unit"), changes.get("sales_unit"))
    if changes.get("product_type") not in (None, product.product_type) \
            and await repository.has_stock_history(session, product_id):
        # Its stock is valued in the old type's inventory account; moving it is an accounting decision.
        raise Conflict("product type cannot change once the product has stock movements")
    if changes.get("unit") not in (None, product.unit) and await repository.has_stock_history(session, product_id):
        # Quantities on hand and in the ledger are in the old unit: relabelling them would change the stock.
        raise Conflict(f"the unit cannot change from {product.unit} once the product has stock or stock movements "
                       "(quantities are kept in it); create a new product instead")
    for key, value in changes.items():
        if value is None and key in ("unit", "is_active", "product_type", "sales_unit_factor", "attributes",
                                     "min_stock", "name"):
            continue  # not nullable: null means "leave as is"
        setattr(product, key, value)
    await session.flush()
    await session.refresh(product)
    return product


async def delete_product(session: AsyncSession, product_id: uuid.UUID) -> None:
    """Delete a product that has never had stock; otherwise 409 (deactivate it instead)."""
    product = await get_product(session, product_id)
    if await repository.has_stock_history(session, product_id):
        raise Conflict("product has stock or stock movements; deactivate it instead (is_active: false)")
    await session.delete(product)
    await session.flush()


async def list_products(session: AsyncSession, *, q: str | None, limit: int, offset: int, **filters):
    return await repository.list_page(session, q=q, limit=limit, offset=offset, **filters)


async def add_variant(session: AsyncSession, product_id: uuid.UUID, data: VariantIn) -> ProductVariant:
    """Add a variant with its own SKU (unique across all products and variants)."""
    await get_product(session, product_id)
    variant = ProductVariant(product_id=product_id, **data.model_dump())
    session.add(variant)
    await _flush_or_sku_taken(session, data.sku)
    await session.refresh(variant)
    return variant


async def get_variant(session: AsyncSession, variant_id: uuid.UUID) -> ProductVariant:
    variant = await repository.get_variant(session, variant_id)
    if variant is None:
        raise NotFound("variant not found")
    return variant


async def update_variant(session: AsyncSession, variant_id: uuid.UUID, patch: VariantPatch) -> ProductVariant:
    variant = await get_variant(session, variant_id)
    for key, value in patch.model_dump(exclude_unset=True).items():
        if value is None and key in ("name", "attributes", "is_active"):
            continue
        setattr(variant, key, value)
    await session.flush()
    await session.refresh(variant)
    return variant
