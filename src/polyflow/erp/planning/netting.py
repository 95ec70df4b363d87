"""The MRP netting itself, on figures already read (no database here): low-level codes over the default
BOMs, then one pass per level, parents before components.

For each variant, at its low-level code (the deepest level it occurs at in any BOM, so that a component used
at several levels is netted once, after all its parents have exploded into it):

    gross     = sales (open, unreserved order lines) + orders (open production orders' unissued materials)
                + dependent (this run's parent proposals, exploded through their BOMs with expected scrap)
    projected = available (on hand - reserved) + open supply - gross
    need      = reorder point + reorder qty - projected   when reorder points count and projected < reorder point
              = -projected                                when projected < 0
              = 0                                         otherwise

rounded up to 0.001 (never plan short). A variant whose product has a default BOM is produced, and its need
explodes into the next level: need / BOM output x line quantity x (1 + expected scrap %). Any other variant is
bought. Scrap and service products are never planned.

Dates: needed_by = the earliest date of its demand (never before today); start_by = needed_by - the product's
lead time (when to start making it, or order it by), never before today: a start that would fall in the past
is today and the proposal is `late`. A made item's components are needed on its start_by, so lead times stack
down the BOM levels."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from polyflow.kit.errors import Conflict

MILLI = Decimal("0.001")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
# Scrap arises on the floor; a service is never stocked (selling one needs no stock, buying one is no MRP matter).
NEVER_PLANNED = ("scrap", "service")


@dataclass(frozen=True)
class Item:
    product_id: uuid.UUID
    product_type: str
    reorder_point: Decimal
    reorder_qty: Decimal
    sku: str
    lead_time_days: int = 0  # purchase lead time if bought, production lead time if made


@dataclass(frozen=True)
class BomPlan:
    bom_id: uuid.UUID
    output_quantity: Decimal
    scrap_pct: Decimal
    lines: tuple[tuple[uuid.UUID, Decimal], ...]  # (component variant, quantity per output_quantity)


@dataclass
class _Demand:
    sales: Decimal = ZERO
    orders: Decimal = ZERO
    dependent: Decimal = ZERO
    sales_lines: list[uuid.UUID] = field(default_factory=list)
    parents: list[uuid.UUID] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)


def boms_by_product(rows) -> dict[uuid.UUID, BomPlan]:
    """Group repository.default_boms rows per product."""
    grouped: dict[uuid.UUID, list] = defaultdict(list)
    heads = {}
    for product_id, bom_id, output_qty, scrap_pct, component, qty in rows:
        heads[product_id] = (bom_id, output_qty, scrap_pct)
        grouped[product_id].append((component, qty))
    return {p: BomPlan(heads[p][0], heads[p][1], heads[p][2], tuple(lines)) for p, lines in grouped.items()}


def low_level_codes(items: dict[uuid.UUID, Item], boms: dict[uuid.UUID, BomPlan]) -> dict[uuid.UUID, int]:
    """variant -> the deepest BOM level it occurs at (0: not a component of anything). 409 on a BOM cycle."""
    variants_of: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for variant, item in items.items():
        if item.product_id in boms:
            variants_of[item.product_id].append(variant)
    children: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    indegree: dict[uuid.UUID, int] = defaultdict(int)
    for product_id, bom in boms.items():
        for parent in variants_of[product_id]:
            for component, _qty in bom.lines:
                children[parent].append(component)
                indegree[component] += 1
    level = {v: 0 for v in items}
    # Longest path from the roots (Kahn's order): a component's level is settled once all its parents are.
    ready = [v for v in items if indegree[v] == 0]
    while ready:
        parent = ready.pop()
        for child in children.get(parent, ()):
            level[child] = max(level[child], level[parent] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    looped = sorted(items[v].sku for v, n in indegree.items() if n > 0)
    if looped:
        raise Conflict("the default BOMs go round in a circle through " + ", ".join(looped[:8])
                       + (" ..." if len(looped) > 8 else "") + ": fix those BOMs before running MRP")
    return level


def plan(*, items: dict[uuid.UUID, Item], boms: dict[uuid.UUID, BomPlan], available: dict[uuid.UUID, Decimal],
         supply: dict[uuid.UUID, Decimal], order_demand: dict[uuid.UUID, tuple[Decimal, date | None]],
         sales_lines: list[tuple], include_reorder: bool, today: date) -> tuple[list[dict], int]:
    """The run's proposals (rows for mrp_proposals, without run_id) and the number of levels planned."""
    levels = low_level_codes(items, boms)
    demand: dict[uuid.UUID, _Demand] = defaultdict(_Demand)
    for line_id, variant, qty, on in sales_lines:
        d = demand[variant]
        d.sales += qty
        d.sales_lines.append(line_id)
        d.dates.append(max(on, today))  # an overdue line is needed now
    for variant, (qty, on) in order_demand.items():
        d = demand[variant]
        d.orders += qty
        d.dates.append(max(on or today, today))

    by_level: dict[int, list[uuid.UUID]] = defaultdict(list)
    for variant, lvl in levels.items():
        item = items[variant]
        if variant in demand or (include_reorder and item.reorder_point > 0) or lvl > 0:
            by_level[lvl].append(variant)

    proposals: list[dict] = []
    deepest = -1
    for lvl in sorted(by_level):
        for variant in sorted(by_level[lvl], key=lambda v: items[v].sku):
            item = items[variant]
            if item.product_type in NEVER_PLANNED:
                continue
            d = demand.get(variant) or _Demand()
            gross = d.sales + d.orders + d.dependent
            have = available.get(variant, ZERO)
            coming = supply.get(variant, ZERO)
            projected = have + coming - gross
            by_reorder = include_reorder and item.reorder_point > 0 and projected < item.reorder_point
            if by_reorder:
                need = item.reorder_point + item.reorder_qty - projected
            else:
                need = -projected
            need = need.quantize(MILLI, rounding=ROUND_CEILING)
            if need <= 0:
                continue
            dates = list(d.dates)
            if by_reorder and have + coming < item.reorder_point:
                dates.append(today)  # below the reorder point already, whatever the demand's dates
            needed_by = min(dates) if dates else today
            earliest_start = needed_by - timedelta(days=item.lead_time_days)
            start_by = max(earliest_start, today)
            bom = boms.get(item.product_id)
            proposal_id = uuid.uuid4()
            proposals.append({
                "id": proposal_id, "kind": "production" if bom else "purchase", "status": "proposed",
                "variant_id": variant, "level": lvl, "bom_id": bom.bom_id if bom else None, "quantity": need,
                "needed_by": needed_by, "start_by": start_by, "late": earliest_start < today,
                "sales_demand": _q(d.sales), "order_demand": _q(d.orders),
                "dependent_demand": _q(d.dependent), "available": _q(have), "open_supply": _q(coming),
                "reorder_point": item.reorder_point, "reorder_qty": item.reorder_qty, "by_reorder": by_reorder,
                "sales_order_line_ids": d.sales_lines, "parent_proposal_ids": d.parents,
            })
            deepest = max(deepest, lvl)
            if bom:
                per_output = need / bom.output_quantity * (1 + bom.scrap_pct / HUNDRED)
                for component, qty in bom.lines:
                    child = demand[component]
                    child.dependent += per_output * qty
                    if proposal_id not in child.parents:
                        child.parents.append(proposal_id)
                    child.dates.append(start_by)  # the materials must be there when the parent starts
    return proposals, deepest + 1


def _q(value: Decimal) -> Decimal:
    return value.quantize(MILLI, rounding=ROUND_HALF_UP)
