"""Sales documents: quotations, sales orders, deliveries (surat jalan), sales invoices and credit notes,
sales returns. Owned by erp/sales; stock and journals they cause live in inventory and accounting.

Numbers: a document gets its gap-free number (`SO/2026/00001`) at the transition that makes it official
(send, confirm, post); a draft has none (NULL, which the unique constraint allows many of).
Amounts are whole rupiah (NUMERIC(18,2) with .00); unit prices may carry cents."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy import text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polyflow.kit.db import TenantBase, Timestamps, UUIDPk

QUOTATION_STATES = ("draft", "sent", "accepted", "rejected", "expired")
ORDER_STATES = ("draft", "confirmed", "partially_delivered", "delivered", "invoiced", "closed", "cancelled")
DOC_STATES = ("draft", "posted", "cancelled")
INVOICE_KINDS = ("invoice", "credit_note")
INVOICE_STATES = ("draft", "open", "partially_paid", "paid", "cancelled")


def _in(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _user_fk():
    return mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class _Priced:
    """Columns of a priced line (quotation and order lines)."""

    line_no: Mapped[int] = mapped_column(Integer)
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    description: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0), server_default="0")
    tax_code: Mapped[str] = mapped_column(String(20))
    # Line amount after discount, whole rupiah, as entered (tax-inclusive when the document says so).
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    base: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # its share of the document's DPP
    tax: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # its share of the document's tax


class _Totals:
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    base: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")  # DPP
    tax: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    total: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")


class Quotation(UUIDPk, Timestamps, _Totals, TenantBase):
    """An offer to a customer; accepted, it is converted into a draft sales order."""

    __tablename__ = "quotations"
    __table_args__ = (CheckConstraint(_in("status", QUOTATION_STATES), name="status"),)

    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"), index=True)
    quote_date: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="draft", server_default="draft")
    note: Mapped[str | None] = mapped_column(Text)
    sales_order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sales_orders.id"))
    created_by: Mapped[uuid.UUID | None] = _user_fk()

    lines: Mapped[list["QuotationLine"]] = relationship(order_by="QuotationLine.line_no", lazy="selectin",
                                                        cascade="all, delete-orphan")


class QuotationLine(UUIDPk, _Priced, TenantBase):
    __tablename__ = "quotation_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)

    quotation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("quotations.id", ondelete="CASCADE"), index=True)


class SalesOrder(UUIDPk, Timestamps, _Totals, TenantBase):
    """A customer's order. Confirming it checks the credit limit and reserves stock at `location_id`;
    deliveries and invoices follow its lines' delivered / invoiced quantities."""

    __tablename__ = "sales_orders"
    __table_args__ = (CheckConstraint(_in("status", ORDER_STATES), name="status"),
                      Index("ix_sales_orders_customer_id_status", "customer_id", "status"),
                      # The list's default order, newest first (revision 0020): a page without a sort.
                      Index("ix_sales_orders_order_date_created_at", "order_date", "created_at"))

    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    order_date: Mapped[date] = mapped_column(Date)
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locations.id"))
    status: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    customer_reference: Mapped[str | None] = mapped_column(String(100))  # the customer's PO number
    note: Mapped[str | None] = mapped_column(Text)
    # Sum of the totals of its posted invoices (for the credit check: ordered but not yet invoiced).
    invoiced_total: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    # Down payments invoiced (DPP and PPN) and how much of them later invoices have deducted.
    dp_base: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    dp_tax: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    dp_base_deducted: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    dp_tax_deducted: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    created_by: Mapped[uuid.UUID | None] = _user_fk()
    confirmed_by: Mapped[uuid.UUID | None] = _user_fk()
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list["SalesOrderLine"]] = relationship(order_by="SalesOrderLine.line_no", lazy="selectin",
                                                         cascade="all, delete-orphan")


class SalesOrderLine(UUIDPk, _Priced, TenantBase):
    __tablename__ = "sales_order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("qty_reserved >= 0 AND qty_reserved <= quantity", name="qty_reserved"),
        CheckConstraint("qty_delivered >= 0 AND qty_delivered <= quantity", name="qty_delivered"),
        CheckConstraint("qty_invoiced >= 0 AND qty_invoiced <= qty_delivered", name="qty_invoiced"),
        CheckConstraint("qty_returned >= 0 AND qty_returned <= qty_delivered", name="qty_returned"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sales_orders.id", ondelete="CASCADE"), index=True)
    qty_reserved: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")
    qty_delivered: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")
    qty_invoiced: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")
    qty_returned: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")


class Delivery(UUIDPk, Timestamps, TenantBase):
    """A delivery note (surat jalan) against one sales order, from one location. Posting moves the stock
    out (inventory: OUT reason sale, HPP at moving-average cost) and releases the order's reservation."""

    __tablename__ = "deliveries"
    __table_args__ = (CheckConstraint(_in("status", DOC_STATES), name="status"),
                      Index("ix_deliveries_delivery_date_created_at", "delivery_date", "created_at"))

    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sales_orders.id"), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locations.id"))
    delivery_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="draft", server_default="draft")
    vehicle: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = _user_fk()
    posted_by: Mapped[uuid.UUID | None] = _user_fk()
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list["DeliveryLine"]] = relationship(order_by="DeliveryLine.line_no", lazy="selectin",
                                                       cascade="all, delete-orphan")


class DeliveryLine(UUIDPk, TenantBase):
    __tablename__ = "delivery_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("qty_returned >= 0 AND qty_returned <= quantity", name="qty_returned"),
    )

    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    order_line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sales_order_lines.id"), index=True)
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    # Set when posted: the stock movement and the cost the goods left with (positive).
    movement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_movements.id"))
    cost: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    qty_returned: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")


