"""Purchasing request and response shapes, and the OpenItem the payments module works with."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from polyflow.kit.limits import Day
from polyflow.kit.money import AmountOut, Quantity, UnitCost

UnitPrice = Decimal  # validated below: >= 0, two decimals
_SEPARATORS = re.compile(r"[\s.\-/]")


def _price(value):
    if isinstance(value, str) and any(ch in value for ch in "eE"):
        raise ValueError("write the number in plain notation (e.g. 1000 or 1000.50), not in exponent form")
    return value


def tax_invoice_number(value: str | None) -> str | None:
    """A faktur pajak number as digits: 16 (the old 3-3-2-8 e-Faktur form, e.g. 010.000-24.00000001) or
    17 (Coretax) digits after dots, dashes, slashes and spaces are taken out."""
    if value is None or value.strip() == "":
        return None
    digits = _SEPARATORS.sub("", value)
    if not (digits.isascii() and digits.isdigit() and len(digits) in (16, 17)):
        raise ValueError("a tax invoice (faktur pajak) number has 16 or 17 digits (dots and dashes allowed)")
    return digits


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# -- purchase requests ---------------------------------------------------------------------------------------


class RequestLineIn(_In):
    variant_id: uuid.UUID
    quantity: Quantity = Field(gt=0)
    needed_by: Day | None = None


class RequestIn(_In):
    request_date: Day | None = None
    note: str | None = Field(default=None, max_length=500)
    lines: list[RequestLineIn] = Field(min_length=1, max_length=200)


class RequestLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    line_no: int
    variant_id: uuid.UUID
    quantity: Quantity
    needed_by: date | None


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str | None
    status: str
    request_date: date
    note: str | None
    created_by: uuid.UUID | None
    decided_by: uuid.UUID | None
    order_id: uuid.UUID | None
    lines: list[RequestLineOut]
    created_at: datetime


class ConvertIn(_In):
    """Turn an approved request into a draft purchase order to this supplier (prices from its price list)."""

    partner_id: uuid.UUID
    order_date: Day | None = None
    expected_date: Day | None = None


# -- purchase orders -----------------------------------------------------------------------------------------


class OrderLineIn(_In):
    variant_id: uuid.UUID
    quantity: Quantity = Field(gt=0)
    unit: str | None = Field(default=None, max_length=16, description="The product's stock unit (the default)")
    unit_price: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=2, allow_inf_nan=False,
                                       description="Default: the supplier's purchase price, else the variant's "
                                                   "buy price")
    tax_code: str | None = Field(default=None, max_length=20,
                                 description="Default PPN-IN for a PKP supplier, PPN-NC otherwise")

    _plain = field_validator("unit_price", mode="before")(classmethod(lambda cls, v: _price(v)))


class OrderIn(_In):
    partner_id: uuid.UUID
    order_date: Day | None = None
    expected_date: Day | None = None
    prices_include_tax: bool = False
    note: str | None = Field(default=None, max_length=500)
    lines: list[OrderLineIn] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _dates(self):
        if self.order_date and self.expected_date and self.expected_date < self.order_date:
            raise ValueError("expected_date is before order_date")
        return self


class OrderLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    line_no: int
    variant_id: uuid.UUID
    quantity: Quantity
    unit: str
    unit_price: AmountOut
    net_unit_price: UnitCost
    tax_code: str
    base_amount: AmountOut
    tax_amount: AmountOut
    qty_received: Quantity
    qty_invoiced: Quantity
    qty_returned_open: Quantity
    qty_debited: Quantity
    received_value: AmountOut
    cleared_value: AmountOut


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str | None
    status: str
    partner_id: uuid.UUID
    order_date: date
    expected_date: date | None
    prices_include_tax: bool
    subtotal: AmountOut
    tax_amount: AmountOut
    total: AmountOut
    note: str | None
    created_by: uuid.UUID | None
    approved_by: uuid.UUID | None
    approved_at: datetime | None
    lines: list[OrderLineOut]
    created_at: datetime


# -- goods receipts ------------------------------------------------------------------------------------------


class ReceiptLineIn(_In):
    order_line_id: uuid.UUID
    quantity: Quantity = Field(gt=0)
    lot_number: str | None = Field(default=None, max_length=64, description="The supplier's lot/batch number")


class ReceiptIn(_In):
    order_id: uuid.UUID
    location: str = Field(min_length=1, max_length=64, description="Location id or code")
    receipt_date: Day | None = None
    delivery_note: str | None = Field(default=None, max_length=100)
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=200)


class ReceiptLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    line_no: int
    order_line_id: uuid.UUID
    variant_id: uuid.UUID
    quantity: Quantity
    unit_cost: UnitCost
    value: AmountOut
    lot_number: str | None
    movement_id: uuid.UUID


class ReceiptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    partner_id: uuid.UUID
    location_id: uuid.UUID
    receipt_date: date
    delivery_note: str | None
    value: AmountOut
    created_by: uuid.UUID | None
    lines: list[ReceiptLineOut]
    created_at: datetime


# -- supplier invoices ---------------------------------------------------------------------------------------


class InvoiceLineIn(_In):
    order_line_id: uuid.UUID
    quantity: Quantity = Field(gt=0)
    unit_price: Decimal | None = Field(default=None, ge=0, max_digits=18, decimal_places=2, allow_inf_nan=False,
                                       description="The supplier's price; default the order's")

    _plain = field_validator("unit_price", mode="before")(classmethod(lambda cls, v: _price(v)))


class InvoiceIn(_In):
    order_id: uuid.UUID
    invoice_date: Day | None = None
    supplier_invoice_no: str | None = Field(default=None, max_length=64)
    tax_invoice_no: str | None = Field(default=None, max_length=40,
                                       description="Faktur pajak number (16 or 17 digits); needed to post PPN")
    note: str | None = Field(default=None, max_length=500)
    lines: list[InvoiceLineIn] = Field(min_length=1, max_length=200)

    _faktur = field_validator("tax_invoice_no")(classmethod(lambda cls, v: tax_invoice_number(v)))


class InvoiceLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    line_no: int
    order_line_id: uuid.UUID
    variant_id: uuid.UUID
    quantity: Quantity
    unit_price: AmountOut
    tax_code: str
    base_amount: AmountOut
    tax_amount: AmountOut
    cleared_value: AmountOut | None
    price_difference: AmountOut | None


class InvoiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str | None
    status: str
    order_id: uuid.UUID
    partner_id: uuid.UUID
    invoice_date: date
    due_date: date
    supplier_invoice_no: str | None
    tax_invoice_no: str | None
    prices_include_tax: bool
    subtotal: AmountOut
    tax_amount: AmountOut
    total: AmountOut
    price_difference: AmountOut
    paid: AmountOut
    credited: AmountOut
    open_amount: AmountOut
    note: str | None
    journal_entry_id: uuid.UUID | None
    created_by: uuid.UUID | None
    posted_by: uuid.UUID | None
    posted_at: datetime | None
    lines: list[InvoiceLineOut]
    created_at: datetime


# -- purchase returns ----------------------------------------------------------------------------------------


class ReturnLineIn(_In):
    order_line_id: uuid.UUID
    quantity: Quantity = Field(gt=0)


class ReturnIn(_In):
    order_id: uuid.UUID
    location: str = Field(min_length=1, max_length=64, description="Location id or code the goods leave from")
    return_date: Day | None = None
    reason: str | None = Field(default=None, max_length=500)
    tax_invoice_no: str | None = Field(default=None, max_length=40,
                                       description="The supplier's faktur pajak the debit note corrects")
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=200)

    _faktur = field_validator("tax_invoice_no")(classmethod(lambda cls, v: tax_invoice_number(v)))


class ReturnLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    line_no: int
    order_line_id: uuid.UUID
    variant_id: uuid.UUID
    quantity: Quantity
    qty_not_invoiced: Quantity
    stock_value: AmountOut
    movement_id: uuid.UUID


class ReturnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    order_id: uuid.UUID
    partner_id: uuid.UUID
    location_id: uuid.UUID
    return_date: date
    reason: str | None
    tax_invoice_no: str | None
    debit_base: AmountOut
    debit_tax: AmountOut
    debit_total: AmountOut
    journal_entry_id: uuid.UUID | None
    created_by: uuid.UUID | None
    lines: list[ReturnLineOut]
    created_at: datetime


# -- landed costs --------------------------------------------------------------------------------------------


class LandedCostIn(_In):
    receipt_id: uuid.UUID
    cost_date: Day | None = Field(default=None, description="Default: the receipt's date (later issues re-costed)")
    description: str = Field(min_length=1, max_length=200, description="e.g. 'Freight Tanjung Priok - plant'")
    amount: Decimal = Field(gt=0, lt=10 ** 14, max_digits=18, decimal_places=2, allow_inf_nan=False,
                            description="Whole rupiah, without PPN")

    _plain = field_validator("amount", mode="before")(classmethod(lambda cls, v: _price(v)))

    @field_validator("amount")
    @classmethod
    def _whole(cls, value: Decimal) -> Decimal:
        if value != value.to_integral_value():
            raise ValueError("a landed cost is in whole rupiah")
        return value


class LandedCostLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    line_no: int
    receipt_line_id: uuid.UUID
    variant_id: uuid.UUID
    amount: AmountOut
    movement_id: uuid.UUID


class LandedCostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    receipt_id: uuid.UUID
    cost_date: date
    description: str
    amount: AmountOut
    counter_account: str
    created_by: uuid.UUID | None
    lines: list[LandedCostLineOut]
    created_at: datetime


# -- open items and aging ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenItem:
    """A posted supplier invoice as the payments module sees it."""

    id: uuid.UUID
    number: str
    partner_id: uuid.UUID
    invoice_date: date
    due_date: date
    total: Decimal
    open_amount: Decimal
    control_account: str  # '2110' Hutang Usaha


class AgingBuckets(BaseModel):
    """Open amounts by days past due: current (not yet due), 1-30, 31-60, 61-90, over 90."""

    current: AmountOut
    days_1_30: AmountOut
    days_31_60: AmountOut
    days_61_90: AmountOut
    over_90: AmountOut
    total: AmountOut


class AgingRow(AgingBuckets):
    partner_id: uuid.UUID
    partner_code: str
    partner_name: str


class Aging(BaseModel):
    as_of: date
    rows: list[AgingRow]
    totals: AgingBuckets
