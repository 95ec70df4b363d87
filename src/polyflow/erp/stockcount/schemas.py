"""Stock count (stock opname) API shapes. Quantities are in the product's primary unit unless an entry
says otherwise; amounts are written "21500.00"."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from polyflow.erp.catalog.schemas import ProductType
from polyflow.kit.limits import Day
from polyflow.kit.money import AmountOut, Quantity

CountStatus = Literal["open", "counted", "approved", "cancelled"]
# The most variant ids a count's filter takes, and entries one request records (a tablet's batch).
MAX_FILTER_VARIANTS = 2000
MAX_ENTRIES = 500


class StockCountIn(BaseModel):
    """A count of one location. Without a filter the snapshot lists every variant with stock there; with
    one (a product type and/or variant ids) it lists the filter's variants, with stock there or not."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    location: str = Field(min_length=1, max_length=64, description="location id or code")
    count_date: Day | None = None  # default: today in the company's time zone
    note: str | None = Field(default=None, max_length=2000)
    product_type: ProductType | None = None
    variant_ids: list[uuid.UUID] | None = Field(default=None, min_length=1, max_length=MAX_FILTER_VARIANTS)


class EntryIn(BaseModel):
    """One tally from the floor: several for one variant are summed (two counters, several pallets)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    variant_id: uuid.UUID | None = None
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    counted_qty: Quantity = Field(ge=0)
    unit: str | None = Field(default=None, min_length=1, max_length=16,
                             description="any unit the product converts from; default its primary unit")
    counted_by: str | None = Field(default=None, max_length=100, description="who counted (free text)")
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one(self):
        if (self.variant_id is None) == (self.sku is None):
            raise ValueError("give exactly one of variant_id or sku")
        return self


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zero_uncounted: bool = Field(default=False, description="treat lines nobody counted as counted zero")


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str | None = Field(default=None, max_length=500)


class CountLineOut(BaseModel):
    """A line of the sheet. While the count is open (blind) the book figures are None."""

    variant_id: uuid.UUID
    sku: str
    in_snapshot: bool
    counted_qty: Decimal | None
    entries: int
    snapshot_qty: Decimal | None = None
    snapshot_unit_cost: Decimal | None = None
    expected_qty: Decimal | None = None  # set at approval
    adjustment_qty: Decimal | None = None
    adjustment_value: AmountOut | None = None
    movement_id: uuid.UUID | None = None


class StockCountOut(BaseModel):
    id: uuid.UUID
    number: str
    status: CountStatus
    location_id: uuid.UUID
    location_code: str
    count_date: date
    note: str | None
    product_type: str | None
    blind: bool  # True while open: expected quantities and variances are hidden
    allowed_actions: list[str]
    created_at: datetime
    submitted_at: datetime | None
    approval_date: date | None
    approved_at: datetime | None
    zero_uncounted: bool
    cancelled_at: datetime | None
    cancel_reason: str | None
    lines: list[CountLineOut]


class StockCountSummary(BaseModel):
    id: uuid.UUID
    number: str
    status: CountStatus
    location_id: uuid.UUID
    location_code: str
    count_date: date
    lines: int
    counted_lines: int
    approval_date: date | None


class VarianceRow(BaseModel):
    variant_id: uuid.UUID
    sku: str
    in_snapshot: bool
    snapshot_qty: Decimal
    moved_since: Decimal  # net movements at the location after the snapshot (through approval, once approved)
    expected_qty: Decimal
    counted_qty: Decimal | None  # None: nobody counted it
    variance_qty: Decimal | None  # counted - expected
    unit_cost: Decimal  # the moving average now (at approval, once approved); the buy price when none
    variance_value: AmountOut | None


class Variances(BaseModel):
    count_id: uuid.UUID
    number: str
    status: CountStatus
    rows: list[VarianceRow]
    uncounted: list[str]  # SKUs nobody counted
    total_value: AmountOut  # sum of variance_value (posted values once approved)
