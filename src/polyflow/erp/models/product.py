from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from polyflow.kit.db import TenantBase, Timestamps, UUIDPk


class Product(UUIDPk, Timestamps, TenantBase):
    """A sellable or stocked item (granules, film rolls, woven bags...)."""

    __tablename__ = "products"
    __table_args__ = (CheckConstraint("sku <> ''", name="sku_not_empty"),)

    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(16), default="KG")
    sell_price: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
