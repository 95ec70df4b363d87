"""Helpers shared by the sales services: the customer, locations, pricing of lines, document lookup."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.inventory import service as inventory
from polyflow.erp.models import Location, Partner, ProductVariant, TaxCode
from polyflow.erp.partners import service as partners
from polyflow.erp.sales import repository
from polyflow.erp.sales.schemas import PricedLineIn
from polyflow.erp.tax import service as tax
from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.kit.money import rupiah
from polyflow.kit.money import quantity_text as qty  # noqa: F401  (used here and by the module's siblings)

QTY = Decimal("0.001")
# Amounts are NUMERIC(18, 2): at most 16 digits before the point.
MAX_AMOUNT = Decimal(10) ** 16
HUNDRED = Decimal(100)
# Tax code kinds a sale may carry (PPN Keluaran, or a supply at 0 / exempt / not collected).
SALES_TAX_KINDS = ("ppn_output", "zero_rated", "exempt", "not_collected")
# Coretax transaction code of a tax invoice, by the kind and base rule of its tax code.
TRX_CODES = {("ppn_output", "dpp_11_12"): "04", ("ppn_output", "full"): "01", ("zero_rated", "full"): "01",
             ("not_collected", "full"): "07", ("exempt", "full"): "08"}


async def get_doc(session: AsyncSession, model, doc_id: uuid.UUID, what: str, *, lock: bool = False):
    doc = await repository.get(session, model, doc_id, lock=lock)
    if doc is None:
        raise NotFound(f"{what} not found")
    return doc


def name(doc) -> str:
    """How messages name a document: its number, or 'draft' before it has one."""
    return doc.number or "the draft"


async def customer(session: AsyncSession, customer_id: uuid.UUID, *, active: bool = True) -> Partner:
    """The customer of a document: an existing partner that is a customer (and active, for new documents)."""
    partner = await repository.partners_by_id(session, [customer_id])
    found = partner.get(customer_id)
    if found is None:
        raise InvalidInput("unknown customer_id")
    if not found.is_customer:
        raise InvalidInput(f"{found.code} is not a customer")
    if active and not found.is_active:
        raise InvalidInput(f"customer {found.code} is inactive")
    return found


async def location(session: AsyncSession, ref: str) -> Location:
    """An active location by id or code (422 otherwise)."""
    try:
        loc = await inventory.get_location(session, uuid.UUID(ref))
    except (ValueError, NotFound):
        found, _ = await inventory.list_locations(session, q=ref, kind=None, active=None, sort="code", limit=50,
                                                  offset=0)
        loc = next((lo for lo in found if lo.code.upper() == ref.upper()), None)
    if loc is None:
        raise InvalidInput(f"unknown location '{ref}'")
    if not loc.is_active:
        raise InvalidInput(f"location {loc.code} is inactive")
    return loc


async def sales_tax_code(session: AsyncSession, code: str, on: date) -> TaxCode:
    """The version of a sales tax code in effect on the date (422 if none, or not a sales code)."""
    try:
        tax_code = await tax.in_effect(session, code, on)
    except NotFound as exc:
        raise InvalidInput(exc.message) from None
    if tax_code.kind not in SALES_TAX_KINDS:
        raise InvalidInput(f"tax code {tax_code.code} ({tax_code.kind}) is not charged on sales")
    return tax_code


async def variant(session: AsyncSession, variant_id: uuid.UUID) -> ProductVariant:
    found = await repository.variant(session, variant_id)
    if found is None:
        raise InvalidInput(f"unknown variant_id {variant_id}")
    if not (found.is_active and found.product.is_active):
        raise InvalidInput(f"{found.sku} is inactive")
    return found


def line_amount(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal) -> Decimal:
    """quantity x price less the discount, whole rupiah (half up)."""
    return rupiah(quantity * unit_price * (HUNDRED - discount_percent) / HUNDRED)


def apply_tax(lines, tax_codes: dict[str, TaxCode], inclusive: bool) -> tuple[Decimal, Decimal, dict]:
    """Fill each line's base/tax share (per tax code, tax.compute's one rounding rule); the document's DPP,
    tax and per-code figures. `lines` have .tax_code and .amount."""
    groups: dict[str, list] = defaultdict(list)
    for line in lines:
        groups[line.tax_code].append(line)
    base = tax_total = Decimal(0)
    per_code = {}
    for code, members in groups.items():
        figures = tax.compute(tax_codes[code], [m.amount for m in members], inclusive=inclusive)
        for member, share in zip(members, figures.lines):
            member.base, member.tax = share.base, share.tax
            if hasattr(member, "other_base"):
                member.other_base = share.other_base
        base += figures.base
        tax_total += figures.tax
        per_code[code] = figures
    return base, tax_total, per_code


async def priced_lines(session: AsyncSession, customer_id: uuid.UUID, on: date, data: list[PricedLineIn],
                       line_cls, inclusive: bool) -> tuple[list, Decimal, Decimal]:
    """Build priced lines (price default: the customer's price in effect, else the variant's or product's
    sale price), with tax shares; returns (lines, DPP, tax)."""
    lines, codes = [], {}
    for i, item in enumerate(data, 1):
        v = await variant(session, item.variant_id)
        price = item.unit_price
        if price is None:
            special = await partners.price_for(session, customer_id, v.id, "sale", on)
            price = special.price if special is not None else (
                v.sell_price if v.sell_price is not None else v.product.sell_price)
        if price is None:
            raise InvalidInput(f"line {i}: {v.sku} has no sale price; give unit_price")
        if item.quantity * price >= MAX_AMOUNT:
            raise InvalidInput(f"line {i}: {item.quantity.normalize():f} x {price} is too large (amounts stay below "
                               f"{MAX_AMOUNT:.0f} rupiah)")
        code = item.tax_code.strip().upper()
        if code not in codes:
            codes[code] = await sales_tax_code(session, code, on)
        lines.append(line_cls(line_no=i, variant_id=v.id, description=item.description or v.name,
                              unit=v.product.unit, quantity=item.quantity, unit_price=price,
                              discount_percent=item.discount_percent, tax_code=code,
                              amount=line_amount(item.quantity, price, item.discount_percent)))
    base, tax_total, _ = apply_tax(lines, codes, inclusive)
    if base + tax_total >= MAX_AMOUNT:
        raise InvalidInput(f"the document's total would reach {base + tax_total:.2f}; amounts stay below "
                           f"{MAX_AMOUNT:.0f} rupiah")
    return lines, base, tax_total


def refuse(doc, what: str, wanted: tuple[str, ...], action: str) -> None:
    """409 unless the document is in one of the wanted states."""
    if doc.status not in wanted:
        raise Conflict(f"{what} {name(doc)} is {doc.status.replace('_', ' ')}: it cannot be {action} "
                       f"(only when {' or '.join(w.replace('_', ' ') for w in wanted)})")
