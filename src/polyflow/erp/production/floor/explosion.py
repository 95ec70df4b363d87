"""Multi-level explosion of a bill of materials, pure (no database): what `quantity` of a product takes in
bought (or floor-made) materials, through the default BOMs of its made components, expected scrap applied
at every level. MRP and the planner call `explode` with the specs `service.load_default_specs` loads.

Per BOM b making q: each line needs q / b.output_quantity x line.quantity x (1 + b.expected_scrap_pct / 100).
Components are visited in topological order (every parent before its child), so a component used at two
levels is exploded once, with its whole requirement (the "low-level code" of classic MRP)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class LineSpec:
    variant_id: uuid.UUID
    product_id: uuid.UUID
    quantity: Decimal  # per the BOM's output_quantity
    is_regrind: bool = False


@dataclass(frozen=True, slots=True)
class BomSpec:
    id: uuid.UUID | None
    product_id: uuid.UUID
    output_quantity: Decimal
    expected_scrap_pct: Decimal
    lines: tuple[LineSpec, ...]


@dataclass(slots=True)
class Need:
    variant_id: uuid.UUID
    product_id: uuid.UUID
    quantity: Decimal = Decimal(0)
    level: int = 0  # the deepest level it is needed at; 1 = the exploded BOM's own lines
    bom_id: uuid.UUID | None = None  # the default BOM that makes it (intermediates)


@dataclass(slots=True)
class Exploded:
    materials: dict[uuid.UUID, Need] = field(default_factory=dict)  # variant -> need (no default BOM, or regrind)
    intermediates: dict[uuid.UUID, Need] = field(default_factory=dict)  # variant -> gross need, exploded further


class BomCycle(ValueError):
    """The default BOMs loop back: `chain` is the product ids from the root back to a product on the path."""

    def __init__(self, chain: list[uuid.UUID]):
        super().__init__("BOM cycle")
        self.chain = chain


def per_output(bom: BomSpec, quantity: Decimal) -> Decimal:
    """The factor a line's quantity is multiplied by to make `quantity` of the BOM's product (scrap included)."""
    return quantity * (1 + bom.expected_scrap_pct / HUNDRED) / bom.output_quantity


def _made_by(line: LineSpec, defaults: Mapping[uuid.UUID, BomSpec], through_regrind: bool) -> BomSpec | None:
    # Regrind comes off the floor's own scrap: planning does not make it to order, so by default a regrind
    # line is a leaf requirement (the cycle check still follows it).
    if line.is_regrind and not through_regrind:
        return None
    return defaults.get(line.product_id)


def topological(root: BomSpec, defaults: Mapping[uuid.UUID, BomSpec], *, through_regrind: bool = False,
                max_levels: int = 50) -> list[LineSpec]:
    """The made components reachable from `root`, every parent before its children; BomCycle on a loop."""
    done: set[uuid.UUID] = set()
    postorder: list[LineSpec] = []

    def visit(line: LineSpec, path: list[uuid.UUID]) -> None:
        if line.product_id in path:
            raise BomCycle(path[path.index(line.product_id):] + [line.product_id])
        bom = _made_by(line, defaults, through_regrind)
        if bom is None or line.variant_id in done:
            return
        if len(path) > max_levels:
            raise BomCycle(path + [line.product_id])
        for child in bom.lines:
            visit(child, path + [line.product_id])
        done.add(line.variant_id)
        postorder.append(line)

    for line in root.lines:
        visit(line, [root.product_id])
    return postorder[::-1]


def explode(root: BomSpec, quantity: Decimal, defaults: Mapping[uuid.UUID, BomSpec]) -> Exploded:
    """The requirements of `quantity` of root's product (exact Decimals; round where you show them)."""
    out = Exploded()

    def add(bom: BomSpec, qty: Decimal, level: int) -> None:
        factor = per_output(bom, qty)
        for line in bom.lines:
            made = _made_by(line, defaults, False)
            bucket = out.intermediates if made is not None else out.materials
            need = bucket.get(line.variant_id)
            if need is None:
                need = bucket[line.variant_id] = Need(line.variant_id, line.product_id,
                                                      bom_id=made.id if made is not None else None)
            need.quantity += line.quantity * factor
            need.level = max(need.level, level)

    order = topological(root, defaults)
    add(root, quantity, 1)
    for line in order:
        need = out.intermediates[line.variant_id]
        add(defaults[line.product_id], need.quantity, need.level + 1)
    return out
