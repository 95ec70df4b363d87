from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from polyflow.kit.limits import Attributes

ProductType = Literal["raw_material", "intermediate", "packaging", "auxiliary", "wip", "finished_good", "scrap",
                      "service"]
CostingMethod = Literal["actual", "standard"]
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"
Price = Field(default=None, ge=0, max_digits=18, decimal_places=2)
StandardCost = Field(default=None, ge=0, max_digits=18, decimal_places=4)  # per primary unit
Quantity = Field(default=Decimal(0), ge=0, max_digits=18, decimal_places=3)
# A year at most: a longer lead time is a planning question, not a date MRP should compute.
MAX_LEAD_TIME_DAYS = 365
LeadTimeDays = Field(default=0, ge=0, le=MAX_LEAD_TIME_DAYS)
MAX_CONVERSIONS = 20

# The specs converters weigh and price by. Numeric ones must be positive numbers when given: production
# and planning compute with them (a bag's weight from gsm x width), so "70 gsm" as text would be useless.
NUMERIC_SPECS = ("denier", "gsm", "width_mm", "thickness_micron")
MESH = re.compile(r"^\d+(\.\d+)?\s*[xX]\s*\d+(\.\d+)?$")  # woven density "10x10" (warp x weft per inch)


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _check_specs(value: dict[str, Any]) -> dict[str, Any]:
    for key in NUMERIC_SPECS:
        if key in value and not _positive(value[key]):
            raise ValueError(f"attributes.{key} must be a positive number, got {value[key]!r}")
    if "mesh" in value and not (_positive(value["mesh"])
                                or isinstance(value["mesh"], str) and MESH.match(value["mesh"].strip())):
        raise ValueError(f"attributes.mesh must be a positive number or warp x weft like '10x10', "
                         f"got {value['mesh']!r}")
    if "color" in value and not (isinstance(value["color"], str) and value["color"].strip()):
        raise ValueError(f"attributes.color must be a non-empty text, got {value['color']!r}")
    return value


SpecAttributes = Annotated[Attributes, AfterValidator(_check_specs)]


def _upper(v: str | None) -> str | None:
    return v.upper() if v else v


class ConversionIn(BaseModel):
    """One more unit of a product: `factor` primary units per one of it (1 ZAK = 25 KG -> 25)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    unit: str = Field(min_length=1, max_length=16)
    factor: Decimal = Field(gt=0, max_digits=18, decimal_places=6)

    _unit = field_validator("unit")(classmethod(lambda cls, v: _upper(v)))


class ConversionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    unit: str
    factor: Decimal


def _distinct_units(conversions: list[ConversionIn] | None) -> list[ConversionIn] | None:
    seen = set()
    for c in conversions or ():
        if c.unit in seen:
            raise ValueError(f"unit {c.unit} is given twice in conversions")
        seen.add(c.unit)
    return conversions


Conversions = Annotated[list[ConversionIn], Field(max_length=MAX_CONVERSIONS), AfterValidator(_distinct_units)]


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
    attributes: SpecAttributes = Field(default_factory=dict)
    min_stock: Decimal = Quantity  # the reorder point (MRP)
    reorder_qty: Decimal = Quantity
    lead_time_days: int = LeadTimeDays  # purchase lead time if bought, production lead time if made (MRP)
    costing_method: CostingMethod = "actual"
    standard_cost: Decimal | None = StandardCost
    conversions: Conversions = Field(default_factory=list)

    _units = field_validator("unit", "sales_unit")(classmethod(lambda cls, v: _upper(v)))

    @model_validator(mode="after")
    def _standard_needs_cost(self):
        if self.costing_method == "standard" and self.standard_cost is None:
            raise ValueError("standard_cost is required when costing_method is 'standard'")
        return self


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
    attributes: SpecAttributes | None = None
    min_stock: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=3)
    reorder_qty: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=3)
    lead_time_days: int | None = Field(default=None, ge=0, le=MAX_LEAD_TIME_DAYS)
    costing_method: CostingMethod | None = None
    standard_cost: Decimal | None = StandardCost
    conversions: Conversions | None = None  # replaces the product's list

    _units = field_validator("unit", "sales_unit")(classmethod(lambda cls, v: _upper(v)))


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=64, pattern=SKU_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    attributes: SpecAttributes = Field(default_factory=dict)
    buy_price: Decimal | None = Price
    sell_price: Decimal | None = Price
    min_stock: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=3)


class VariantPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    attributes: SpecAttributes | None = None
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
    reorder_qty: Decimal
    lead_time_days: int
    costing_method: str
    standard_cost: Decimal | None
    conversions: list[ConversionOut]
    created_at: datetime
    updated_at: datetime
    variants: list[VariantOut]
