"""Request and response bodies of the floor's master data: machines and downtime, shifts, operators, piece
rates, bills of materials (and their explosion) and routes."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from polyflow.erp.models.floor import (
    DOWNTIME_REASONS, MACHINE_STATES, MACHINE_TYPES, OVERHEAD_BASES, RATE_UNITS, STAGES,
)
from polyflow.kit.limits import Day
from polyflow.kit.money import AmountOut, _plain_decimal

MachineType = Literal[MACHINE_TYPES]  # type: ignore[valid-type]
MachineState = Literal[MACHINE_STATES]  # type: ignore[valid-type]
Stage = Literal[STAGES]  # type: ignore[valid-type]
OverheadBasis = Literal[OVERHEAD_BASES]  # type: ignore[valid-type]
RateUnit = Literal[RATE_UNITS]  # type: ignore[valid-type]
DowntimeReason = Literal[DOWNTIME_REASONS]  # type: ignore[valid-type]
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"


def _places(n: int):
    q = Decimal(1).scaleb(-n)
    return PlainSerializer(lambda v: f"{Decimal(v).quantize(q):f}", return_type=str)


def _num(places: int, **limits):
    return Annotated[Decimal, BeforeValidator(_plain_decimal),
                     Field(max_digits=18, decimal_places=places, **limits), _places(places)]


Rate = _num(2, ge=0)  # rupiah per hour / kg / unit of output
Pct = Annotated[Decimal, BeforeValidator(_plain_decimal), Field(ge=0, max_digits=5, decimal_places=2), _places(2)]
PositiveQty = _num(3, gt=0)
LineQty = _num(6, gt=0)  # BOM lines keep six places: 0.000250 kg of additive per bag
Qty6 = Annotated[Decimal, _places(6)]
Qty3 = Annotated[Decimal, _places(3)]
Pct2 = Annotated[Decimal, _places(2)]
Code = Annotated[str, Field(min_length=1, max_length=32, pattern=CODE_PATTERN)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- machines -----------------------------------------------------------------------------------------------


class MachineIn(_In):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    machine_type: MachineType
    status: MachineState = "active"
    location: str | None = Field(default=None, max_length=64, description="location id or code")
    overhead_rate: Rate = Decimal(0)
    overhead_basis: OverheadBasis = "hour"
    rated_capacity: PositiveQty | None = None
    note: str | None = Field(default=None, max_length=500)


class MachinePatch(_In):
    """Only the fields sent change (the code is not editable; a type only while no route uses the machine)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    machine_type: MachineType | None = None
    status: MachineState | None = None
    location: str | None = Field(default=None, max_length=64)
    overhead_rate: Rate | None = None
    overhead_basis: OverheadBasis | None = None
    rated_capacity: PositiveQty | None = None
    note: str | None = Field(default=None, max_length=500)


class MachineOut(_Out):
    id: uuid.UUID
    code: str
    name: str
    machine_type: str
    status: str
    location_id: uuid.UUID | None
    overhead_rate: AmountOut
    overhead_basis: str
    rated_capacity: Qty3 | None
    note: str | None
    created_at: datetime
    updated_at: datetime


class DowntimeIn(_In):
    reason: DowntimeReason
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    shift_id: uuid.UUID | None = None
    shift: str | None = Field(default=None, min_length=1, max_length=64, description="shift code (or id)")
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _period(self):
        if self.ended_at is not None and self.ended_at <= self.started_at:
            raise ValueError("ended_at must be after started_at")
        if self.shift_id is not None and self.shift is not None:
            raise ValueError("give shift_id or shift, not both")
        return self


class DowntimeEnd(_In):
    ended_at: AwareDatetime | None = Field(default=None, description="default: now")
    note: str | None = Field(default=None, max_length=500)


class DowntimeOut(_Out):
    id: uuid.UUID
    machine_id: uuid.UUID
    reason: str
    started_at: datetime
    ended_at: datetime | None
    shift_id: uuid.UUID | None
    note: str | None
    created_by: uuid.UUID | None
    created_at: datetime


# -- shifts, operators, piece rates ----------------------------------------------------------------------------


class ShiftIn(_In):
    code: Annotated[str, Field(min_length=1, max_length=16, pattern=CODE_PATTERN)]
    name: str = Field(min_length=1, max_length=100)
    starts_at: time
    ends_at: time = Field(description="before starts_at: the shift runs past midnight")
    is_active: bool = True


class ShiftPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    starts_at: time | None = None
    ends_at: time | None = None
    is_active: bool | None = None


class ShiftOut(_Out):
    id: uuid.UUID
    code: str
    name: str
    starts_at: time
    ends_at: time
    crosses_midnight: bool
    hours: Pct2
    is_active: bool


class OperatorIn(_In):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    user_id: uuid.UUID | None = Field(default=None, description="optional: the operator's own sign-in")
    is_active: bool = True


class OperatorPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    user_id: uuid.UUID | None = None
    is_active: bool | None = None


class OperatorOut(_Out):
    id: uuid.UUID
    code: str
    name: str
    user_id: uuid.UUID | None
    is_active: bool
    created_at: datetime


