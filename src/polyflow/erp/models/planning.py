"""Planning (MRP-lite): a run nets the open demand (sales order lines, open production orders' materials,
reorder points) against available stock and open supply through the default BOMs, and leaves one proposal
per variant that needs more: produce it (it has a default BOM) or buy it. A planner approves a proposal
into a draft production order or a draft purchase request, or rejects it; the next run supersedes what is
still proposed. Owned by erp/planning (the only writer of these tables); it reads sales, purchasing,
production and stock tables, and creates documents through those modules' services.

Quantities are in the variant's stock unit."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from polyflow.kit.db import TenantBase, Timestamps, UUIDPk

PROPOSAL_KINDS = ("production", "purchase")
PROPOSAL_STATES = ("proposed", "approved", "rejected", "superseded")


def _in(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class MrpRun(UUIDPk, Timestamps, TenantBase):
    """One MRP run: its parameters, when it ran and what it found."""

    __tablename__ = "mrp_runs"
    __table_args__ = (
        CheckConstraint("horizon_days >= 0", name="horizon_days"),
        Index("ix_mrp_runs_created_at", "created_at"),
    )

    number: Mapped[str] = mapped_column(String(32), unique=True)
    run_date: Mapped[date] = mapped_column(Date)
    horizon_days: Mapped[int] = mapped_column(Integer)
    horizon_end: Mapped[date] = mapped_column(Date)
    include_sales: Mapped[bool] = mapped_column(Boolean)
    include_reorder: Mapped[bool] = mapped_column(Boolean)
    # Only the stock, sales orders and production orders of this location count (None: all locations).
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("locations.id"))
    levels: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # BOM levels planned
    production_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    purchase_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    superseded_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # of earlier runs
    duration_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class MrpProposal(UUIDPk, TenantBase):
    """Make or buy `quantity` of a variant by `needed_by`, and why: its gross demand (sales lines, open
    production orders' materials, parent proposals of the run), what was available and already coming,
    and the reorder point when that is what triggered it."""

    __tablename__ = "mrp_proposals"
    __table_args__ = (
        CheckConstraint(_in("kind", PROPOSAL_KINDS), name="kind"),
        CheckConstraint(_in("status", PROPOSAL_STATES), name="status"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("level >= 0", name="level"),
        CheckConstraint("(status = 'approved') = (production_order_id IS NOT NULL OR purchase_request_id IS NOT NULL)",
                        name="approved_has_document"),
        UniqueConstraint("run_id", "variant_id", name="uq_mrp_proposals_run_id_variant_id"),
        Index("ix_mrp_proposals_run_id_kind_status", "run_id", "kind", "status"),
        # A new run supersedes what is still proposed: that set stays small whatever the history.
        Index("ix_mrp_proposals_proposed", "run_id", postgresql_where=text("status = 'proposed'")),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mrp_runs.id"))
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12), default="proposed", server_default="proposed")
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    level: Mapped[int] = mapped_column(Integer)  # low-level code: 0 = not a component of anything planned
    bom_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("boms.id"))  # production: the BOM exploded
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    needed_by: Mapped[date] = mapped_column(Date)
    # needed_by - the product's lead time, not before the run date: when to start making it or order it by.
    # `late`: that start fell before the run date (NULL / false on proposals made before lead times existed).
    start_by: Mapped[date | None] = mapped_column(Date)
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # The netting, as computed: gross = sales + orders + dependent; projected = available + supply - gross.
    sales_demand: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    order_demand: Mapped[Decimal] = mapped_column(Numeric(18, 3))  # open production orders' materials
    dependent_demand: Mapped[Decimal] = mapped_column(Numeric(18, 3))  # parent proposals of this run
    available: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    open_supply: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    reorder_point: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    reorder_qty: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    by_reorder: Mapped[bool] = mapped_column(Boolean)  # the reorder point made it (or made it larger)
    sales_order_line_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list,
                                                                  server_default=text("'{}'"))
    parent_proposal_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list,
                                                                 server_default=text("'{}'"))
    # The draft production order (production) or purchase request (purchase) an approval created.
    production_order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production_orders.id"))
    purchase_request_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("purchase_requests.id"))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