class SalesInvoice(UUIDPk, Timestamps, _Totals, TenantBase):
    """A sales invoice (faktur) or a credit note (`kind`), with its open amount for the payments module and
    the e-Faktur (Coretax) fields of the buyer and the transaction, snapshot when it is posted.

    Open amount: an invoice's `open_amount` = total - paid - credited (credit notes applied to it); a credit
    note's `open_amount` is the part of it not applied to its invoice (a credit the customer still has,
    shown as a negative open item). Piutang (1130) = sum of invoices' open amounts - credit notes' ones.

    Down payments: a down-payment invoice (`is_down_payment`, no lines) bills a share of the order's DPP
    plus its PPN. The order's later invoices deduct the down payments' DPP and PPN as invoiced
    (`dp_base_deducted` / `dp_tax_deducted`, up to their own DPP): `total` is then the amount due, base +
    tax - the deductions."""

    __tablename__ = "sales_invoices"
    __table_args__ = (
        CheckConstraint(_in("kind", INVOICE_KINDS), name="kind"),
        CheckConstraint(_in("status", INVOICE_STATES), name="status"),
        CheckConstraint("open_amount >= 0 AND open_amount <= total", name="open_amount"),
        CheckConstraint("paid >= 0 AND credited >= 0", name="settled"),
        CheckConstraint("kind = 'invoice' OR credit_note_of_id IS NOT NULL", name="credit_note_of"),
        Index("ix_sales_invoices_customer_id_status", "customer_id", "status"),
        # AR aging reads the open ones in due-date order; the PPN summary a month's (and every month's) tax
        # figures from the index alone (revision 0012).
        Index("ix_sales_invoices_open_due_date", "due_date", "number", postgresql_where=text("open_amount > 0")),
        Index("ix_sales_invoices_invoice_date", "invoice_date",
              postgresql_include=["status", "kind", "tax", "dp_tax_deducted"]),
        # The list (0020): one kind, newest first, by a backward walk; its total from the index alone.
        Index("ix_sales_invoices_kind_invoice_date_created_at", "kind", "invoice_date", "created_at"),
    )

    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(12), default="invoice", server_default="invoice")
    # None on a service invoice billed without an order (toll manufacturing fees: invoicing.create_service_invoice).
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sales_orders.id"), index=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    invoice_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    other_base: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    paid: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    credited: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    open_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    is_down_payment: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    dp_base_deducted: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    dp_tax_deducted: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    credit_note_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sales_invoices.id"), index=True)
    journal_entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journal_entries.id"))
    note: Mapped[str | None] = mapped_column(Text)
    # e-Faktur / Coretax: transaction code (04 = DPP nilai lain), buyer identity as on the posting date.
    trx_code: Mapped[str | None] = mapped_column(String(2))
    buyer_name: Mapped[str | None] = mapped_column(String(200))
    buyer_tin: Mapped[str | None] = mapped_column(String(16))  # NPWP, or NIK of an individual
    buyer_document: Mapped[str | None] = mapped_column(String(10))  # TIN / NIK / Other
    buyer_idtku: Mapped[str | None] = mapped_column(String(22))  # NITKU
    buyer_address: Mapped[str | None] = mapped_column(Text)
    buyer_is_pkp: Mapped[bool | None] = mapped_column(Boolean)
    created_by: Mapped[uuid.UUID | None] = _user_fk()
    posted_by: Mapped[uuid.UUID | None] = _user_fk()
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list["SalesInvoiceLine"]] = relationship(order_by="SalesInvoiceLine.line_no", lazy="selectin",
                                                           cascade="all, delete-orphan")


class SalesInvoiceLine(UUIDPk, TenantBase):
    __tablename__ = "sales_invoice_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("goods_or_services IN ('A', 'B')", name="goods_or_services"),
    )

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sales_invoices.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    # None on a service invoice's line (no order behind it).
    order_line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sales_order_lines.id"), index=True)
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    item_code: Mapped[str] = mapped_column(String(64))  # SKU (Coretax `Code` of the line)
    description: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str] = mapped_column(String(16))
    goods_or_services: Mapped[str] = mapped_column(String(1), default="A", server_default="A")  # Coretax Opt
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    discount: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    tax_code: Mapped[str] = mapped_column(String(20))
    tax_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    base: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    other_base: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    tax: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    qty_credited: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")


class SalesReturn(UUIDPk, Timestamps, TenantBase):
    """Goods a customer sends back against an invoice: posted, they go into a location (inventory IN reason
    return, at the cost they left with) and a credit note is posted against the invoice."""

    __tablename__ = "sales_returns"
    __table_args__ = (CheckConstraint(_in("status", DOC_STATES), name="status"),)

    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sales_invoices.id"), index=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sales_orders.id"))
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locations.id"))
    return_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="draft", server_default="draft")
    reason: Mapped[str | None] = mapped_column(Text)
    credit_note_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sales_invoices.id"))
    created_by: Mapped[uuid.UUID | None] = _user_fk()
    posted_by: Mapped[uuid.UUID | None] = _user_fk()
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list["SalesReturnLine"]] = relationship(order_by="SalesReturnLine.line_no", lazy="selectin",
                                                          cascade="all, delete-orphan")


class SalesReturnLine(UUIDPk, TenantBase):
    __tablename__ = "sales_return_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity"),)

    return_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sales_returns.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    delivery_line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("delivery_lines.id"), index=True)
    invoice_line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sales_invoice_lines.id"))
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    movement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_movements.id"))
    cost: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