class PieceRateIn(_In):
    """A rate from a date: for one product (product_id or sku), or for every product of the stage."""

    stage: Stage
    product_id: uuid.UUID | None = None
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    rate: Rate
    valid_from: Day

    @model_validator(mode="after")
    def _one_product_ref(self):
        if self.product_id is not None and self.sku is not None:
            raise ValueError("give product_id or sku, not both")
        return self


class PieceRateOut(_Out):
    id: uuid.UUID
    stage: str
    product_id: uuid.UUID | None
    rate: AmountOut
    valid_from: date
    created_at: datetime


# -- bills of materials ---------------------------------------------------------------------------------------


class BomLineIn(_In):
    variant_id: uuid.UUID | None = None
    sku: str | None = Field(default=None, min_length=1, max_length=64, description="the component variant's SKU")
    quantity: LineQty = Field(description="per the BOM's output_quantity, in the component's stock unit")
    is_regrind: bool = False
    note: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_ref(self):
        if (self.variant_id is None) == (self.sku is None):
            raise ValueError("give the component's variant_id or its sku (one of them)")
        return self


class BomIn(_In):
    product_id: uuid.UUID | None = None
    sku: str | None = Field(default=None, min_length=1, max_length=64, description="the product's (or a variant's) SKU")
    stage: Stage
    name: str | None = Field(default=None, max_length=200)
    output_quantity: PositiveQty = Decimal(1)
    expected_scrap_pct: Pct = Field(default=Decimal(0), lt=100)
    max_regrind_pct: Pct | None = Field(default=None, le=100)
    make_default: bool | None = Field(default=None, description="default: only when the product has no default BOM")
    note: str | None = Field(default=None, max_length=500)
    lines: list[BomLineIn] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _one_ref(self):
        if (self.product_id is None) == (self.sku is None):
            raise ValueError("give the product's product_id or its sku (one of them)")
        return self


class BomPatch(_In):
    """Only the name and the note; anything else is a new version (POST /boms)."""

    name: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=500)


class BomLineOut(_Out):
    line_no: int
    variant_id: uuid.UUID
    sku: str
    unit: str
    quantity: Qty6
    is_regrind: bool
    note: str | None


class BomOut(_Out):
    id: uuid.UUID
    product_id: uuid.UUID
    product_sku: str
    version: int
    name: str | None
    stage: str
    output_quantity: Qty3
    expected_scrap_pct: Pct2
    max_regrind_pct: Pct2 | None
    is_active: bool
    is_default: bool
    note: str | None
    created_by: uuid.UUID | None
    created_at: datetime
    lines: list[BomLineOut]


class Requirement(BaseModel):
    variant_id: uuid.UUID
    sku: str
    name: str
    unit: str
    quantity: Qty6
    level: int = Field(description="deepest level the item is needed at (1: the exploded BOM's own lines)")
    bom_id: uuid.UUID | None = Field(description="the default BOM it is made by (intermediates only)")


class Explosion(BaseModel):
    bom_id: uuid.UUID
    product_id: uuid.UUID
    quantity: Qty3
    materials: list[Requirement] = Field(description="what is bought or comes from the floor: no default BOM, "
                                                     "or regrind")
    intermediates: list[Requirement] = Field(description="made components, exploded through their default BOM")


# -- routes ---------------------------------------------------------------------------------------------------


class RouteStepIn(_In):
    seq: int = Field(ge=1, le=999)
    stage: Stage
    name: str | None = Field(default=None, max_length=200)
    output_variant_id: uuid.UUID | None = None
    sku: str | None = Field(default=None, min_length=1, max_length=64, description="the output variant's SKU")
    bom_id: uuid.UUID | None = Field(default=None, description="default: the output product's default BOM")
    std_rate: PositiveQty = Field(description="standard output per hour")
    rate_unit: RateUnit = "kg_per_hour"
    machines: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=100, description="machine ids or codes")

    @model_validator(mode="after")
    def _one_ref(self):
        if (self.output_variant_id is None) == (self.sku is None):
            raise ValueError("give the step's output_variant_id or its sku (one of them)")
        return self


class RouteIn(_In):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    product_id: uuid.UUID | None = None
    sku: str | None = Field(default=None, min_length=1, max_length=64)
    make_default: bool | None = Field(default=None, description="default: only when the product has no default route")
    note: str | None = Field(default=None, max_length=500)
    steps: list[RouteStepIn] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _refs(self):
        if (self.product_id is None) == (self.sku is None):
            raise ValueError("give the route's product_id or its sku (one of them)")
        seqs = [s.seq for s in self.steps]
        if len(set(seqs)) != len(seqs):
            raise ValueError("each step needs its own seq")
        return self


class RoutePatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=500)
    is_active: bool | None = None


class RouteStepOut(_Out):
    id: uuid.UUID
    seq: int
    stage: str
    name: str | None
    output_variant_id: uuid.UUID
    output_sku: str
    bom_id: uuid.UUID | None
    std_rate: Qty3
    rate_unit: str
    machine_ids: list[uuid.UUID]
    machine_codes: list[str]


class RouteOut(_Out):
    id: uuid.UUID
    code: str
    name: str
    product_id: uuid.UUID
    product_sku: str
    is_active: bool
    is_default: bool
    note: str | None
    created_at: datetime
    steps: list[RouteStepOut]
