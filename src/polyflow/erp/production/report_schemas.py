"""Shapes of the floor KPI reports (production figures per group, piece-rate earnings per operator).

Ratios are fractions written with four decimals ("0.8750" is 87.5 %); weights are kg; hours are hours."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, PlainSerializer

from polyflow.kit.money import AmountOut

GroupBy = Literal["machine", "shift", "day", "operator", "product"]


def _places(places: int) -> PlainSerializer:
    q = Decimal(1).scaleb(-places)
    return PlainSerializer(lambda v: f"{Decimal(v).quantize(q, rounding=ROUND_HALF_UP):f}", return_type=str)


QuantityOut = Annotated[Decimal, _places(3)]
HoursOut = Annotated[Decimal, _places(3)]
RatioOut = Annotated[Decimal, _places(4)]


class UnitQuantity(BaseModel):
    """A quantity in one unit (output of different products is only added up per unit)."""

    unit: str
    quantity: QuantityOut


class ScrapKind(BaseModel):
    """Scrap of one kind: its kg and its share of everything produced (kg / (good kg + scrap kg))."""

    kind: str
    kg: QuantityOut
    ratio: RatioOut | None


class Oee(BaseModel):
    """Overall equipment effectiveness = availability x performance x quality.

    planned = the lengths of the shifts (machine, day, shift) that had executions or downtime; downtime = its
    overlap with them; run = hours recorded on the executions (planned - downtime where none were recorded);
    standard = the hours the standard rates allow for the good output."""

    shifts_planned: int
    planned_hours: HoursOut
    downtime_hours: HoursOut
    run_hours: HoursOut
    standard_hours: HoursOut | None
    availability: RatioOut | None
    performance: RatioOut | None  # capped at 1
    quality: RatioOut | None
    oee: RatioOut | None


class ProductionGroup(BaseModel):
    """The figures of one group (a machine, a shift, a day, an operator or a product); `key` empty: the
    executions that name none (or, in `totals`, all of them)."""

    key: str | None
    code: str | None = None
    name: str | None = None
    executions: int
    output: list[UnitQuantity]
    output_kg: QuantityOut
    scrap: list[ScrapKind]
    scrap_kg: QuantityOut
    scrap_ratio: RatioOut | None
    # Executions whose weight is unknown (neither kg product, bruto/bobin, nor a KG conversion): left out of kg.
    unweighed_executions: int
    issued_kg: QuantityOut
    yield_ratio: RatioOut | None
    hours: HoursOut
    kg_per_hour: QuantityOut | None
    standard_kg_per_hour: QuantityOut | None
    rate_ratio: RatioOut | None
    oee: Oee | None = None


class ProductionReport(BaseModel):
    """Floor KPIs over a date range (posted executions only), per group and in total."""

    date_from: date
    date_to: date
    group_by: GroupBy
    groups: list[ProductionGroup]
    totals: ProductionGroup
    # Material issued in the range to orders with no execution in it (not part of any group's yield).
    issued_kg_without_output: QuantityOut


class OperatorEarnings(BaseModel):
    """What one operator produced (per unit) and earned at piece rates over the range."""

    operator_id: str | None
    code: str | None
    name: str | None
    executions: int
    output: list[UnitQuantity]
    earnings: AmountOut


class PieceRateEarnings(BaseModel):
    """Piece-rate earnings per operator (posted executions; voided ones excluded)."""

    date_from: date
    date_to: date
    operators: list[OperatorEarnings]
    total_earnings: AmountOut
