"""Catalog business rules (the same functions serve the API and the pages)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.catalog import repository
from polyflow.erp.catalog.schemas import ConversionIn, ProductIn, ProductPatch, VariantIn, VariantPatch
from polyflow.erp.models import Product, ProductUnitConversion, ProductVariant
from polyflow.kit.errors import Conflict, InvalidInput, NotFound


async def _check_units(session: AsyncSession, *codes: str | None) -> None:
    wanted = {code for code in codes if code}
    missing = await repository.missing_units(session, wanted) if wanted else []
    if missing:
        raise InvalidInput(f"unknown unit{'s' if len(missing) > 1 else ''} " + ", ".join(f"'{m}'" for m in missing))


async def _flush_or_sku_taken(session: AsyncSession, sku: str) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"SKU '{sku}' is already used by another product") from None


def _check_rules(product: Product, conversions: list[ConversionIn]) -> None:
    """422 unless the product's fields, as they will be stored, fit together."""
    if product.product_type == "service" and (product.min_stock or product.reorder_qty):
        raise InvalidInput("a service product has no stock: it takes no min_stock or reorder_qty")
    if product.costing_method == "standard" and product.standard_cost is None:
        raise InvalidInput("standard_cost is required when costing_method is 'standard'")
    for c in conversions:
        if c.unit == product.unit:
            raise InvalidInput(f"{c.unit} is the product's primary unit: it needs no conversion")
        if c.unit == product.sales_unit:
            # One factor per unit: the sales unit's is sales_unit_factor.
            raise InvalidInput(f"{c.unit} is the product's sales unit: its factor is sales_unit_factor")


async def create_product(session: AsyncSession, data: ProductIn) -> Product:
    """Create a product and its default variant (same SKU); a SKU already in use is a 409."""
    await _check_units(session, data.unit, data.sales_unit, *(c.unit for c in data.conversions))
    product = Product(**data.model_dump(exclude={"conversions"}))
    _check_rules(product, data.conversions)
    product.conversions = [ProductUnitConversion(unit=c.unit, factor=c.factor) for c in data.conversions]
    product.variants = [ProductVariant(sku=data.sku, name=data.name, is_default=True, sell_price=data.sell_price,
                                       buy_price=data.buy_price)]
    session.add(product)
    await _flush_or_sku_taken(session, data.sku)
    for variant in product.variants:
        await session.refresh(variant)
    # Last: refreshing a variant re-reads its product (joined) and resets the product's unloaded collections,
    # so the conversions (lazy="raise") are loaded after it, never before (the answer read them: a 500).
    return await repository.get(session, product.id)  # amounts as stored ("21500.00"), as a later read shows


async def unit_factor(session: AsyncSession, product: Product, unit: str | None, *,
                      label: str | None = None) -> Decimal:
    """Primary units in one `unit` of the product: 1 for its own unit (or none given), sales_unit_factor for
    its sales unit, else its conversion; 422 naming the units it has (`label`: what the message calls it)."""
    if unit is None or unit.upper() == product.unit:
        return Decimal(1)
    code = unit.upper()
    if product.sales_unit and code == product.sales_unit:
        return product.sales_unit_factor
    factor = await repository.conversion_factor(session, product.id, code)
    if factor is not None:
        return factor
    units = [product.unit] + ([product.sales_unit] if product.sales_unit else []) \
        + await repository.conversion_units(session, product.id)
    listed = units[0] if len(units) == 1 else ", ".join(units[:-1]) + " or " + units[-1]
    raise InvalidInput(f"unknown unit '{code}' for {label or product.sku} (use {listed})")


async def get_product(session: AsyncSession, product_id: uuid.UUID) -> Product:
    """One product of this tenant, or 404."""
    product = await repository.get(session, product_id)
    if product is None:
        raise NotFound("product not found")
    return product


async def update_product(session: AsyncSession, product_id: uuid.UUID, patch: ProductPatch) -> Product:
    """Change the given fields of a product."""
    product = await get_product(session, product_id)
    changes = patch.model_dump(exclude_unset=True, exclude={"conversions"})
    conversions = patch.conversions  # None: keep the product's
    await _check_units(session, changes.get("unit"), changes.get("sales_unit"),
                       *(c.unit for c in conversions or ()))
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
                                     "min_stock", "name", "reorder_qty", "lead_time_days", "costing_method"):
            continue  # not nullable: null means "leave as is"
        setattr(product, key, value)
    if conversions is None:
        conversions = [ConversionIn(unit=c.unit, factor=c.factor) for c in product.conversions]
    else:
        # Replace the list; a unit kept is updated in place (its key is (product, unit)).
        kept = {c.unit: c for c in product.conversions}
        wanted = []
        for c in conversions:
            row = kept.get(c.unit) or ProductUnitConversion(unit=c.unit)
            row.factor = c.factor
            wanted.append(row)
        product.conversions = wanted
    _check_rules(product, conversions)
    await session.flush()
    return await repository.get(session, product_id)


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
    product = await get_product(session, product_id)
    _no_min_stock_for_service(product, data.min_stock)
    variant = ProductVariant(product_id=product_id, **data.model_dump())
    session.add(variant)
    await _flush_or_sku_taken(session, data.sku)
    await session.refresh(variant)
    return variant


def _no_min_stock_for_service(product: Product, min_stock: Decimal | None) -> None:
    if product.product_type == "service" and min_stock:
        raise InvalidInput("a service product has no stock: its variants take no min_stock")


async def get_variant(session: AsyncSession, variant_id: uuid.UUID) -> ProductVariant:
    variant = await repository.get_variant(session, variant_id)
    if variant is None:
        raise NotFound("variant not found")
    return variant


async def update_variant(session: AsyncSession, variant_id: uuid.UUID, patch: VariantPatch) -> ProductVariant:
    variant = await get_variant(session, variant_id)
    _no_min_stock_for_service(variant.product, patch.min_stock)
    for key, value in patch.model_dump(exclude_unset=True).items():
        if value is None and key in ("name", "attributes", "is_active"):
            continue
        setattr(variant, key, value)
    await session.flush()
    await session.refresh(variant)
    return variant
