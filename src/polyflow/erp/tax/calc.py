"""Tax arithmetic for one document: pure functions, no database. THE rounding rule of the tax module.

Rounding rule (the only one; every tax amount in Polyflow comes from here):
  amounts are rounded to whole rupiah, half up (ROUND_HALF_UP: 0.5 -> 1), **per document and per tax
  code**, in this order:
    1. DPP (harga jual / penggantian) = the sum of the document's line amounts for that tax code, rounded;
    2. DPP nilai lain = DPP x 11/12, rounded (base rule ``dpp_11_12``; with ``full`` it is the DPP);
    3. tax = DPP nilai lain x rate, rounded.
  This follows Coretax, which computes PPN on the summed base of the tax invoice (PMK 131/2024: PPN 12 %
  on DPP nilai lain 11/12 for ordinary goods). Each line's share is then allocated by largest remainder,
  so the lines (as the Coretax XML lists them) add up to the document figures exactly.

Tax-inclusive entry: the entered gross G (rounded) = DPP + tax; DPP = G / (1 + effective rate), rounded,
then steps 2-3. When rounding makes DPP + tax miss G, the neighbouring DPP that hits G exactly is taken;
when none does (the tax steps by 2 rupiah there), the document total is DPP + tax, 1 rupiah from G, and
``rounding_difference`` says so.

Example (ordinary goods, 1 000 000 exclusive): DPP 1 000 000; DPP nilai lain 916 666.67 -> 916 667;
PPN 12 % x 916 667 = 110 000.04 -> 110 000; total 1 110 000.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Sequence

RUPIAH = Decimal(1)
HUNDRED = Decimal(100)
OTHER_VALUE_FACTOR = Decimal(11) / Decimal(12)  # DPP nilai lain, base rule "dpp_11_12"


def to_rupiah(amount: Decimal) -> Decimal:
    """Round to whole rupiah, half up: the rounding rule of every tax amount."""
    return amount.quantize(RUPIAH, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineTax:
    """One line's share of the document figures (whole rupiah)."""

    base: Decimal  # DPP (harga jual)
    other_base: Decimal  # DPP nilai lain
    tax: Decimal


@dataclass(frozen=True)
class DocumentTax:
    """The tax figures of one document for one tax code (whole rupiah)."""

    base: Decimal  # DPP (harga jual / penggantian)
    other_base: Decimal  # DPP nilai lain (equals base under the "full" rule)
    tax: Decimal
    total: Decimal  # base + tax
    rounding_difference: Decimal  # tax-inclusive only: entered gross - total (0, or +-1 rupiah)
    lines: tuple[LineTax, ...]


def _other_base(base: Decimal, base_rule: str) -> Decimal:
    if base_rule == "dpp_11_12":
        return to_rupiah(base * OTHER_VALUE_FACTOR)
    if base_rule == "full":
        return base
    raise ValueError(f"unknown base rule {base_rule!r}")


def _tax(other_base: Decimal, rate: Decimal) -> Decimal:
    return to_rupiah(other_base * rate / HUNDRED)


def effective_rate(rate: Decimal, base_rule: str) -> Decimal:
    """The rate on the price itself, as a fraction (12 % on 11/12 -> 0.11)."""
    fraction = rate / HUNDRED
    return fraction * OTHER_VALUE_FACTOR if base_rule == "dpp_11_12" else fraction


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split a whole-rupiah total over the weights, proportionally, in whole rupiah, by largest remainder
    (ties to the earlier line): the parts add up to the total exactly."""
    weight_sum = sum(weights, Decimal(0))
    if not weights:
        return []
    if weight_sum == 0:
        return [total] + [Decimal(0)] * (len(weights) - 1) if total else [Decimal(0)] * len(weights)
    exact = [total * w / weight_sum for w in weights]
    parts = [e.quantize(RUPIAH, rounding=ROUND_FLOOR) for e in exact]
    left = int(total - sum(parts, Decimal(0)))
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in by_remainder[:left]:
        parts[i] += 1
    return parts


def compute(amounts: Sequence[Decimal], *, rate: Decimal, base_rule: str = "full",
            inclusive: bool = False) -> DocumentTax:
    """The DPP, DPP nilai lain and tax of a document's lines under one tax code (see the module's rule).

    `amounts`: each line's amount after discounts (quantity x price), tax-exclusive, or tax-inclusive when
    `inclusive`. Amounts must not be negative; `rate` is a percent (12 for 12 %)."""
    if any(a < 0 for a in amounts):
        raise ValueError("line amounts must not be negative")
    if not 0 <= rate <= 100:
        raise ValueError("rate must be between 0 and 100 percent")
    entered = to_rupiah(sum(amounts, Decimal(0)))
    if not inclusive:
        base = entered
        other = _other_base(base, base_rule)
        tax = _tax(other, rate)
        difference = Decimal(0)
    else:
        guess = to_rupiah(entered / (1 + effective_rate(rate, base_rule)))
        base = guess
        for candidate in (guess, guess - 1, guess + 1):
            if candidate >= 0 and candidate + _tax(_other_base(candidate, base_rule), rate) == entered:
                base = candidate
                break
        other = _other_base(base, base_rule)
        tax = _tax(other, rate)
        difference = entered - (base + tax)
    weights = list(amounts)
    lines = tuple(LineTax(b, o, t) for b, o, t in zip(allocate(base, weights), allocate(other, weights),
                                                     allocate(tax, weights)))
    return DocumentTax(base, other, tax, base + tax, difference, lines)
