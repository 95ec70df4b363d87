from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from polyflow.kit.limits import Attributes

ProductType = Literal["raw_material", "intermediate", "packaging", "wip", "finished_good", "scrap"]
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"
Price = Field(default=None, ge=0, max_digits=18, decimal_places=2)


def _upper(v: str | None) -> str | None:
    return v.upper() if v else v


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=64, pattern=SKU_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    unit: str = Field(default="KG", min_length=1, max_length=16)
    sell_price: Decimal | None = Price
    product_type: ProductType = "finished_good"
    sales_unit: str | None = Field(default=None, min_length=1, max_length=16)
    sales_unit_factor: Decimal = Field(default=Decimal(1), gt=0, max_digits=18, decimal_places=6)
    buy_price: Decimal | None = Price
    attributes: Attributes = Field(default_factory=dict)
    min_stock: Decimal = Field(default=Decimal(0), ge=0, max_digits=18, decimal_places=3)

    _units = field_validator("unit", "sales_unit")(classmethod(lambda cls, v: _upper(v)))


class ProductPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    unit: str | None = Field(default=None, min_length=1, max_length=16)
    sell_price: Decimal | None = Price
    is_active: bool | None = None
    product_type: ProductType | None = None
    sales_unit: str | None = Field(default=None, min_length=1, max_length=16)
    sales_unit_factor: Decimal | None = Field(default=None, gt=0, max_digits=18, decimal_places=6)
    buy_price: Decimal | None = Price
    attributes: Attributes | None = None
    min_stock: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=3)

    _units = field_validator("unit", "sales_unit")(classmethod(lambda cls, v: _upper(v)))


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=64, pattern=SKU_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    attributes: Attributes = Field(default_factory=dict)
    buy_price: Decimal | None = Price
    sell_price: Decimal | None = Price
    min_stock: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=3)


class VariantPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    attributes: Attributes | None = None
    buy_price: Decimal | None = Price
    sell_price: Decimal | None = Price
    min_stock: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=3)
    is_active: bool | None = None


class VariantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    product_id: uuid.UUID
    sku: str
    name: str
    is_default: bool
    attributes: dict[str, Any]
    buy_price: Decimal | None
    sell_price: Decimal | None
    min_stock: Decimal | None
    is_active: bool
    qty_total: Decimal
    stock_value: Decimal
    avg_cost: Decimal


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sku: str
    name: str
    description: str | None
    unit: str
    sell_price: Decimal | None
    is_active: bool
    product_type: str
    sales_unit: str | None
    sales_unit_factor: Decimal
    buy_price: Decimal | None
    attributes: dict[str, Any]
    min_stock: Decimal
    created_at: datetime
    updated_at: datetime
    variants: list[VariantOut]
