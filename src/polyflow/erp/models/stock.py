from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Identity, Index, Numeric, String, func
from sqlalchemy.orm import Mapped, mapped_column

from polyflow.kit.db import TenantBase, UUIDPk

MOVEMENT_KINDS = ("IN", "OUT", "TRANSFER", "ADJUSTMENT", "REVALUATION")


class StockLevel(TenantBase):
    """Stock of one variant at one location. The checks are the last line of defence: the service's
    conditional updates already refuse to take more than is available."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="reserved"),
        Index("ix_stock_levels_variant_id", "variant_id"),
    )

    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"), primary_key=True)
    on_hand: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")
    reserved: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())


class StockMovement(UUIDPk, TenantBase):
    """One stock movement. IN/ADJUSTMENT-up have only a destination, OUT/ADJUSTMENT-down only a source,
    TRANSFER both. `value` is the signed change of inventory value, posted as journal `journal_entry_id`
    in the same transaction (none when the value is zero, e.g. a transfer)."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        # REVALUATION (landed costs): value only, no quantity, no location (revision 0009).
        CheckConstraint("kind IN ('IN', 'OUT', 'TRANSFER', 'ADJUSTMENT', 'REVALUATION')", name="kind"),
        CheckConstraint("quantity > 0 OR (kind = 'REVALUATION' AND quantity = 0)", name="quantity"),
        CheckConstraint(
            "(kind = 'IN' AND to_location_id IS NOT NULL AND from_location_id IS NULL)"
            " OR (kind = 'OUT' AND from_location_id IS NOT NULL AND to_location_id IS NULL)"
            " OR (kind = 'TRANSFER' AND from_location_id IS NOT NULL AND to_location_id IS NOT NULL"
            " AND from_location_id <> to_location_id)"
            " OR (kind = 'ADJUSTMENT' AND (from_location_id IS NULL) <> (to_location_id IS NULL))"
            " OR (kind = 'REVALUATION' AND from_location_id IS NULL AND to_location_id IS NULL)",
            name="locations",
        ),
        # A variant's movements in ledger order: what a backdated movement re-costs is one range of it.
        Index("ix_stock_movements_variant_id_posting_date_seq", "variant_id", "posting_date", "seq"),
        # Valuation as of a date takes back the movements after it (revision 0012).
        Index("ix_stock_movements_posting_date", "posting_date"),
    )

    number: Mapped[str] = mapped_column(String(32), unique=True)
    # Order of entry: within one posting date, movements count in this order (a backdated movement
    # comes after those already on its date).
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    from_location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("locations.id"))
    to_location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("locations.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    unit_cost: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    value: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    reason: Mapped[str | None] = mapped_column(String(20))
    reference: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(String(500))
    posting_date: Mapped[date] = mapped_column(Date)
    moved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    journal_entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journal_entries.id"))
    # The other side of its journal (and of any re-costing journal): from the reason's mapping, or chosen.
    counter_account: Mapped[str | None] = mapped_column(ForeignKey("accounts.code"))
