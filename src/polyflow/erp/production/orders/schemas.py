"""Production runs and orders: request and response shapes (quantities in the product's stock unit unless
a `unit` says otherwise; amounts in rupiah)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from polyflow.erp.models.floor import STAGES
from polyflow.erp.models.production import ORDER_STATES, PRIORITIES, SCRAP_KINDS
from polyflow.kit.limits import Day
from polyflow.kit.money import AmountOut, Quantity, UnitCost

Priority = Literal[PRIORITIES]  # type: ignore[valid-type]
Stage = Literal[STAGES]  # type: ignore[valid-type]
ScrapKind = Literal[SCRAP_KINDS]  # type: ignore[valid-type]
Status = Literal[ORDER_STATES]  # type: ignore[valid-type]  (runs have the same states)
LocationRef = str  # an id or a code
Hours = Decimal


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _one_variant(model) -> None:
    if (model.variant_id is None) == (model.sku is None):
        raise ValueError("give exactly one of variant_id or sku")


class RunIn(_In):
    """Make `quantity` of a finished variant through a route (default: the product's default route)."""

    variant_id: uuid.UUID | None = None
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    quantity: Quantity = Field(gt=0)
    route_id: uuid.UUID | None = None
    priority: Priority = "normal"
    planned_start: Day | None = None
    due_date: Day | None = None
    sales_order_line_id: uuid.UUID | None = None
    source_location: LocationRef | None = Field(default=None, min_length=1, max_length=64,
                                                description="Materials and intermediates (default RM-WH)")
    output_location: LocationRef | None = Field(default=None, min_length=1, max_length=64,
                                                description="The finished product (default FG-WH)")
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _shape(self):
        _one_variant(self)
        if self.planned_start and self.due_date and self.due_date < self.planned_start:
            raise ValueError("due_date is before planned_start")
        return self


class OrderIn(_In):
    """A standalone production order (a granulator's regrind order, a rework)."""

    variant_id: uuid.UUID | None = None
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    quantity: Quantity = Field(gt=0)
    bom_id: uuid.UUID | None = None
    stage: Stage | None = None
    machine_id: uuid.UUID | None = None
    priority: Priority = "normal"
    planned_start: Day | None = None
    due_date: Day | None = None
    source_location: LocationRef | None = Field(default=None, min_length=1, max_length=64)
    output_location: LocationRef | None = Field(default=None, min_length=1, max_length=64)
    sales_order_line_id: uuid.UUID | None = None
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _shape(self):
        _one_variant(self)
        return self


class LotPick(_In):
    lot_id: uuid.UUID
    quantity: Quantity = Field(gt=0)


class IssueLineIn(_In):
    variant_id: uuid.UUID | None = None
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    quantity: Quantity = Field(gt=0)
    unit: str | None = Field(default=None, min_length=1, max_length=16)
    lots: list[LotPick] | None = Field(default=None, max_length=50,
                                       description="Which lots it comes from (quantities in the stock unit)")

    @model_validator(mode="after")
    def _shape(self):
        _one_variant(self)
        return self


class IssueIn(_In):
    lines: list[IssueLineIn] = Field(min_length=1, max_length=100)
    date: Day | None = None


class ReturnIn(_In):
    """Unused material back from the floor to the order's source location; `lots` name the lots it goes
    back to (each at most what it gave this order)."""

    lines: list[IssueLineIn] = Field(min_length=1, max_length=100)
    date: Day | None = None
    note: str | None = Field(default=None, max_length=200)


class _Floor(_In):
    machine_id: uuid.UUID | None = None
    operator_id: uuid.UUID | None = None
    shift_id: uuid.UUID | None = None
    work_date: Day | None = Field(default=None, validation_alias=AliasChoices("work_date", "date"),
                                  description="Default today (with a shift: the day it started, so a night "
                                              "shift's record after midnight is yesterday's); `date` is "
                                              "accepted too")
    note: str | None = Field(default=None, max_length=500)


class OutputIn(_Floor):
    """Good output: `quantity` (in `unit`), or a weighed roll's gross and core weight (net = bruto - bobin)."""

    quantity: Quantity | None = Field(default=None, gt=0)
    unit: str | None = Field(default=None, min_length=1, max_length=16)
    gross_weight: Quantity | None = Field(default=None, gt=0)
    core_weight: Quantity | None = Field(default=None, ge=0)
    pieces: int | None = Field(default=None, ge=0, le=100_000_000)
    started_at: datetime | None = None
    ended_at: datetime | None = None
    hours: Quantity | None = Field(default=None, ge=0, le=10_000)
    backflush: bool = False
    lot_number: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _shape(self):
        if (self.gross_weight is None) != (self.core_weight is None):
            raise ValueError("give gross_weight and core_weight together (net = bruto - bobin)")
        if self.gross_weight is not None and self.gross_weight <= self.core_weight:
            raise ValueError("gross_weight must exceed core_weight")
        if self.quantity is None and self.gross_weight is None:
            raise ValueError("give quantity, or gross_weight and core_weight")
        if (self.started_at is None) != (self.ended_at is None):
            raise ValueError("give started_at and ended_at together")
        if self.started_at is not None:
            if self.hours is not None:
                raise ValueError("give hours or started_at/ended_at, not both")
            if self.started_at.tzinfo is None or self.ended_at.tzinfo is None:
                raise ValueError("started_at and ended_at need a time zone (e.g. 2026-11-03T07:00:00+07:00)")
            if self.ended_at <= self.started_at:
                raise ValueError("ended_at must be after started_at")
            if (self.ended_at - self.started_at).total_seconds() > 10_000 * 3600:
                raise ValueError("the period is too long")
        return self


class ScrapIn(_Floor):
    scrap_variant_id: uuid.UUID | None = None
    scrap_sku: str | None = Field(default=None, min_length=1, max_length=64,
                                  validation_alias=AliasChoices("scrap_sku", "sku"))
    scrap_kind: ScrapKind
    quantity: Quantity = Field(gt=0)
    location: LocationRef | None = Field(default=None, min_length=1, max_length=64,
                                         description="Where the scrap goes (default: the scrap warehouse)")

    @model_validator(mode="after")
    def _shape(self):
        if (self.scrap_variant_id is None) == (self.scrap_sku is None):
            raise ValueError("give exactly one of scrap_variant_id or scrap_sku")
        return self


class VoidIn(_In):
    reason: str = Field(min_length=1, max_length=500)
    date: Day | None = None


class CloseIn(_In):
    date: Day | None = None


# -- responses -----------------------------------------------------------------------------------------------


class MaterialOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    line_no: int
    variant_id: uuid.UUID
    sku: str | None = None
    qty_per_unit: Decimal
    is_regrind: bool
    planned_qty: Quantity
    reserved_qty: Quantity
    issued_qty: Quantity
    issued_value: AmountOut = Decimal(0)
    avg_cost: UnitCost = Decimal(0)


class ExecutionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    kind: str
    status: str
    variant_id: uuid.UUID
    scrap_kind: str | None
    machine_id: uuid.UUID | None
    operator_id: uuid.UUID | None
    shift_id: uuid.UUID | None
    work_date: date
    started_at: datetime | None
    ended_at: datetime | None
    hours: Decimal | None
    gross_weight: Quantity | None
    core_weight: Quantity | None
    quantity: Quantity
    pieces: int | None
    unit_cost: UnitCost
    value: AmountOut
    labour_amount: AmountOut
    overhead_amount: AmountOut
    piece_rate: AmountOut | None
    movement_id: uuid.UUID | None
    journal_entry_id: uuid.UUID | None
    lot_id: uuid.UUID | None
    lot_number: str | None = None
    note: str | None
    voided_at: datetime | None
    void_reason: str | None


class CostsOut(BaseModel):
    """The order's WIP sub-ledger summed by kind (signed WIP changes) and the WIP it holds now."""

    material: AmountOut = Decimal(0)
    labour: AmountOut = Decimal(0)
    overhead: AmountOut = Decimal(0)
    output: AmountOut = Decimal(0)
    scrap: AmountOut = Decimal(0)
    variance: AmountOut = Decimal(0)
    wip: AmountOut = Decimal(0)


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str | None
    run_id: uuid.UUID | None
    step_seq: int
    input_order_id: uuid.UUID | None
    status: str
    priority: str
    stage: str
    variant_id: uuid.UUID
    bom_id: uuid.UUID | None
    route_step_id: uuid.UUID | None
    machine_id: uuid.UUID | None
    quantity: Quantity
    qty_output: Quantity
    qty_scrap: Quantity
    source_location_id: uuid.UUID
    output_location_id: uuid.UUID
    planned_start: date | None
    due_date: date | None
    sales_order_line_id: uuid.UUID | None
    note: str | None
    released_at: datetime | None
    closed_on: date | None
    created_at: datetime
    allowed_actions: list[str] = []
    materials: list[MaterialOut] = []
    costs: CostsOut | None = None
    executions: list[ExecutionOut] = []


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str | None
    status: str
    priority: str
    variant_id: uuid.UUID
    route_id: uuid.UUID
    quantity: Quantity
    planned_start: date | None
    due_date: date | None
    sales_order_line_id: uuid.UUID | None
    note: str | None
    released_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    orders: list[OrderOut] = []


class WipOut(BaseModel):
    """What the production orders hold in WIP (1142 beyond the stock ledger) at the end of a date."""

    as_of: date
    wip: AmountOut
