"""Toll manufacturing (maklon): a customer sends its own material, we convert it and send the goods (and
what is left) back, and invoice the service. Owned by erp/toll.

The customer's material is tracked here BY QUANTITY ONLY: it is never ours, so it has no stock
movement, no stock level, no value and no journal. Its variants are ordinary catalog variants (their own
stock, if any, is untouched). The only posting of a toll order is its fee invoice, made by the sales module.

Numbers: `MKL/2026/00001` (accounting.next_document_number) when the order is confirmed; a draft has none."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polyflow.kit.db import TenantBase, Timestamps, UUIDPk

TOLL_STATES = ("draft", "confirmed", "in_progress", "completed", "invoiced", "cancelled")
FEE_BASES = ("KG", "PCS")
# receive: the customer's material arrives; consume: it goes into production; produce: finished goods made
# from it; return_goods: finished goods sent to the customer; return_leftover: unused material sent back;
# scrap: material lost in production (trim, lumps, off-spec).
MOVE_KINDS = ("receive", "consume", "produce", "return_goods", "return_leftover", "scrap")


def _in(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _user_fk():
    return mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class TollOrder(UUIDPk, Timestamps, TenantBase):
    """One toll job for a customer: the fee per KG (or PCS) of finished goods delivered, PPN on the fee and
    PPh 23 withheld by the customer when it pays. Invoiced once, through sales (`sales_invoice_id`)."""

    __tablename__ = "toll_orders"
    __table_args__ = (
        CheckConstraint(_in("status", TOLL_STATES), name="status"),
        CheckConstraint(_in("fee_basis", FEE_BASES), name="fee_basis"),
        CheckConstraint("fee_price >= 0", name="fee_price"),
        Index("ix_toll_orders_customer_id_status", "customer_id", "status"),
    )

    number: Mapped[str | None] = mapped_column(String(32), unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partners.id"))
    order_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="draft", server_default="draft")
    service_description: Mapped[str] = mapped_column(String(200))
    fee_basis: Mapped[str] = mapped_column(String(8))
    fee_price: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # per fee_basis unit of goods delivered
    tax_code: Mapped[str] = mapped_column(String(20), default="PPN", server_default="PPN")  # PPN on the fee
    pph23_code: Mapped[str] = mapped_column(String(20), default="PPH23", server_default="PPH23")
    customer_reference: Mapped[str | None] = mapped_column(String(100))  # the customer's PO / SPK number
    note: Mapped[str | None] = mapped_column(Text)
    sales_invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sales_invoices.id"), unique=True)
    # PPh 23 the customer is expected to withhold from the fee invoice (its DPP x the PPh 23 rate).
    pph23_expected: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    created_by: Mapped[uuid.UUID | None] = _user_fk()
    confirmed_by: Mapped[uuid.UUID | None] = _user_fk()
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list["TollOrderLine"]] = relationship(order_by="TollOrderLine.line_no", lazy="selectin",
                                                        cascade="all, delete-orphan")
    moves: Mapped[list["TollMaterialMove"]] = relationship(
        order_by="[TollMaterialMove.move_date, TollMaterialMove.created_at]", lazy="selectin",
        cascade="all, delete-orphan")


class TollOrderLine(UUIDPk, TenantBase):
    """What the customer sends (material, expected quantity) and what we make of it (finished, expected
    quantity); either side may be empty (a masterbatch that makes nothing on its own)."""

    __tablename__ = "toll_order_lines"
    __table_args__ = (
        CheckConstraint("material_variant_id IS NOT NULL OR finished_variant_id IS NOT NULL", name="something"),
        CheckConstraint("(material_variant_id IS NULL) = (material_qty IS NULL) AND "
                        "(finished_variant_id IS NULL) = (finished_qty IS NULL)", name="qty_with_variant"),
        CheckConstraint("material_qty > 0 AND finished_qty > 0", name="quantities"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("toll_orders.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    material_variant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("product_variants.id"))
    material_qty: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))
    finished_variant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("product_variants.id"))
    finished_qty: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))


class TollMaterialMove(UUIDPk, TenantBase):
    """One quantity of a toll order's material or goods moving (never a stock movement, never valued)."""

    __tablename__ = "toll_material_moves"
    __table_args__ = (
        CheckConstraint(_in("kind", MOVE_KINDS), name="kind"),
        CheckConstraint("quantity > 0", name="quantity"),
        Index("ix_toll_material_moves_order_id_variant_id", "order_id", "variant_id"),
        Index("ix_toll_material_moves_move_date", "move_date"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("toll_orders.id", ondelete="CASCADE"))
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    move_date: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(100))  # e.g. the customer's surat jalan number
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = _user_fk()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
