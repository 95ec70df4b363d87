"""The tax arithmetic (erp/tax/calc.py) against figures computed by hand, one rounding rule: whole rupiah,
half up, per document on the summed DPP."""

from decimal import Decimal as D

import pytest

from polyflow.erp.tax.calc import allocate, compute, to_rupiah


def _figures(result):
    return (result.base, result.other_base, result.tax, result.total, result.rounding_difference)


def test_ordinary_goods_exclusive_dpp_nilai_lain():
    # 1 000 000 x 11/12 = 916 666.67 -> 916 667; 12 % of it = 110 000.04 -> 110 000.
    r = compute([D("1000000")], rate=D(12), base_rule="dpp_11_12")
    assert _figures(r) == (1_000_000, 916_667, 110_000, 1_110_000, 0)


def test_ordinary_goods_inclusive_entry():
    # 1 110 000 / 1.11 = 1 000 000 exactly: the same document as above.
    r = compute([D("1110000")], rate=D(12), base_rule="dpp_11_12", inclusive=True)
    assert _figures(r) == (1_000_000, 916_667, 110_000, 1_110_000, 0)
    # 100 000 / 1.11 = 90 090.09 -> 90 090; x 11/12 = 82 582.50 -> 82 583 (half up);
    # 12 % = 9 909.96 -> 9 910; 90 090 + 9 910 = 100 000.
    r = compute([D("100000")], rate=D(12), base_rule="dpp_11_12", inclusive=True)
    assert _figures(r) == (90_090, 82_583, 9_910, 100_000, 0)


def test_inclusive_gross_that_no_whole_rupiah_dpp_reaches():
    # 1 004 / 1.11 = 904.50 -> 905: 905 x 11/12 = 829.58 -> 830, tax 99.60 -> 100, total 1 005.
    # DPP 904 gives 829 and 99.48 -> 99, total 1 003: 1 004 cannot be hit, the difference is stated.
    r = compute([D("1004")], rate=D(12), base_rule="dpp_11_12", inclusive=True)
    assert _figures(r) == (905, 830, 100, 1_005, -1)


def test_tax_is_per_document_on_the_summed_base_and_lines_add_up():
    # Three lines of 100 001: summed DPP 300 003 x 11/12 = 275 002.75 -> 275 003 (per line it would be
    # 91 667.58 -> 91 668, x 3 = 275 004); PPN 12 % = 33 000.36 -> 33 000.
    r = compute([D("100001")] * 3, rate=D(12), base_rule="dpp_11_12")
    assert _figures(r) == (300_003, 275_003, 33_000, 333_003, 0)
    # The lines share the document figures by largest remainder (ties to the earlier line).
    assert [(x.base, x.other_base, x.tax) for x in r.lines] == [
        (100_001, 91_668, 11_000), (100_001, 91_668, 11_000), (100_001, 91_667, 11_000)]
    assert sum(x.other_base for x in r.lines) == r.other_base


def test_line_amounts_with_cents_are_summed_before_rounding():
    # 1.5 kg x 21 500.33 = 32 250.495 and 2 x 10 000.25 = 20 000.50: sum 52 250.995 -> 52 251;
    # full base 11 % (the 2024 rate) = 5 747.61 -> 5 748.
    r = compute([D("32250.495"), D("20000.50")], rate=D(11), base_rule="full")
    assert _figures(r) == (52_251, 52_251, 5_748, 57_999, 0)
    # Exact shares of 52 251: 32 250.498 and 20 000.502; the one rupiah left goes to the larger remainder.
    assert [x.base for x in r.lines] == [32_250, 20_001]
    assert sum(x.base for x in r.lines) == 52_251


def test_luxury_full_base_zero_rate_and_withholding():
    assert _figures(compute([D("1000000")], rate=D(12), base_rule="full")) == (1_000_000, 1_000_000, 120_000,
                                                                               1_120_000, 0)
    assert _figures(compute([D("1000000")], rate=D(0))) == (1_000_000, 1_000_000, 0, 1_000_000, 0)
    # PPh 23: 2 % of 1 234 575 = 24 691.50 -> 24 692 (half up).
    assert compute([D("1234575")], rate=D(2)).tax == 24_692
    # PPh 22 import with API: 2.5 % of 10 000 000 = 250 000.
    assert compute([D("10000000")], rate=D("2.5")).tax == 250_000


def test_rounding_rule_and_allocation_edges():
    assert to_rupiah(D("0.5")) == 1 and to_rupiah(D("1.49")) == 1 and to_rupiah(D("2.5")) == 3
    assert allocate(D(10), [D(1), D(1), D(1)]) == [4, 3, 3]
    assert allocate(D(0), [D(0), D(0)]) == [0, 0]
    assert compute([], rate=D(12), base_rule="dpp_11_12").tax == 0
    with pytest.raises(ValueError, match="negative"):
        compute([D("-1")], rate=D(12))
    with pytest.raises(ValueError, match="base rule"):
        compute([D("1")], rate=D(12), base_rule="half")
