from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polyflow.kit.db import TenantBase, Timestamps, UUIDPk

PRODUCT_TYPES = ("raw_material", "intermediate", "packaging", "auxiliary", "wip", "finished_good", "scrap", "service")
# actual: output valued at what the order consumed; standard: at `standard_cost`, the rest is a variance.
COSTING_METHODS = ("actual", "standard")


def _in(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Product(UUIDPk, Timestamps, TenantBase):
    """A sellable or stocked item (granules, film rolls, woven bags...). Stock is kept per variant; every
    product has a default variant whose SKU is the product's SKU."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("sku <> ''", name="sku_not_empty"),
        CheckConstraint(_in("product_type", PRODUCT_TYPES), name="product_type"),
        CheckConstraint("sales_unit_factor > 0", name="sales_unit_factor"),
        CheckConstraint("min_stock >= 0", name="min_stock"),
        CheckConstraint(_in("costing_method", COSTING_METHODS), name="costing_method"),
        CheckConstraint("standard_cost >= 0", name="standard_cost"),
        CheckConstraint("costing_method <> 'standard' OR standard_cost IS NOT NULL", name="standard_cost_given"),
        CheckConstraint("reorder_qty >= 0", name="reorder_qty"),
        CheckConstraint("lead_time_days >= 0 AND lead_time_days <= 365", name="lead_time_days"),
        # A service is never stocked, so it has nothing to reorder.
        CheckConstraint("product_type <> 'service' OR (min_stock = 0 AND reorder_qty = 0)", name="service_unstocked"),
    )

    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(16), default="KG")  # primary (stock) unit
    sell_price: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    product_type: Mapped[str] = mapped_column(String(20), default="finished_good", server_default="finished_good")
    sales_unit: Mapped[str | None] = mapped_column(String(16))
    # How many primary units one sales unit holds (1 BAL = 500 PCS -> 500).
    sales_unit_factor: Mapped[Decimal] = mapped_column(Numeric(18, 6), default=Decimal(1), server_default="1")
    buy_price: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    min_stock: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")  # reorder point
    reorder_qty: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")
    # Days from ordering (bought) or starting (made) to having it: MRP starts a proposal this much earlier.
    lead_time_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    costing_method: Mapped[str] = mapped_column(String(10), default="actual", server_default="actual")
    # Per primary unit; also the net realisable value a scrap product is taken into stock at.
    standard_cost: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))

    variants: Mapped[list["ProductVariant"]] = relationship(
        back_populates="product", order_by="ProductVariant.sku", cascade="all, delete-orphan",
        passive_deletes=True, lazy="selectin"
    )
    # Loaded only where asked for (catalog reads them; a stock movement asks catalog.service.unit_factor), so
    # the variant reads on the movement path do not pay a query for them.
    conversions: Mapped[list["ProductUnitConversion"]] = relationship(
        order_by="ProductUnitConversion.unit", cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )


class ProductUnitConversion(TenantBase):
    """One more unit a product is counted in besides its primary unit and its sales unit: `factor` primary
    units per one of it (1 ZAK = 25 KG -> 25). A roll of varying weight has none (its lot carries the kg)."""

    __tablename__ = "product_unit_conversions"
    __table_args__ = (CheckConstraint("factor > 0", name="factor"),)

    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)
    unit: Mapped[str] = mapped_column(String(16), ForeignKey("units.code"), primary_key=True)
    factor: Mapped[Decimal] = mapped_column(Numeric(18, 6))


class ProductVariant(UUIDPk, Timestamps, TenantBase):
    """A stocked variant (colour, size...) with its own SKU. Holds the moving-average valuation: the
    inventory value and quantity over all locations, changed only by stock movements under a row lock."""

    __tablename__ = "product_variants"
    __table_args__ = (
        CheckConstraint("sku <> ''", name="sku_not_empty"),
        CheckConstraint("qty_total >= 0", name="qty_total"),
        CheckConstraint("stock_value >= 0", name="stock_value"),
        CheckConstraint("qty_total > 0 OR stock_value = 0", name="no_value_without_stock"),
        Index("uq_product_variants_default", "product_id", unique=True, postgresql_where=text("is_default")),
    )

    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    buy_price: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    sell_price: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    min_stock: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))  # None: the product's
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    qty_total: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")
    stock_value: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")

    product: Mapped[Product] = relationship(back_populates="variants", lazy="joined")

    @property
    def avg_cost(self) -> Decimal:
        if not self.qty_total:
            return Decimal(0)
        return (self.stock_value / self.qty_total).quantize(Decimal("0.0001"))
