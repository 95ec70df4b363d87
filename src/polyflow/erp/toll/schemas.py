"""Toll manufacturing API shapes: orders with their lines and material moves, the actions' bodies, an
order's balance and the customer material report. Quantities "1000.000", amounts "1250.00"."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from polyflow.kit.limits import Day
from polyflow.kit.money import Amount, AmountOut, Quantity


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TollLineIn(_In):
    """What the customer sends (material) and what we make of it (finished); either side may be left out."""

    material_variant_id: uuid.UUID | None = None
    material_qty: Quantity | None = Field(default=None, gt=0, description="Expected, in the material's unit")
    finished_variant_id: uuid.UUID | None = None
    finished_qty: Quantity | None = Field(default=None, gt=0, description="Expected, in the goods' unit")

    @model_validator(mode="after")
    def _pairs(self) -> "TollLineIn":
        if (self.material_variant_id is None) != (self.material_qty is None):
            raise ValueError("material_variant_id and material_qty go together")
        if (self.finished_variant_id is None) != (self.finished_qty is None):
            raise ValueError("finished_variant_id and finished_qty go together")
        if self.material_variant_id is None and self.finished_variant_id is None:
            raise ValueError("a line names a material, a finished product, or both")
        return self


class TollOrderIn(_In):
    """A draft toll order. The fee is `fee_price` per `fee_basis` unit (KG or PCS) of finished goods
    delivered; the finished products must be counted in that unit."""

    customer_id: uuid.UUID
    order_date: Day
    service_description: str = Field(min_length=1, max_length=200, examples=["Jasa maklon karung plastik"])
    fee_basis: Literal["KG", "PCS"] = "KG"
    # A zero fee would give an invoice with no journal to post: the completed order could then be neither
    # invoiced nor cancelled.
    fee_price: Amount = Field(gt=0)
    tax_code: str = Field(default="PPN", min_length=1, max_length=20, description="PPN on the fee")
    pph23_code: str = Field(default="PPH23", min_length=1, max_length=20,
                            description="PPh 23 the customer withholds when it pays")
    customer_reference: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=2000)
    lines: list[TollLineIn] = Field(min_length=1, max_length=100)

    @field_validator("tax_code", "pph23_code")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.strip().upper()


class MoveLineIn(_In):
    variant_id: uuid.UUID
    quantity: Quantity = Field(gt=0)


class _MoveHeader(_In):
    move_date: Day | None = None  # default: the company's today
    reference: str | None = Field(default=None, max_length=100, description="e.g. the surat jalan number")
    note: str | None = Field(default=None, max_length=2000)


class MovesIn(_MoveHeader):
    """Material received, goods delivered or leftover returned: one quantity per variant."""

    lines: list[MoveLineIn] = Field(min_length=1, max_length=100)


class ConsumeIn(_MoveHeader):
    """Production on the order: material consumed, finished goods produced, material scrapped."""

    consumed: list[MoveLineIn] = Field(default_factory=list, max_length=100)
    produced: list[MoveLineIn] = Field(default_factory=list, max_length=100)
    scrap: list[MoveLineIn] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _something(self) -> "ConsumeIn":
        if not (self.consumed or self.produced or self.scrap):
            raise ValueError("give consumed, produced or scrap quantities")
        return self


class TollInvoiceIn(_In):
    invoice_date: Day | None = None  # default: the company's today
    note: str | None = Field(default=None, max_length=2000)


class TollLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    line_no: int
    material_variant_id: uuid.UUID | None
    material_qty: Quantity | None
    finished_variant_id: uuid.UUID | None
    finished_qty: Quantity | None


class MoveOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    variant_id: uuid.UUID
    kind: str
    quantity: Quantity
    move_date: date
    reference: str | None
    note: str | None
    created_by: uuid.UUID | None
    created_at: datetime


class TollOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str | None
    customer_id: uuid.UUID
    order_date: date
    status: str
    service_description: str
    fee_basis: str
    fee_price: AmountOut
    tax_code: str
    pph23_code: str
    customer_reference: str | None
    note: str | None
    sales_invoice_id: uuid.UUID | None
    pph23_expected: AmountOut | None
    created_by: uuid.UUID | None
    confirmed_by: uuid.UUID | None
    confirmed_at: datetime | None
    completed_at: datetime | None
    lines: list[TollLineOut]
    moves: list[MoveOut]


class BalanceRow(BaseModel):
    """One variant's quantities (in its unit). Material on hand = received - consumed - returned leftover
    - scrap; goods on hand = produced - returned as goods."""

    variant_id: uuid.UUID
    sku: str
    name: str
    unit: str
    received: Quantity = Decimal(0)
    consumed: Quantity = Decimal(0)
    returned_leftover: Quantity = Decimal(0)
    scrap: Quantity = Decimal(0)
    on_hand: Quantity = Decimal(0)
    produced: Quantity = Decimal(0)
    returned_goods: Quantity = Decimal(0)
    goods_on_hand: Quantity = Decimal(0)
    expected_material: Quantity | None = None
    expected_finished: Quantity | None = None


class TollBalance(BaseModel):
    order_id: uuid.UUID
    number: str | None
    status: str
    as_of: date
    rows: list[BalanceRow]


class CustomerMaterial(BaseModel):
    customer_id: uuid.UUID
    customer_code: str
    customer_name: str
    rows: list[BalanceRow]


class TollMaterialReport(BaseModel):
    """Customer-owned material by customer and variant as of a date (quantities only: none of it is ours)."""

    as_of: date
    customers: list[CustomerMaterial]
