from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from polyflow.kit.limits import Day
from polyflow.kit.money import AmountOut, Quantity, UnitCost

LocationKind = Literal["warehouse", "production", "scrap", "transit", "quarantine"]
MovementKind = Literal["IN", "OUT", "TRANSFER", "ADJUSTMENT"]
Reason = Literal["purchase", "opening", "production", "return", "sale", "scrap", "consumption", "count", "other"]
Qty = Decimal


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = Field(min_length=1, max_length=200)
    kind: LocationKind = "warehouse"


class LocationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: LocationKind | None = None
    is_active: bool | None = None


class LocationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    kind: str
    is_active: bool


class MovementIn(BaseModel):
    """A stock movement. The variant by id or SKU; locations by id or code. ADJUSTMENT: `to_location`
    adds stock, `from_location` removes it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: MovementKind
    variant_id: uuid.UUID | None = None
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    quantity: Quantity = Field(gt=0)
    unit: str | None = Field(default=None, min_length=1, max_length=16,
                             description="The product's unit (default) or its sales unit (converted by its factor)")
    from_location: str | None = Field(default=None, min_length=1, max_length=64)
    to_location: str | None = Field(default=None, min_length=1, max_length=64)
    unit_cost: UnitCost | None = Field(default=None, ge=0)
    reason: Reason | None = Field(default=None, description="Default: IN purchase, OUT sale, ADJUSTMENT count; "
                                  "only pairs of the account mapping are valid (e.g. OUT return = to the supplier)")
    counter_account: str | None = Field(default=None, min_length=1, max_length=20,
                                        description="Another account than the reason's: needs accounting.write")
    reference: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=500)
    posting_date: Day | None = None

    @model_validator(mode="after")
    def _shape(self):
        if (self.variant_id is None) == (self.sku is None):
            raise ValueError("give exactly one of variant_id or sku")
        need = {"IN": (False, True), "OUT": (True, False), "TRANSFER": (True, True)}.get(self.kind)
        has = (self.from_location is not None, self.to_location is not None)
        if need is not None and has != need:
            raise ValueError({"IN": "IN needs to_location only", "OUT": "OUT needs from_location only",
                              "TRANSFER": "TRANSFER needs from_location and to_location"}[self.kind])
        if self.kind == "ADJUSTMENT" and has[0] == has[1]:
            raise ValueError("ADJUSTMENT needs to_location (stock found) or from_location (stock lost), not both")
        if self.kind == "TRANSFER" and self.from_location == self.to_location:
            raise ValueError("TRANSFER needs two different locations")
        return self


class MovementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    kind: str
    variant_id: uuid.UUID
    from_location_id: uuid.UUID | None
    to_location_id: uuid.UUID | None
    quantity: Decimal
    unit_cost: Decimal
    value: AmountOut
    reason: str | None
    reference: str | None
    note: str | None
    posting_date: date
    moved_at: datetime
    user_id: uuid.UUID | None
    journal_entry_id: uuid.UUID | None


class StockLevelOut(BaseModel):
    location_id: uuid.UUID
    location_code: str
    variant_id: uuid.UUID
    sku: str
    name: str
    unit: str
    on_hand: Decimal
    reserved: Decimal
    available: Decimal


class ReservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    variant_id: uuid.UUID | None = None
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    location: str = Field(min_length=1, max_length=64)
    quantity: Quantity = Field(gt=0)

    @model_validator(mode="after")
    def _one(self):
        if (self.variant_id is None) == (self.sku is None):
            raise ValueError("give exactly one of variant_id or sku")
        return self


class LowStockRow(BaseModel):
    variant_id: uuid.UUID
    sku: str
    name: str
    unit: str
    on_hand: Decimal
    available: Decimal
    min_stock: Decimal
    shortfall: Decimal


class ValuationRow(BaseModel):
    variant_id: uuid.UUID
    sku: str
    name: str
    product_type: str
    account: str
    quantity: Decimal
    value: AmountOut
    avg_cost: Decimal


class Valuation(BaseModel):
    as_of: date
    rows: list[ValuationRow]
    total_value: AmountOut
    by_account: dict[str, AmountOut]


class HistoryLine(BaseModel):
    movement_id: uuid.UUID
    number: str
    kind: str
    posting_date: date
    moved_at: datetime
    reference: str | None
    quantity_change: Decimal
    balance: Decimal
    value_change: AmountOut


class History(BaseModel):
    variant_id: uuid.UUID
    location_id: uuid.UUID | None
    lines: list[HistoryLine]  # one page (at most `limit`), in posting order; balances run over all movements
    limit: int = 200
    next_cursor: str | None = None  # pass as `cursor` for the next page; None: this page is the last
