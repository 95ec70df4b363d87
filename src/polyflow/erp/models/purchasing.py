"""Purchase to pay: purchase requests, purchase orders, goods receipts, supplier invoices and purchase
returns. Owned by erp/purchasing (the only writer of these tables); stock and journals they cause are
written by inventory and accounting.

Quantities are in the product's stock unit. Document amounts (DPP, tax, totals) are whole rupiah; unit
prices to the cent; receipt values to the cent (the stock ledger's precision). A draft has no number
(NULL): the gap-free number is taken at the transition that makes the document official."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polyflow.kit.db import TenantBase, Timestamps, UUIDPk

REQUEST_STATES = ("draft", "submitted", "approved", "rejected", "converted")
ORDER_STATES = ("draft", "approved", "partially_received", "received", "closed", "cancelled")
INVOICE_STATES = ("draft", "open", "partially_paid", "paid", "cancelled")


def _in(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class PurchaseRequest(UUIDPk, Timestamps, TenantBase):
    """An internal request to buy: lines of variant, quantity and needed-by date."""

    __tablename__ = "purchase_requests"
    __table_args__ = (CheckConstraint(_in("status", REQUEST_STATES), name="status"),)

    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="draft", server_default="draft")
    request_date: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("purchase_orders.id"))

    lines: Mapped[list["PurchaseRequestLine"]] = relationship(
        order_by="PurchaseRequestLine.line_no", cascade="all, delete-orphan", lazy="selectin")


class PurchaseRequestLine(UUIDPk, TenantBase):
    __tablename__ = "purchase_request_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchase_requests.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    needed_by: Mapped[date | None] = mapped_column(Date)


class PurchaseOrder(UUIDPk, Timestamps, TenantBase):
    """An order to a supplier. Totals (DPP, tax, total) are computed per tax code by erp/tax/calc.py."""

    __tablename__ = "purchase_orders"
    __table_args__ = (
        CheckConstraint(_in("status", ORDER_STATES), name="status"),
        Index("ix_purchase_orders_partner_id", "partner_id"),
        # The list's order by date (revision 0020), newest first by a backward walk: a page without a sort.
        Index("ix_purchase_orders_order_date_created_at_id", "order_date", "created_at", "id"),
    )

    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    order_date: Mapped[date] = mapped_column(Date)
    expected_date: Mapped[date | None] = mapped_column(Date)
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    subtotal: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # DPP, whole rupiah
    tax_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    total: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list["PurchaseOrderLine"]] = relationship(
        order_by="PurchaseOrderLine.line_no", cascade="all, delete-orphan", lazy="selectin")


class PurchaseOrderLine(UUIDPk, TenantBase):
    """One ordered variant and what has happened to it since: received (and its value on 2120), invoiced,
    returned before invoicing (`qty_returned_open`) and after invoicing (`qty_debited`, by debit note).
    Received not yet invoiced = qty_received - qty_invoiced - qty_returned_open; its value on 2120 is
    received_value - cleared_value."""

    __tablename__ = "purchase_order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("qty_received >= 0 AND qty_invoiced >= 0 AND qty_returned_open >= 0 AND qty_debited >= 0",
                        name="quantities"),
        CheckConstraint("qty_invoiced + qty_returned_open <= qty_received", name="invoiced_le_received"),
        CheckConstraint("qty_debited <= qty_invoiced", name="debited_le_invoiced"),
        UniqueConstraint("order_id", "line_no", name="uq_purchase_order_lines_order_line_no"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchase_orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    unit: Mapped[str] = mapped_column(String(16))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # as entered (incl. tax when the order says so)
    net_unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 4))  # DPP per unit: the receipt's stock cost
    tax_code: Mapped[str] = mapped_column(String(20))
    base_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # the line's DPP (whole rupiah)
    tax_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    qty_received: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")
    qty_invoiced: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")
    qty_returned_open: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")
    qty_debited: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")
    received_value: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    cleared_value: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    invoiced_base: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")


class GoodsReceipt(UUIDPk, Timestamps, TenantBase):
    """Goods received against one purchase order into one location, posted when created."""

    __tablename__ = "goods_receipts"
    __table_args__ = (Index("ix_goods_receipts_receipt_date_created_at_id", "receipt_date", "created_at", "id"),)

    number: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locations.id"))
    receipt_date: Mapped[date] = mapped_column(Date)
    delivery_note: Mapped[str | None] = mapped_column(String(100))  # the supplier's surat jalan number
    value: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    lines: Mapped[list["GoodsReceiptLine"]] = relationship(
        order_by="GoodsReceiptLine.line_no", cascade="all, delete-orphan", lazy="selectin")


class GoodsReceiptLine(UUIDPk, TenantBase):
    __tablename__ = "goods_receipt_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)

    receipt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("goods_receipts.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    order_line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchase_order_lines.id"), index=True)
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    unit_cost: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    value: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    lot_number: Mapped[str | None] = mapped_column(String(64))
    movement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_movements.id"))


class PurchaseInvoice(UUIDPk, Timestamps, TenantBase):
    """A supplier invoice matched to one purchase order. Open amount = total - paid - credited (debit
    notes of returns after invoicing); the payments module changes `paid` through apply_payment only."""

    __tablename__ = "purchase_invoices"
    __table_args__ = (
        CheckConstraint(_in("status", INVOICE_STATES), name="status"),
        CheckConstraint("paid >= 0 AND credited >= 0 AND open_amount >= 0", name="amounts"),
        CheckConstraint("status IN ('draft', 'cancelled') OR open_amount = total - paid - credited", name="open_amount"),
        Index("ix_purchase_invoices_partner_id_status", "partner_id", "status"),
        # AP aging reads the open ones; the PPN summary every month's input tax from the index alone (0012).
        Index("ix_purchase_invoices_open_invoice_date", "invoice_date",
              postgresql_where=text("status IN ('open', 'partially_paid')")),
        Index("ix_purchase_invoices_invoice_date", "invoice_date", postgresql_include=["status", "tax_amount"]),
        Index("ix_purchase_invoices_invoice_date_created_at_id", "invoice_date", "created_at", "id"),  # the list
    )

    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    invoice_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    supplier_invoice_no: Mapped[str | None] = mapped_column(String(64))
    tax_invoice_no: Mapped[str | None] = mapped_column(String(20))  # faktur pajak, digits only
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    subtotal: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    tax_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    total: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    price_difference: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    paid: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    credited: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    open_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    note: Mapped[str | None] = mapped_column(String(500))
    journal_entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journal_entries.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    posted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list["PurchaseInvoiceLine"]] = relationship(
        order_by="PurchaseInvoiceLine.line_no", cascade="all, delete-orphan", lazy="selectin")


class PurchaseInvoiceLine(UUIDPk, TenantBase):
    __tablename__ = "purchase_invoice_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchase_invoices.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    order_line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchase_order_lines.id"), index=True)
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    tax_code: Mapped[str] = mapped_column(String(20))
    base_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    tax_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    # Filled at posting: the received-not-billed value cleared (2120) and base - cleared (the difference).
    cleared_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    price_difference: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))


class PurchaseReturn(UUIDPk, Timestamps, TenantBase):
    """Goods sent back to the supplier from a location, posted when created. The part not yet invoiced
    clears received-not-billed; the part already invoiced carries a debit note (DPP, PPN) that reduces
    the payable: applied to the order's open invoices (`credited`)."""

    __tablename__ = "purchase_returns"

    number: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    partner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locations.id"))
    return_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(500))
    tax_invoice_no: Mapped[str | None] = mapped_column(String(20))  # the supplier's faktur being corrected
    debit_base: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    debit_tax: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    debit_total: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    journal_entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journal_entries.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    lines: Mapped[list["PurchaseReturnLine"]] = relationship(
        order_by="PurchaseReturnLine.line_no", cascade="all, delete-orphan", lazy="selectin")


