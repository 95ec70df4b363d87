"""Payments: customer receipts (direction `in`) and supplier payments (`out`), posted at once, each
allocated to open invoices (or credit notes) of its partner; a cancellation reverses it, never an edit.

The amounts tie out by construction (checked here again so that no other writer breaks them):
  in : amount received + bank charges + PPh 23 withheld by the customer = allocated (Cr 1130)
  out: amount paid (Cr bank)  + PPh 23 we withheld (Cr 2140)          = allocated (Dr 2110) + bank charges
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polyflow.kit.db import TenantBase, Timestamps, UUIDPk

DIRECTIONS = ("in", "out")
PAYMENT_STATES = ("posted", "cancelled")


class Payment(UUIDPk, Timestamps, TenantBase):
    """One customer receipt or supplier payment through a cash or bank account."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        CheckConstraint("status IN ('posted', 'cancelled')", name="status"),
        CheckConstraint("amount >= 0 AND bank_charges >= 0 AND withheld >= 0 AND allocated > 0", name="amounts"),
        CheckConstraint("(direction = 'in' AND amount + bank_charges + withheld = allocated) OR "
                        "(direction = 'out' AND amount + withheld = allocated + bank_charges)", name="ties_out"),
        CheckConstraint("withheld = 0 OR (withholding_slip_no IS NOT NULL AND withholding_date IS NOT NULL)",
                        name="withholding_slip"),
        Index("ix_payments_partner_id_payment_date", "partner_id", "payment_date"),
    )

    number: Mapped[str] = mapped_column(String(32), unique=True)
    direction: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12), default="posted", server_default="posted")
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    payment_date: Mapped[date] = mapped_column(Date)
    account_code: Mapped[str] = mapped_column(String(20), ForeignKey("accounts.code", onupdate="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    allocated: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    bank_charges: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    # PPh 23: withheld by the customer on a receipt (prepaid, 1171), or by us on a supplier payment (2140).
    withheld: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    withholding_slip_no: Mapped[str | None] = mapped_column(String(64))  # bukti potong
    withholding_date: Mapped[date | None] = mapped_column(Date, index=True)
    reference: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    journal_entry_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journal_entries.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cancel_entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journal_entries.id"))
    cancel_date: Mapped[date | None] = mapped_column(Date)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    cancelled_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    allocations: Mapped[list["PaymentAllocation"]] = relationship(
        back_populates="payment", cascade="all, delete-orphan", order_by="PaymentAllocation.position",
        lazy="selectin")


class PaymentAllocation(UUIDPk, TenantBase):
    """The part of a payment applied to one invoice (a credit note: a negative amount)."""

    __tablename__ = "payment_allocations"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount"),
        CheckConstraint("num_nonnulls(sales_invoice_id, purchase_invoice_id) = 1", name="one_invoice"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    sales_invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sales_invoices.id"), index=True)
    purchase_invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("purchase_invoices.id"), index=True)
    invoice_number: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))

    payment: Mapped[Payment] = relationship(back_populates="allocations")

    @property
    def invoice_id(self) -> uuid.UUID:
        """The sales invoice / credit note or the supplier invoice this amount went to."""
        return self.sales_invoice_id or self.purchase_invoice_id
