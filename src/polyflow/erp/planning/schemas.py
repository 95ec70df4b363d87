"""MRP request and response shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from polyflow.kit.money import Quantity

# A planner looks at most a year ahead; the horizon only bounds which demand and supply dates count.
MAX_HORIZON_DAYS = 366
# Proposals approved in one bulk call (one transaction).
MAX_BULK = 500


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RunIn(_In):
    horizon_days: int = Field(default=30, ge=0, le=MAX_HORIZON_DAYS)
    include_sales: bool = True
    include_reorder: bool = True
    # Code or id of one location: only its stock, sales orders and production orders count.
    location: str | None = Field(default=None, min_length=1, max_length=64)


class ApproveManyIn(_In):
    proposal_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_BULK)


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    run_date: date
    horizon_days: int
    horizon_end: date
    include_sales: bool
    include_reorder: bool
    location_id: uuid.UUID | None
    levels: int
    production_count: int
    purchase_count: int
    superseded_count: int
    duration_ms: int
    created_by: uuid.UUID | None
    created_at: datetime


class ProposalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    run_id: uuid.UUID
    kind: str
    status: str
    variant_id: uuid.UUID
    sku: str | None = None
    level: int
    bom_id: uuid.UUID | None
    quantity: Quantity
    needed_by: date
    # Start making it (production) / order it by (purchase): needed_by - lead time, not before the run date;
    # late: that start was already past on the run date. None on proposals made before lead times existed.
    start_by: date | None
    late: bool
    sales_demand: Quantity
    order_demand: Quantity
    dependent_demand: Quantity
    available: Quantity
    open_supply: Quantity
    reorder_point: Quantity
    reorder_qty: Quantity
    by_reorder: bool
    sales_order_line_ids: list[uuid.UUID]
    parent_proposal_ids: list[uuid.UUID]
    production_order_id: uuid.UUID | None
    purchase_request_id: uuid.UUID | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None


class RunDetail(RunOut):
    """A run with one page of its proposals (filtered by kind / status)."""

    proposals: list[ProposalOut]
    total: int
    limit: int
    offset: int


class ApproveManyOut(BaseModel):
    approved: list[ProposalOut]
