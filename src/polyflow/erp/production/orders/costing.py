"""The arithmetic of an order's costing (mfg design, "The order's WIP sub-ledger"), kept apart from the
database so each rule reads as the formula it is. Quantities are in the products' stock units."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from polyflow.kit.money import money

QTY = Decimal("0.001")
COST = Decimal("0.0001")
HOURS = Decimal("0.001")
HUNDRED = Decimal(100)


def qty(value: Decimal) -> Decimal:
    return Decimal(value).quantize(QTY, rounding=ROUND_HALF_UP)


def cost(value: Decimal) -> Decimal:
    return Decimal(value).quantize(COST, rounding=ROUND_HALF_UP)


def with_scrap(quantity: Decimal, scrap_pct: Decimal) -> Decimal:
    """A need grossed up by the BOM's expected scrap: quantity x (1 + scrap% / 100)."""
    return quantity * (1 + (scrap_pct or Decimal(0)) / HUNDRED)


def average(value: Decimal, quantity: Decimal) -> Decimal:
    """Value per unit, 0 without quantity."""
    return cost(value / quantity) if quantity else Decimal(0)


@dataclass(frozen=True)
class Component:
    """One material of an order: its BOM quantity per output unit (no expected scrap) and the cost per
    unit it is charged at (the order's average issued cost, else the stock average)."""

    qty_per_unit: Decimal
    unit_cost: Decimal


def material_cost_per_unit(components: list[Component], scrap_pct: Decimal) -> Decimal:
    """sum over the BOM of (qty per output unit x (1 + expected scrap %)) x the component's cost."""
    return sum((with_scrap(c.qty_per_unit, scrap_pct) * c.unit_cost for c in components), Decimal(0))


def output_unit_cost(components: list[Component], scrap_pct: Decimal, conversion: Decimal,
                     quantity: Decimal) -> Decimal:
    """Actual method: material cost per unit + this execution's conversion (labour + overhead) per unit."""
    return cost(material_cost_per_unit(components, scrap_pct) + conversion / quantity)


def labour(rate: Decimal | None, quantity: Decimal) -> Decimal:
    return money(rate * quantity) if rate else Decimal("0.00")


def overhead(rate: Decimal, basis: str, hours: Decimal | None, kg: Decimal | None) -> Decimal:
    """Machine rate x hours (basis hour) or x net kg (basis kg)."""
    base = hours if basis == "hour" else kg
    return money(rate * base) if rate and base else Decimal("0.00")


@dataclass(frozen=True)
class Usage:
    issued_qty: Decimal
    standard_qty: Decimal  # for the good output, with expected scrap
    avg_cost: Decimal


def variances(residual: Decimal, usages: list[Usage]) -> tuple[Decimal, Decimal]:
    """(yield, price): yield = sum of (issued - standard) x average issued cost; price = the rest of the
    residual WIP, so that the two clear it exactly."""
    yield_ = money(sum(((u.issued_qty - u.standard_qty) * u.avg_cost for u in usages), Decimal(0)))
    return yield_, money(residual) - yield_