class PurchaseReturnLine(UUIDPk, TenantBase):
    __tablename__ = "purchase_return_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)

    return_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchase_returns.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    order_line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("purchase_order_lines.id"), index=True)
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    qty_not_invoiced: Mapped[Decimal] = mapped_column(Numeric(18, 3))  # the rest was invoiced: debit note
    stock_value: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # what left the stock (moving average)
    movement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_movements.id"))


class LandedCost(UUIDPk, Timestamps, TenantBase):
    """Freight, duties and the like on one goods receipt: allocated to its lines by value (whole rupiah,
    largest remainder) and added to the stock's cost through inventory revaluations, against an accrued
    liability (2150 Biaya Yang Masih Harus Dibayar) that the forwarder's or customs' bill clears."""

    __tablename__ = "landed_costs"
    __table_args__ = (CheckConstraint("amount > 0 AND amount = trunc(amount)", name="amount"),)

    number: Mapped[str] = mapped_column(String(32), unique=True)
    receipt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("goods_receipts.id"), index=True)
    cost_date: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    counter_account: Mapped[str] = mapped_column(ForeignKey("accounts.code"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    lines: Mapped[list["LandedCostLine"]] = relationship(
        order_by="LandedCostLine.line_no", cascade="all, delete-orphan", lazy="selectin")


class LandedCostLine(UUIDPk, TenantBase):
    __tablename__ = "landed_cost_lines"

    landed_cost_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("landed_costs.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    receipt_line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("goods_receipt_lines.id"))
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    movement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_movements.id"))
