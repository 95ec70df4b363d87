"""Payments API shapes: receipts and supplier payments with their allocations, the customer statement and
the PPh 23 register. Amounts are written "21500.00" on the way out."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from polyflow.kit.limits import Day
from polyflow.kit.money import Amount, AmountOut


class AllocationIn(BaseModel):
    """An amount applied to one open invoice (positive) or one credit note (negative, the credit used)."""

    model_config = ConfigDict(extra="forbid")

    invoice_id: uuid.UUID
    amount: Amount


class PaymentIn(BaseModel):
    """A receipt or a supplier payment, posted at once.

    Receipt: amount received + bank_charges + withheld = the sum of the allocations.
    Supplier payment: amount paid + withheld = the sum of the allocations + bank_charges."""

    model_config = ConfigDict(extra="forbid")

    partner_id: uuid.UUID
    payment_date: Day | None = None  # default: the company's today
    account: str = Field(min_length=1, max_length=20, description="cash or bank account (110x), e.g. 1102")
    amount: Amount = Field(ge=0)
    bank_charges: Amount = Field(default=Decimal(0), ge=0)
    withheld: Amount = Field(default=Decimal(0), ge=0, description="PPh 23 withheld (bukti potong)")
    withholding_slip_no: str | None = Field(default=None, min_length=1, max_length=64)
    withholding_date: Day | None = None
    reference: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, max_length=2000)
    allocations: list[AllocationIn] = Field(min_length=1, max_length=200)

    @field_validator("account")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.strip().upper()

    @model_validator(mode="after")
    def _slip(self) -> "PaymentIn":
        # Invoices are in whole rupiah, so is what settles them (and what the bank or the tax office takes).
        for label, value in (("amount", self.amount), ("bank_charges", self.bank_charges),
                             ("withheld", self.withheld), *((f"allocation to {a.invoice_id}", a.amount)
                                                           for a in self.allocations)):
            if value != value.to_integral_value():
                raise ValueError(f"{label} must be whole rupiah (no cents): {value}")
        if self.withheld > 0 and not self.withholding_slip_no:
            raise ValueError("withheld PPh 23 needs the withholding slip number (bukti potong)")
        if self.withheld == 0 and (self.withholding_slip_no or self.withholding_date):
            raise ValueError("a withholding slip goes with a withheld amount")
        ids = [a.invoice_id for a in self.allocations]
        if len(set(ids)) != len(ids):
            raise ValueError("each invoice appears once in the allocations")
        return self


class CancelIn(BaseModel):
    """Cancel a posted payment: a reversing journal on `cancel_date` (default: the payment's date)."""

    model_config = ConfigDict(extra="forbid")

    cancel_date: Day | None = None
    reason: str | None = Field(default=None, max_length=500)


class AllocationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    invoice_id: uuid.UUID
    invoice_number: str
    amount: AmountOut


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    direction: str
    status: str
    partner_id: uuid.UUID
    payment_date: date
    account: str = Field(validation_alias="account_code")
    amount: AmountOut
    allocated: AmountOut
    bank_charges: AmountOut
    withheld: AmountOut
    withholding_slip_no: str | None
    withholding_date: date | None
    reference: str | None
    note: str | None
    journal_entry_id: uuid.UUID
    cancel_entry_id: uuid.UUID | None
    cancel_date: date | None
    cancel_reason: str | None
    created_by: uuid.UUID | None
    cancelled_by: uuid.UUID | None
    created_at: datetime
    allocations: list[AllocationOut]


class OpenItemOut(BaseModel):
    """What a payment can be allocated to: an open invoice (positive) or credit note (negative open amount)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    kind: str = "invoice"
    partner_id: uuid.UUID
    invoice_date: date
    due_date: date
    total: AmountOut
    open_amount: AmountOut
    control_account: str


class StatementLine(BaseModel):
    entry_date: date
    kind: str  # invoice, credit_note, receipt, receipt_cancelled
    number: str
    reference: str | None = None
    debit: AmountOut  # raises what the customer owes
    credit: AmountOut  # lowers it
    balance: AmountOut


class Statement(BaseModel):
    """A customer's account over a period: opening balance, documents, closing balance."""

    partner_id: uuid.UUID
    partner_code: str
    partner_name: str
    date_from: date
    date_to: date
    opening_balance: AmountOut
    lines: list[StatementLine]
    total_debit: AmountOut
    total_credit: AmountOut
    closing_balance: AmountOut


class Pph23Row(BaseModel):
    payment_id: uuid.UUID
    payment_number: str
    payment_date: date
    partner_id: uuid.UUID
    partner_code: str
    partner_name: str
    partner_npwp: str | None
    withholding_slip_no: str
    withholding_date: date
    invoices: list[str]
    amount: AmountOut


class Pph23Register(BaseModel):
    """PPh 23 slips of a month (by slip date): withheld by customers from us (prepaid, 1171) and withheld by
    us from suppliers (payable, 2140). Cancelled payments are left out."""

    month: str
    withheld_by_customers: list[Pph23Row]
    withheld_by_us: list[Pph23Row]
    total_withheld_by_customers: AmountOut
    total_withheld_by_us: AmountOut
