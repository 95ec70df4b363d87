"""Production: runs (one finished product through its route), production orders (one per route step, or
standalone such as a granulator's regrind order), material issues, shop-floor executions (output and
scrap), each order's WIP sub-ledger, lots (supplier lots, rolls, bales) with their consumption, and
quality inspections. Owned by erp/production; stock and journals are written by inventory and accounting.

An order's WIP as of a date = the sum of its `production_costs` rows dated on or before it, where a row
tied to a stock movement counts minus that movement's (current) value: what the GL's 1142 holds for the
order, also after a backdated receipt re-costs an issue."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint, text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from polyflow.erp.models.floor import STAGES
from polyflow.kit.db import TenantBase, Timestamps, UUIDPk

RUN_STATES = ("draft", "released", "in_progress", "completed", "cancelled")
ORDER_STATES = ("draft", "released", "in_progress", "completed", "cancelled")
PRIORITIES = ("low", "normal", "high", "urgent")
EXECUTION_KINDS = ("output", "scrap")
SCRAP_KINDS = ("daun", "prongkol", "off_spec", "other")
COST_KINDS = ("material", "labour", "overhead", "output", "scrap", "variance")
LOT_KINDS = ("supplier", "roll", "bale", "batch", "regrind")
LOT_STATES = ("available", "quarantine", "rejected", "consumed", "voided")
INSPECTION_RESULTS = ("pass", "fail", "quarantine")


def _in(column: str, values) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class ProductionRun(UUIDPk, Timestamps, TenantBase):
    """Make `quantity` of one finished variant through a route: one production order per step."""

    __tablename__ = "production_runs"
    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATES), name="status"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        CheckConstraint("quantity > 0", name="quantity"),
    )

    number: Mapped[str | None] = mapped_column(String(32), unique=True)  # taken at release
    status: Mapped[str] = mapped_column(String(12), default="draft", server_default="draft")
    priority: Mapped[str] = mapped_column(String(8), default="normal", server_default="normal")
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"), index=True)
    route_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("routes.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    planned_start: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    sales_order_line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sales_order_lines.id"), index=True)
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    orders: Mapped[list["ProductionOrder"]] = relationship(order_by="ProductionOrder.step_seq", lazy="selectin",
                                                           back_populates="run")


class ProductionOrder(UUIDPk, Timestamps, TenantBase):
    """One step of a run (or a standalone order): make `quantity` of `variant_id` at a stage from the
    materials of its BOM, taken from `source_location_id`, output into `output_location_id`."""

    __tablename__ = "production_orders"
    __table_args__ = (
        CheckConstraint(_in("status", ORDER_STATES), name="status"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        CheckConstraint(_in("stage", STAGES), name="stage"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("qty_output >= 0 AND qty_scrap >= 0", name="produced"),
        Index("ix_production_orders_status", "status"),
    )

    number: Mapped[str | None] = mapped_column(String(32), unique=True)  # taken at release
    run_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production_runs.id"), index=True)
    step_seq: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The order whose output this one consumes (the previous step of the run).
    input_order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production_orders.id"))
    status: Mapped[str] = mapped_column(String(12), default="draft", server_default="draft")
    priority: Mapped[str] = mapped_column(String(8), default="normal", server_default="normal")
    stage: Mapped[str] = mapped_column(String(20))
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"), index=True)
    bom_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("boms.id"))
    route_step_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("route_steps.id"))
    machine_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("machines.id"))  # planned machine
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    qty_output: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")
    qty_scrap: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")
    source_location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locations.id"))
    output_location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locations.id"))
    planned_start: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    sales_order_line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sales_order_lines.id"))
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_on: Mapped[date | None] = mapped_column(Date)

    run: Mapped[ProductionRun | None] = relationship(back_populates="orders", lazy="raise")
    materials: Mapped[list["OrderMaterial"]] = relationship(order_by="OrderMaterial.line_no",
                                                            cascade="all, delete-orphan", lazy="selectin")


class OrderMaterial(UUIDPk, TenantBase):
    """A planned material of an order (its BOM scaled to the order's quantity, with expected scrap),
    what is reserved for it at the source location and what has been issued (quantity and value)."""

    __tablename__ = "production_order_materials"
    __table_args__ = (
        CheckConstraint("planned_qty >= 0 AND reserved_qty >= 0 AND issued_qty >= 0", name="quantities"),
        UniqueConstraint("order_id", "variant_id", name="uq_production_order_materials_order_variant"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production_orders.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"), index=True)
    # Per output unit as the BOM gives it, without expected scrap (the standard for the yield variance).
    qty_per_unit: Mapped[Decimal] = mapped_column(Numeric(18, 6))
    is_regrind: Mapped[bool] = mapped_column(default=False, server_default="false")
    planned_qty: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    reserved_qty: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")
    issued_qty: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0), server_default="0")


class MaterialIssue(UUIDPk, TenantBase):
    """Material taken from stock into an order's WIP (or given back when `quantity` < 0: a void of a
    backflushed output, or a return of unused material)."""

    __tablename__ = "production_issues"
    __table_args__ = (CheckConstraint("quantity <> 0", name="quantity"),)

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production_orders.id"), index=True)
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    location_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("locations.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    movement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stock_movements.id"))
    lot_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("lots.id"), index=True)
    execution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production_executions.id"))  # backflush
    issued_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class Execution(UUIDPk, Timestamps, TenantBase):
    """One recording from the floor: good output (a roll, a bale, a batch) or scrap of a kind, by a
    machine, an operator and a shift, with the hours worked. `quantity` is net (bruto - bobin for rolls)."""

    __tablename__ = "production_executions"
    __table_args__ = (
        CheckConstraint(_in("kind", EXECUTION_KINDS), name="kind"),
        CheckConstraint(f"scrap_kind IS NULL OR {_in('scrap_kind', SCRAP_KINDS)}", name="scrap_kind"),
        CheckConstraint("(kind = 'scrap') = (scrap_kind IS NOT NULL)", name="scrap_has_kind"),
        CheckConstraint("status IN ('posted', 'voided')", name="status"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("hours IS NULL OR hours >= 0", name="hours"),
        CheckConstraint("gross_weight IS NULL OR core_weight IS NULL OR gross_weight > core_weight",
                        name="weights"),
        Index("ix_production_executions_work_date", "work_date"),
        Index("ix_production_executions_machine_id_work_date", "machine_id", "work_date"),
    )

    number: Mapped[str] = mapped_column(String(32), unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8), default="posted", server_default="posted")
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))  # output or scrap product
    scrap_kind: Mapped[str | None] = mapped_column(String(10))
    machine_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("machines.id"))
    operator_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("operators.id"), index=True)
    shift_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("shifts.id"))
    work_date: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hours: Mapped[Decimal | None] = mapped_column(Numeric(10, 3))
    gross_weight: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))  # bruto, kg
    core_weight: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))  # bobin / core, kg
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))  # net, in the product's stock unit
    pieces: Mapped[int | None] = mapped_column(Integer)  # counted pieces (bags)
    unit_cost: Mapped[Decimal] = mapped_column(Numeric(18, 4), default=Decimal(0), server_default="0")
    value: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    labour_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    overhead_amount: Mapped[Decimal] = mapped_column(Numeric(18, 2), default=Decimal(0), server_default="0")
    piece_rate: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    movement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_movements.id"))
    journal_entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journal_entries.id"))
    lot_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("lots.id", use_alter=True))
    note: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    voided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    void_reason: Mapped[str | None] = mapped_column(String(500))


class ProductionCost(UUIDPk, TenantBase):
    """One change of an order's WIP (see the module docstring for how it is summed)."""

    __tablename__ = "production_costs"
    __table_args__ = (
        CheckConstraint(_in("kind", COST_KINDS), name="kind"),
        CheckConstraint("(movement_id IS NULL) <> (amount IS NULL)", name="movement_or_amount"),
        Index("ix_production_costs_order_id_posting_date", "order_id", "posting_date"),
        Index("ix_production_costs_posting_date", "posting_date"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production_orders.id"))
    posting_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))  # signed WIP change, when no movement
    movement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_movements.id"), unique=True)
    journal_entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("journal_entries.id"))
    execution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production_executions.id"))
    memo: Mapped[str | None] = mapped_column(String(200))


