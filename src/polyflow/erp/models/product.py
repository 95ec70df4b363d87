from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polyflow.kit.db import TenantBase, Timestamps, UUIDPk

PRODUCT_TYPES = ("raw_material", "intermediate", "packaging", "wip", "finished_good", "scrap")


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
    min_stock: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")

    variants: Mapped[list["ProductVariant"]] = relationship(
        back_populates="product", order_by="ProductVariant.sku", cascade="all, delete-orphan",
        passive_deletes=True, lazy="selectin"
    )


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
