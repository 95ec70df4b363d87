"""The production floor's master data: machines (work centres) and their downtime, shifts, operators,
piece rates, bills of materials and routes. Owned by erp/production (the only writer of these tables).

Quantities are in the product's stock unit (KG, PCS, ...); rates and costs are rupiah."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Time, UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polyflow.kit.db import TenantBase, Timestamps, UUIDPk

MACHINE_TYPES = ("mixer", "extruder", "loom", "laminator", "printer", "cutting_sewing", "packer", "granulator")
MACHINE_STATES = ("active", "maintenance", "breakdown", "retired")
# The process stages of a converter; `granulating` turns scrap into regrind, `rework` repairs off-spec goods.
STAGES = ("mixing", "extrusion", "weaving", "lamination", "printing", "cutting_sewing", "packing", "rework",
          "granulating")
OVERHEAD_BASES = ("hour", "kg")
RATE_UNITS = ("kg_per_hour", "pcs_per_hour", "m_per_hour")
DOWNTIME_REASONS = ("breakdown", "changeover", "maintenance", "no_material", "no_operator", "power", "quality",
                    "other")


def _in(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Machine(UUIDPk, Timestamps, TenantBase):
    """A work centre: an extruder, a loom, a sewing line... Overhead is absorbed into the orders it works
    on at `overhead_rate` per machine-hour or per kg of output (`overhead_basis`)."""

    __tablename__ = "machines"
    __table_args__ = (
        CheckConstraint(_in("machine_type", MACHINE_TYPES), name="machine_type"),
        CheckConstraint(_in("status", MACHINE_STATES), name="status"),
        CheckConstraint(_in("overhead_basis", OVERHEAD_BASES), name="overhead_basis"),
        CheckConstraint("overhead_rate >= 0", name="overhead_rate"),
        CheckConstraint("code <> ''", name="code_not_empty"),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    machine_type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="active", server_default="active")
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("locations.id"))
    overhead_rate: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    overhead_basis: Mapped[str] = mapped_column(String(8), default="hour", server_default="hour")
    # Nameplate speed used by KPIs when a route step gives none (per hour, in the output's unit).
    rated_capacity: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))
    note: Mapped[str | None] = mapped_column(String(500))


class MachineDowntime(UUIDPk, Timestamps, TenantBase):
    """A stop of a machine with its reason; open while `ended_at` is empty."""

    __tablename__ = "machine_downtimes"
    __table_args__ = (
        CheckConstraint(_in("reason", DOWNTIME_REASONS), name="reason"),
        CheckConstraint("ended_at IS NULL OR ended_at > started_at", name="period"),
        Index("ix_machine_downtimes_machine_id_started_at", "machine_id", "started_at"),
    )

    machine_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("machines.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(String(16))
    shift_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("shifts.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Shift(UUIDPk, Timestamps, TenantBase):
    """A working shift (Pagi 07-15, Siang 15-23, Malam 23-07); a shift may run past midnight."""

    __tablename__ = "shifts"
    __table_args__ = (CheckConstraint("code <> ''", name="code_not_empty"),)

    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    starts_at: Mapped[time] = mapped_column(Time)
    ends_at: Mapped[time] = mapped_column(Time)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class Operator(UUIDPk, Timestamps, TenantBase):
    """A person on the floor (need not be a system user): who ran an execution, who earns its piece rate."""

    __tablename__ = "operators"
    __table_args__ = (CheckConstraint("code <> ''", name="code_not_empty"),)

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class PieceRate(UUIDPk, Timestamps, TenantBase):
    """What an operator earns per unit of good output at a stage (for one product, or for any product of
    the stage when `product_id` is empty), from `valid_from` on."""

    __tablename__ = "piece_rates"
    __table_args__ = (
        CheckConstraint(_in("stage", STAGES), name="stage"),
        CheckConstraint("rate >= 0", name="rate"),
        UniqueConstraint("stage", "product_id", "valid_from", name="uq_piece_rates_stage_product_from"),
    )

    stage: Mapped[str] = mapped_column(String(20))
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("products.id"))
    rate: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # rupiah per unit of output (the product's unit)
    valid_from: Mapped[date] = mapped_column(Date)


class Bom(UUIDPk, Timestamps, TenantBase):
    """A versioned bill of materials of one stage: what `output_quantity` of the product takes. A product
    has at most one default (active) version; older versions stay for the orders that used them."""

    __tablename__ = "boms"
    __table_args__ = (
        CheckConstraint(_in("stage", STAGES), name="stage"),
        CheckConstraint("output_quantity > 0", name="output_quantity"),
        CheckConstraint("expected_scrap_pct >= 0 AND expected_scrap_pct < 100", name="expected_scrap_pct"),
        CheckConstraint("max_regrind_pct IS NULL OR (max_regrind_pct >= 0 AND max_regrind_pct <= 100)",
                        name="max_regrind_pct"),
        UniqueConstraint("product_id", "version", name="uq_boms_product_id_version"),
        Index("uq_boms_default", "product_id", unique=True, postgresql_where=text("is_default")),
    )

    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(20))
    output_quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(1), server_default="1")
    expected_scrap_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0), server_default="0")
    # The largest share (% of the material mass) the lines flagged regrind may take; empty: no regrind.
    max_regrind_pct: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    lines: Mapped[list["BomLine"]] = relationship(order_by="BomLine.line_no", cascade="all, delete-orphan",
                                                  lazy="selectin")


class BomLine(UUIDPk, TenantBase):
    """One component: `quantity` of it (its stock unit) per the BOM's `output_quantity`."""

    __tablename__ = "bom_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        UniqueConstraint("bom_id", "line_no", name="uq_bom_lines_bom_id_line_no"),
    )

    bom_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("boms.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 6))
    is_regrind: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    note: Mapped[str | None] = mapped_column(String(200))


class Route(UUIDPk, Timestamps, TenantBase):
    """How a finished product is made: ordered steps, each a process on machines that can do it."""

    __tablename__ = "routes"
    __table_args__ = (
        CheckConstraint("code <> ''", name="code_not_empty"),
        Index("uq_routes_default", "product_id", unique=True, postgresql_where=text("is_default")),
    )

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("products.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    note: Mapped[str | None] = mapped_column(String(500))

    steps: Mapped[list["RouteStep"]] = relationship(order_by="RouteStep.seq", cascade="all, delete-orphan",
                                                    lazy="selectin")


class RouteStep(UUIDPk, TenantBase):
    """One step: a stage making `output_variant_id` with the step's BOM, at a standard rate; the last
    step makes the route's product, each step's output is the next step's input."""

    __tablename__ = "route_steps"
    __table_args__ = (
        CheckConstraint(_in("stage", STAGES), name="stage"),
        CheckConstraint(_in("rate_unit", RATE_UNITS), name="rate_unit"),
        CheckConstraint("std_rate > 0", name="std_rate"),
        UniqueConstraint("route_id", "seq", name="uq_route_steps_route_id_seq"),
    )

    route_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("routes.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))
    output_variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    bom_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("boms.id"))
    std_rate: Mapped[Decimal] = mapped_column(Numeric(18, 3))  # output units per hour
    rate_unit: Mapped[str] = mapped_column(String(16), default="kg_per_hour", server_default="kg_per_hour")

    machines: Mapped[list["RouteStepMachine"]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class RouteStepMachine(TenantBase):
    """A machine able to do a route step."""

    __tablename__ = "route_step_machines"

    step_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("route_steps.id", ondelete="CASCADE"), primary_key=True)
    machine_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("machines.id"), primary_key=True)