class Lot(UUIDPk, Timestamps, TenantBase):
    """A traceable quantity of one variant: a supplier's resin lot, a roll, a bale, a batch of regrind.
    `remaining` falls as orders consume it; the stock ledger itself stays per variant and location."""

    __tablename__ = "lots"
    __table_args__ = (
        CheckConstraint(_in("kind", LOT_KINDS), name="kind"),
        CheckConstraint(_in("status", LOT_STATES), name="status"),
        CheckConstraint("quantity > 0 AND remaining >= 0 AND remaining <= quantity", name="quantities"),
        Index("ix_lots_supplier_lot_no", "supplier_lot_no"),
        Index("ix_lots_variant_id_status", "variant_id", "status"),
    )

    number: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default="available", server_default="available")
    variant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("product_variants.id"))
    location_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("locations.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    remaining: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    gross_weight: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))
    core_weight: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))
    net_weight: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))
    pieces: Mapped[int | None] = mapped_column(Integer)
    supplier_lot_no: Mapped[str | None] = mapped_column(String(64))
    partner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("partners.id"))
    goods_receipt_line_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("goods_receipt_lines.id"),
                                                                    index=True)
    execution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production_executions.id"), index=True)
    produced_on: Mapped[date | None] = mapped_column(Date)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    note: Mapped[str | None] = mapped_column(String(500))


class LotConsumption(UUIDPk, TenantBase):
    """`quantity` of a lot taken into an order (by one material issue): the link traceability follows."""

    __tablename__ = "lot_consumptions"
    __table_args__ = (CheckConstraint("quantity <> 0", name="quantity"),)

    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lots.id"), index=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("production_orders.id"), index=True)
    issue_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("production_issues.id"))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    consumed_on: Mapped[date] = mapped_column(Date)


class Inspection(UUIDPk, Timestamps, TenantBase):
    """A quality check of a lot: pass, fail or quarantine (quarantined stock is not available)."""

    __tablename__ = "inspections"
    __table_args__ = (CheckConstraint(_in("result", INSPECTION_RESULTS), name="result"),)

    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lots.id"), index=True)
    result: Mapped[str] = mapped_column(String(12))
    inspected_on: Mapped[date] = mapped_column(Date)
    inspector: Mapped[str | None] = mapped_column(String(100))  # a floor person; need not be a user
    # Measured values (tensile strength, width, GSM...): free keys, bounded by kit.limits.Attributes.
    checks: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    note: Mapped[str | None] = mapped_column(String(500))
    movement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("stock_movements.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
