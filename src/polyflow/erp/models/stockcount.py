"""Stock counts (stock opname): a count of one location, its snapshot lines and the blind entries of the
people on the floor. Owned by erp/stockcount (the only writer of these tables); the adjustments an approval
causes are stock movements written by inventory (and their journals by accounting).

Counted against the snapshot, not frozen: the location keeps moving while a count is open. `watermark` is
the highest stock_movements.seq the snapshot includes; at approval a line's expected quantity is its
snapshot quantity plus the net movements of its variant at the location with a higher seq.
Quantities are in the product's primary (stock) unit."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Numeric, String, Text, UniqueConstraint,
    func, text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polyflow.kit.db import TenantBase, Timestamps, UUIDPk

COUNT_STATES = ("open", "counted", "approved", "cancelled")


class StockCount(UUIDPk, Timestamps, TenantBase):
    """One count of one location: open (counting, blind) -> counted (submitted, variances shown) ->
    approved (adjustments posted) or cancelled (nothing posted)."""

    __tablename__ = "stock_counts"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'counted', 'approved', 'cancelled')", name="status"),
        CheckConstraint("watermark >= 0", name="watermark"),
        # One count under way per location: two would adjust the same stock twice.
        Index("uq_stock_counts_active_location", "location_id", unique=True,
              postgresql_where=text("status IN ('open', 'counted')")),
    )

    number: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="open", server_default="open")
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locations.id"))
    count_date: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    # The scope asked for (besides every variant with stock there): a product type and/or variant ids.
    product_type: Mapped[str | None] = mapped_column(String(20))
    # Highest stock_movements.seq the snapshot includes (0: no movement yet).
    watermark: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    approval_date: Mapped[date | None] = mapped_column(Date)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    zero_uncounted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cancel_reason: Mapped[str | None] = mapped_column(String(500))

    lines: Mapped[list["StockCountLine"]] = relationship(
        order_by="StockCountLine.sku", cascade="all, delete-orphan", lazy="selectin")


class StockCountLine(UUIDPk, TenantBase):
    """One variant of a count: what the books said at the snapshot, what was counted (the sum of its
    entries; NULL = not counted yet) and, once approved, the expected quantity and the adjustment posted."""

    __tablename__ = "stock_count_lines"
    __table_args__ = (
        UniqueConstraint("count_id", "variant_id", name="uq_stock_count_lines_count_id_variant_id"),
        CheckConstraint("snapshot_qty >= 0", name="snapshot_qty"),
        CheckConstraint("counted_qty IS NULL OR counted_qty >= 0", name="counted_qty"),
    )

    count_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_counts.id", ondelete="CASCADE"))
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    sku: Mapped[str] = mapped_column(String(64))  # as at the snapshot: the sheet's order
    # False: found stock, counted although the snapshot did not list it (expected 0 at the snapshot).
    in_snapshot: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    snapshot_qty: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    snapshot_unit_cost: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    counted_qty: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))
    expected_qty: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))  # set at approval
    adjustment_qty: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))
    adjustment_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    movement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_movements.id"))


class StockCountEntry(UUIDPk, TenantBase):
    """One tally from the floor (a pallet, a counter's sheet): several per line are summed."""

    __tablename__ = "stock_count_entries"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity"),
        Index("ix_stock_count_entries_line_id", "line_id"),
    )

    count_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_counts.id", ondelete="CASCADE"), index=True)
    line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_count_lines.id", ondelete="CASCADE"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))  # primary unit
    entered_qty: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    unit: Mapped[str] = mapped_column(String(16))
    counted_by: Mapped[str | None] = mapped_column(String(100))  # free text: floor people need not be users
    note: Mapped[str | None] = mapped_column(String(500))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
