"""The pure explosion (erp/production/floor/explosion.py, what MRP and the planner call): a diamond worked by
hand, regrind as a leaf, a loop named, and a property: exploding once per component in topological order
gives exactly what walking every path of the BOM tree one by one gives."""

import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyflow.erp.production.floor.service import BomCycle, BomSpec, LineSpec, explode, topological

D = Decimal


def _ids(n):
    return [uuid.UUID(int=i + 1) for i in range(n)]


def _bom(product, output, scrap, *lines):
    # Variant ids equal product ids here (one variant per product).
    return BomSpec(uuid.uuid4(), product, D(output), D(scrap),
                   tuple(LineSpec(v, v, D(q), regrind) for v, q, regrind in lines))


def test_a_diamond_by_hand():
    top, left, right, base, resin, regrind = _ids(6)
    # top (per 10, scrap 10 %) <- left 2, right 3 ; left (per 1, no scrap) <- base 4 ;
    # right (per 2, scrap 50 %) <- base 1, regrind 1 (regrind: a leaf even if it had a BOM) ;
    # base (per 1, scrap 0) <- resin 1 ; regrind has a BOM that must not be followed.
    defaults = {left: _bom(left, 1, 0, (base, 4, False)),
                right: _bom(right, 2, 50, (base, 1, False), (regrind, 1, True)),
                base: _bom(base, 1, 0, (resin, 1, False)),
                regrind: _bom(regrind, 1, 0, (resin, 1, False))}
    root = _bom(top, 10, 10, (left, 2, False), (right, 3, False))
    out = explode(root, D(100), defaults)
    # factor at the top: 100 x 1.1 / 10 = 11 -> left 22, right 33 (level 1)
    # left 22 -> base 22 x 4 = 88 ; right 33: factor 33 x 1.5 / 2 = 24.75 -> base 24.75, regrind 24.75
    # base in all 88 + 24.75 = 112.75 (level 2) -> resin 112.75 (level 3)
    assert {k: v.quantity for k, v in out.intermediates.items()} == {left: D(22), right: D(33), base: D("112.75")}
    assert {k: v.quantity for k, v in out.materials.items()} == {regrind: D("24.75"), resin: D("112.75")}
    assert out.intermediates[base].level == 2 and out.materials[resin].level == 3
    assert out.materials[regrind].level == 2 and out.materials[regrind].bom_id is None
    assert out.intermediates[right].bom_id == defaults[right].id


def test_a_loop_is_named_from_the_root():
    a, b, c, x = _ids(4)
    defaults = {b: _bom(b, 1, 0, (c, 1, False)), c: _bom(c, 1, 0, (b, 1, False))}
    with pytest.raises(BomCycle) as caught:
        explode(_bom(a, 1, 0, (x, 1, False), (b, 1, False)), D(1), defaults)
    assert caught.value.chain == [b, c, b]
    # Back to the root itself:
    defaults = {b: _bom(b, 1, 0, (a, 1, False))}
    with pytest.raises(BomCycle) as caught:
        topological(_bom(a, 1, 0, (b, 1, False)), defaults)
    assert caught.value.chain == [a, b, a]


def _naive(bom, quantity, defaults, out):
    """Every path on its own (exponential, for checking only)."""
    factor = quantity * (1 + bom.expected_scrap_pct / 100) / bom.output_quantity
    for line in bom.lines:
        need = line.quantity * factor
        made = None if line.is_regrind else defaults.get(line.product_id)
        if made is None:
            out[line.variant_id] = out.get(line.variant_id, D(0)) + need
        else:
            _naive(made, need, defaults, out)
    return out


@st.composite
def dags(draw):
    n = draw(st.integers(3, 9))
    products = _ids(n)
    defaults = {}
    # Product i may use only products after it: no loops. The last few have no BOM (bought).
    for i, p in enumerate(products[:-2]):
        later = products[i + 1:]
        picked = draw(st.lists(st.sampled_from(later), min_size=1, max_size=min(3, len(later)), unique=True))
        lines = [(v, draw(st.integers(1, 40)) / D(4), draw(st.booleans()) and draw(st.booleans())) for v in picked]
        defaults[p] = _bom(p, draw(st.sampled_from(["1", "2", "5", "100"])), draw(st.sampled_from(["0", "2", "4.5"])),
                           *lines)
    return products, defaults


@settings(max_examples=150, deadline=None)
@given(dags(), st.integers(1, 5000))
def test_one_pass_in_topological_order_equals_walking_every_path(dag, quantity):
    products, defaults = dag
    root = defaults.pop(products[0])
    out = explode(root, D(quantity), defaults)
    expected = _naive(root, D(quantity), defaults, {})
    places = D("0.000001")
    assert {k: v.quantity.quantize(places) for k, v in out.materials.items()} == \
           {k: v.quantize(places) for k, v in expected.items()}
