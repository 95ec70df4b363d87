"""Lots, their traceability and quality inspections: request and response bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from polyflow.kit.limits import Attributes, Day
from polyflow.kit.money import Quantity

LotKind = Literal["supplier", "roll", "bale", "batch", "regrind"]
LotStatus = Literal["available", "quarantine", "rejected", "consumed", "voided"]
InspectionResult = Literal["pass", "fail", "quarantine"]
Direction = Literal["back", "forward", "both"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# -- lots --------------------------------------------------------------------------------------------------


class OpeningLotIn(_In):
    """A lot for stock already on hand (taken on with its lot number): it records the lot, it moves no stock."""

    variant_id: uuid.UUID | None = None
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    kind: LotKind = "supplier"
    number: str | None = Field(default=None, min_length=1, max_length=64,
                               pattern=r"^[A-Za-z0-9][A-Za-z0-9./_-]*$",
                               description="Default: the next LT-<year>-<n>")
    location: str = Field(min_length=1, max_length=64, description="Location id or code holding the stock")
    quantity: Quantity = Field(gt=0, description="In the product's stock unit")
    supplier_lot_no: str | None = Field(default=None, min_length=1, max_length=64)
    partner_id: uuid.UUID | None = None
    produced_on: Day | None = None
    gross_weight: Quantity | None = Field(default=None, gt=0)
    core_weight: Quantity | None = Field(default=None, ge=0)
    pieces: int | None = Field(default=None, ge=0, le=10_000_000)
    attributes: Attributes = Field(default_factory=dict)
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _shape(self):
        if (self.variant_id is None) == (self.sku is None):
            raise ValueError("give exactly one of variant_id or sku")
        if self.core_weight is not None and self.gross_weight is None:
            raise ValueError("core_weight needs gross_weight")
        if self.gross_weight is not None and self.core_weight is not None and self.core_weight >= self.gross_weight:
            raise ValueError("core_weight must be below gross_weight")
        return self


class Ref(BaseModel):
    """A record named by its id, its code or number, and its name."""

    id: uuid.UUID
    code: str | None = None
    name: str | None = None


class LotOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    kind: str
    status: str
    variant_id: uuid.UUID
    sku: str | None = None
    location_id: uuid.UUID | None
    location_code: str | None = None
    quantity: Quantity
    remaining: Quantity
    gross_weight: Quantity | None
    core_weight: Quantity | None
    net_weight: Quantity | None
    pieces: int | None
    supplier_lot_no: str | None
    partner_id: uuid.UUID | None
    goods_receipt_line_id: uuid.UUID | None
    execution_id: uuid.UUID | None
    produced_on: date | None
    attributes: dict
    note: str | None
    created_at: datetime


class ReceiptOrigin(BaseModel):
    """Where a supplier lot came from: a goods receipt line of a purchase order."""

    goods_receipt_id: uuid.UUID
    goods_receipt_number: str
    receipt_date: date
    goods_receipt_line_id: uuid.UUID
    purchase_order_id: uuid.UUID
    partner: Ref


class ExecutionOrigin(BaseModel):
    """Where a produced lot came from: an output execution of a production order, on the floor."""

    execution_id: uuid.UUID
    execution_number: str
    execution_status: str
    work_date: date
    order_id: uuid.UUID
    order_number: str | None
    stage: str
    machine: Ref | None
    operator: Ref | None
    shift: Ref | None


class ConsumptionOut(BaseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    order_number: str | None
    stage: str
    issue_id: uuid.UUID | None
    quantity: Quantity
    consumed_on: date


class InspectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    lot_id: uuid.UUID
    lot_number: str | None = None
    result: str
    inspected_on: date
    inspector: str | None
    checks: dict
    note: str | None
    movement_id: uuid.UUID | None
    # What the inspection did to the stock: moved into / out of quarantine, scrapped, or nothing.
    action: str | None = None
    created_by: uuid.UUID | None
    created_at: datetime


class LotDetail(LotOut):
    receipt: ReceiptOrigin | None = None
    execution: ExecutionOrigin | None = None
    consumptions: list[ConsumptionOut] = []
    inspections: list[InspectionOut] = []


# -- trace -------------------------------------------------------------------------------------------------


class TraceLot(BaseModel):
    number: str
    kind: str
    status: str
    variant_id: uuid.UUID
    sku: str
    quantity: Quantity
    remaining: Quantity
    location_code: str | None
    produced_on: date | None
    supplier_lot_no: str | None
    supplier: Ref | None
    goods_receipt_number: str | None
    execution: ExecutionOrigin | None


class TraceOrder(BaseModel):
    number: str | None
    stage: str
    status: str
    variant_id: uuid.UUID
    sku: str
    quantity: Quantity
    input_order_id: uuid.UUID | None
    machine: Ref | None


class TraceNode(BaseModel):
    """One step of a trace: a lot or an order, `depth` steps from the start, reached from `parent`.
    A node reached along several paths appears once per parent (the smallest depth each)."""

    depth: int
    kind: Literal["lot", "order"]
    id: uuid.UUID
    parent_kind: Literal["lot", "order"] | None
    parent_id: uuid.UUID | None
    # lot -> order: the order that consumed (forward) or produced (back) the lot; order -> lot: how
    # much of the lot the order took (`consumed`), or the input order's output taken without a lot
    # named (`input_order`), or the lot the order produced (`produced`).
    link: Literal["consumed", "input_order", "produced"] | None
    quantity: Quantity | None
    lot: TraceLot | None = None
    order: TraceOrder | None = None


class TraceOut(BaseModel):
    lot_id: uuid.UUID
    direction: Direction
    max_depth: int
    back: list[TraceNode] | None = None
    forward: list[TraceNode] | None = None
    # True when a walk stopped at max_depth with steps left (the chain is longer than the bound).
    truncated: bool = False


# -- inspections -------------------------------------------------------------------------------------------


class InspectionIn(_In):
    lot_id: uuid.UUID
    result: InspectionResult
    inspector: str | None = Field(default=None, min_length=1, max_length=100)
    checks: Attributes = Field(default_factory=dict, description="Measured values (tensile, width, GSM, ...)")
    note: str | None = Field(default=None, max_length=500)
    inspected_on: Day | None = Field(default=None, validation_alias=AliasChoices("inspected_on", "date"),
                                     description="Default: today (also accepted as `date`)")
    to_regrind: bool = Field(default=False, description="fail only: keep the stock in quarantine for a granulator "
                                                        "order instead of scrapping it")

    @model_validator(mode="after")
    def _shape(self):
        if self.to_regrind and self.result != "fail":
            raise ValueError("to_regrind goes with result 'fail' only")
        return self

