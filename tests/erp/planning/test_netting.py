"""The netting on its own (no database): low-level codes, a component netted once after all its parents,
rounding up, the reorder rule, scrap products never planned, and a BOM cycle refused."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal as D

import pytest

from polyflow.erp.planning import netting
from polyflow.kit.errors import Conflict

TODAY = date(2026, 11, 30)


def _items(**specs):
    """name -> (variant id, Item); spec: (product_type, reorder point, reorder qty)."""
    out = {}
    for name, (ptype, rp, rq) in specs.items():
        out[name] = (uuid.uuid4(), netting.Item(uuid.uuid4(), ptype, D(rp), D(rq), name))
    return out


def _bom(items, parent, output, scrap, lines):
    return items[parent][1].product_id, netting.BomPlan(uuid.uuid4(), D(output), D(scrap),
                                                        tuple((items[c][0], D(q)) for c, q in lines))


def test_a_component_under_two_levels_is_netted_once_at_the_deepest():
    it = _items(A=("finished_good", 0, 0), B=("intermediate", 0, 0), C=("raw_material", 0, 0),
                S=("scrap", 0, 0), V=("service", 0, 0))
    boms = dict([_bom(it, "A", "3", "0", [("B", "1"), ("C", "1"), ("S", "1")]), _bom(it, "B", "1", "0", [("C", "2")])])
    items = {v: item for v, item in it.values()}
    assert netting.low_level_codes(items, boms) == {it["A"][0]: 0, it["B"][0]: 1, it["C"][0]: 2, it["S"][0]: 1,
                                                    it["V"][0]: 0}
    # 10 A: 10 / 3 x 1 = 3.333... of B and of C; B rounded up to 3.334, whose 2 x 3.334 = 6.668 more C;
    # C gross 3.3333... + 6.668 = 10.00133... -> 10.002 (up). S (scrap) and V (a service sold) are never planned.
    rows, levels = netting.plan(items=items, boms=boms, available={}, supply={}, order_demand={},
                                sales_lines=[(uuid.uuid4(), it["A"][0], D(10), date(2026, 12, 5)),
                                             (uuid.uuid4(), it["V"][0], D(1), date(2026, 12, 1))],
                                include_reorder=True, today=TODAY)
    got = {items[r["variant_id"]].sku: (r["level"], r["kind"], r["quantity"], r["needed_by"]) for r in rows}
    assert got == {"A": (0, "production", D("10.000"), date(2026, 12, 5)),
                   "B": (1, "production", D("3.334"), date(2026, 12, 5)),
                   "C": (2, "purchase", D("10.002"), date(2026, 12, 5))}
    assert levels == 3
    c = next(r for r in rows if r["variant_id"] == it["C"][0])
    assert len(c["parent_proposal_ids"]) == 2 and c["dependent_demand"] == D("10.001")


def test_reorder_point_and_supply():
    it = _items(R=("raw_material", "100", "50"))
    items = {v: item for v, item in it.values()}
    rid = it["R"][0]
    # 30 on hand + 60 coming = 90 < 100: buy 100 + 50 - 90 = 60, needed now (below the point already).
    rows, _ = netting.plan(items=items, boms={}, available={rid: D(30)}, supply={rid: D(60)}, order_demand={},
                           sales_lines=[], include_reorder=True, today=TODAY)
    assert [(r["quantity"], r["by_reorder"], r["needed_by"]) for r in rows] == [(D("60.000"), True, TODAY)]
    # Without reorder points there is no need at all; at the point exactly, neither.
    assert netting.plan(items=items, boms={}, available={rid: D(30)}, supply={rid: D(60)}, order_demand={},
                        sales_lines=[], include_reorder=False, today=TODAY)[0] == []
    assert netting.plan(items=items, boms={}, available={rid: D(40)}, supply={rid: D(60)}, order_demand={},
                        sales_lines=[], include_reorder=True, today=TODAY)[0] == []


def test_a_bom_cycle_is_refused_with_the_skus():
    it = _items(X=("intermediate", 0, 0), Y=("intermediate", 0, 0))
    boms = dict([_bom(it, "X", "1", "0", [("Y", "1")]), _bom(it, "Y", "1", "0", [("X", "1")])])
    with pytest.raises(Conflict, match="circle through X, Y"):
        netting.low_level_codes({v: item for v, item in it.values()}, boms)
