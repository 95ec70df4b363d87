"""Sales API shapes, and `OpenItem`, the open-invoice record the payments module reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from polyflow.kit.limits import Day
from polyflow.kit.money import Amount, AmountOut, Quantity

Percent = Decimal


@dataclass(frozen=True)
class OpenItem:
    """One open receivable for the payments module: a posted invoice (open_amount > 0 still owed) or a
    credit note (open_amount < 0: credit the customer still has). control_account is Piutang (1130)."""

    id: uuid.UUID
    number: str
    partner_id: uuid.UUID
    invoice_date: date
    due_date: date
    total: Decimal
    open_amount: Decimal
    control_account: str = "1130"
    kind: str = "invoice"  # or "credit_note" (negative total and open amount)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PricedLineIn(_In):
    """An order or quotation line. `unit_price` default: the customer's price list (partner sale price in
    effect on the document date), else the variant's, else the product's sale price."""

    variant_id: uuid.UUID
    quantity: Quantity = Field(gt=0)
    unit_price: Amount | None = Field(default=None, ge=0)
    discount_percent: Amount = Field(default=Decimal(0), ge=0, le=100)
    tax_code: str = Field(default="PPN", min_length=1, max_length=20)
    description: str | None = Field(default=None, max_length=200)


class QuotationIn(_In):
    customer_id: uuid.UUID
    quote_date: Day
    valid_until: Day | None = None
    prices_include_tax: bool = False
    note: str | None = Field(default=None, max_length=2000)
    lines: list[PricedLineIn] = Field(min_length=1, max_length=200)


class SalesOrderIn(_In):
    customer_id: uuid.UUID
    order_date: Day
    location: str = Field(min_length=1, max_length=64, description="Where stock is reserved and delivered from "
                                                                    "(id or code)")
    prices_include_tax: bool = False
    customer_reference: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=2000)
    lines: list[PricedLineIn] = Field(min_length=1, max_length=200)


class ConvertIn(_In):
    order_date: Day | None = None
    location: str = Field(min_length=1, max_length=64)


class PricedLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    line_no: int
    variant_id: uuid.UUID
    description: str
    unit: str
    quantity: Quantity
    unit_price: AmountOut
    discount_percent: AmountOut
    tax_code: str
    amount: AmountOut
    base: AmountOut
    tax: AmountOut


class OrderLineOut(PricedLineOut):
    qty_reserved: Quantity
    qty_delivered: Quantity
    qty_invoiced: Quantity
    qty_returned: Quantity


class QuotationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str | None
    customer_id: uuid.UUID
    quote_date: date
    valid_until: date | None
    status: str
    prices_include_tax: bool
    base: AmountOut
    tax: AmountOut
    total: AmountOut
    note: str | None
    sales_order_id: uuid.UUID | None
    created_by: uuid.UUID | None
    created_at: datetime
    lines: list[PricedLineOut]


class SalesOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str | None
    customer_id: uuid.UUID
    order_date: date
    location_id: uuid.UUID
    status: str
    prices_include_tax: bool
    customer_reference: str | None
    note: str | None
    base: AmountOut
    tax: AmountOut
    total: AmountOut
    invoiced_total: AmountOut
    dp_base: AmountOut
    dp_tax: AmountOut
    dp_base_deducted: AmountOut
    dp_tax_deducted: AmountOut
    created_by: uuid.UUID | None
    confirmed_by: uuid.UUID | None
    confirmed_at: datetime | None
    created_at: datetime
    lines: list[OrderLineOut]


class DeliveryLineIn(_In):
    order_line_id: uuid.UUID
    quantity: Quantity = Field(gt=0)


class DeliveryIn(_In):
    order_id: uuid.UUID
    delivery_date: Day
    location: str | None = Field(default=None, min_length=1, max_length=64,
                                 description="Default: the order's location")
    vehicle: str | None = Field(default=None, max_length=50)
    note: str | None = Field(default=None, max_length=2000)
    lines: list[DeliveryLineIn] = Field(min_length=1, max_length=200)


class DeliveryLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    line_no: int
    order_line_id: uuid.UUID
    variant_id: uuid.UUID
    quantity: Quantity
    movement_id: uuid.UUID | None
    cost: AmountOut | None
    qty_returned: Quantity


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str | None
    order_id: uuid.UUID
    customer_id: uuid.UUID
    location_id: uuid.UUID
    delivery_date: date
    status: str
    vehicle: str | None
    note: str | None
    created_by: uuid.UUID | None
    posted_by: uuid.UUID | None
    posted_at: datetime | None
    lines: list[DeliveryLineOut]


class InvoiceLineIn(_In):
    order_line_id: uuid.UUID
    quantity: Quantity = Field(gt=0)
    goods_or_services: Literal["A", "B"] = Field(default="A", description="Coretax Opt: A goods, B services")


class InvoiceIn(_In):
    """An invoice of delivered goods (`lines`, default all delivered not yet invoiced), or a down-payment
    invoice: `down_payment_percent` of the order's DPP or a `down_payment_amount` (DPP, whole rupiah)."""

    order_id: uuid.UUID
    invoice_date: Day
    note: str | None = Field(default=None, max_length=2000)
    lines: list[InvoiceLineIn] | None = Field(default=None, max_length=200, description=(
        "Default: every delivered, not yet invoiced quantity of the order"))
    down_payment_percent: Amount | None = Field(default=None, gt=0, le=100)
    down_payment_amount: Amount | None = Field(default=None, gt=0, decimal_places=0)

    @model_validator(mode="after")
    def _one_kind(self):
        if self.down_payment_percent is not None and self.down_payment_amount is not None:
            raise ValueError("give down_payment_percent or down_payment_amount, not both")
        if self.lines is not None and (self.down_payment_percent is not None or self.down_payment_amount is not None):
            raise ValueError("a down-payment invoice has no lines")
        return self


class InvoiceLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    line_no: int
    order_line_id: uuid.UUID | None  # None on a service invoice without an order
    variant_id: uuid.UUID
    item_code: str
    description: str
    unit_code: str
    goods_or_services: str
    quantity: Quantity
    unit_price: AmountOut
    discount: AmountOut
    tax_code: str
    tax_rate: AmountOut
    amount: AmountOut
    base: AmountOut
    other_base: AmountOut
    tax: AmountOut
    qty_credited: Quantity


class InvoiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str | None
    kind: str
    order_id: uuid.UUID | None  # None on a service invoice without an order
    customer_id: uuid.UUID
    invoice_date: date
    due_date: date
    status: str
    prices_include_tax: bool
    base: AmountOut
    other_base: AmountOut
    tax: AmountOut
    total: AmountOut
    paid: AmountOut
    credited: AmountOut
    open_amount: AmountOut
    is_down_payment: bool
    dp_base_deducted: AmountOut
    dp_tax_deducted: AmountOut
    credit_note_of_id: uuid.UUID | None
    journal_entry_id: uuid.UUID | None
    note: str | None
    trx_code: str | None
    buyer_name: str | None
    buyer_tin: str | None
    buyer_document: str | None
    buyer_idtku: str | None
    buyer_address: str | None
    buyer_is_pkp: bool | None
    created_by: uuid.UUID | None
    posted_by: uuid.UUID | None
    posted_at: datetime | None
    lines: list[InvoiceLineOut]


class ReturnLineIn(_In):
    delivery_line_id: uuid.UUID
    quantity: Quantity = Field(gt=0)


class ReturnIn(_In):
    invoice_id: uuid.UUID
    return_date: Day
    location: str = Field(min_length=1, max_length=64, description="Where the goods come back to (id or code)")
    reason: str | None = Field(default=None, max_length=2000)
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=200)


class ReturnLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    line_no: int
    delivery_line_id: uuid.UUID
    invoice_line_id: uuid.UUID
    variant_id: uuid.UUID
    quantity: Quantity
    movement_id: uuid.UUID | None
    cost: AmountOut | None


class ReturnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str | None
    invoice_id: uuid.UUID
    order_id: uuid.UUID
    customer_id: uuid.UUID
    location_id: uuid.UUID
    return_date: date
    status: str
    reason: str | None
    credit_note_id: uuid.UUID | None
    created_by: uuid.UUID | None
    posted_by: uuid.UUID | None
    posted_at: datetime | None
    lines: list[ReturnLineOut]


class AgingRow(BaseModel):
    partner_id: uuid.UUID
    partner_code: str
    partner_name: str
    current: AmountOut
    days_1_30: AmountOut
    days_31_60: AmountOut
    days_61_90: AmountOut
    over_90: AmountOut
    total: AmountOut


class Aging(BaseModel):
    as_of: date
    rows: list[AgingRow]
    totals: dict[str, AmountOut]  # per bucket, over all customers
    total: AmountOut
