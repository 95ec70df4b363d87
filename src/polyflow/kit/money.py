"""Money and quantities: Decimal only, one rounding rule, one written form.

The rule, stated once: amounts are kept to the cent and rounded **half up** (`money`); documents that
must be in whole rupiah (invoices, tax bases, tax) round to Rp 1, half up as well (`rupiah`). Amounts
are always written with two decimals ("21500.00"), on create and on read alike (`Amount`).
Number strings in exponent form ("1e3"), NaN and infinities are refused: a quantity or an amount is
typed the way it is read."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, Field, PlainSerializer

CENT = Decimal("0.01")
RUPIAH = Decimal("1")
ZERO = Decimal("0.00")


def money(value) -> Decimal:
    """An amount to the cent, half up."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def quantity_text(value) -> str:
    """A quantity as people read it in a message: "1000", "2.5", never "1E+3" or "2.500"."""
    return f"{Decimal(value).normalize():f}"


def rupiah(value) -> Decimal:
    """An amount in whole rupiah, half up (still written with two decimals)."""
    return Decimal(value).quantize(RUPIAH, rounding=ROUND_HALF_UP).quantize(CENT)


def _plain_decimal(value):
    # Strings are what JSON clients send for exact figures: accept plain notation only.
    if isinstance(value, str):
        text = value.strip()
        if any(ch in text for ch in "eE") or text.lower().lstrip("+-") in ("nan", "inf", "infinity", "snan"):
            raise ValueError("write the number in plain notation (e.g. 1000 or 1000.50), not in exponent form")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError("not a number") from None
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a finite number")
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("not a finite number")
        if value.as_tuple().exponent > 0:  # Decimal("1E+3") from code: the same value, written plainly
            if value.adjusted() >= 28:  # a JSON float such as 8e307: more digits than quantize (or NUMERIC) holds
                raise ValueError("the number is too large")
            value = value.quantize(Decimal(1))
    return value


def _fixed(places: int):
    q = Decimal(1).scaleb(-places)
    return PlainSerializer(lambda v: f"{Decimal(v).quantize(q, rounding=ROUND_HALF_UP):f}", return_type=str)


# Input and output types for schemas.
Amount = Annotated[Decimal, BeforeValidator(_plain_decimal), Field(max_digits=18, decimal_places=2), _fixed(2)]
Quantity = Annotated[Decimal, BeforeValidator(_plain_decimal), Field(max_digits=18, decimal_places=3), _fixed(3)]
UnitCost = Annotated[Decimal, BeforeValidator(_plain_decimal), Field(max_digits=18, decimal_places=4), _fixed(4)]
# Output-only: an amount echoed in the canonical form.
AmountOut = Annotated[Decimal, _fixed(2)]
