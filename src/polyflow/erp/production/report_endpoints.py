"""Floor KPI reports (JSON API, tenant host only): production figures per group and piece-rate earnings."""

from __future__ import annotations

from fastapi import APIRouter

from polyflow.erp.identity.auth import authorize
from polyflow.erp.production import reports
from polyflow.erp.production.report_schemas import GroupBy, PieceRateEarnings, ProductionReport
from polyflow.kit.limits import Day
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(prefix="/api/v1", tags=["production"], dependencies=[authorize("production")])


@router.get("/reports/production", response_model=ProductionReport)
async def production_report(session: TenantSession, date_from: Day, date_to: Day, group_by: GroupBy = "machine"):
    """Output, scrap by kind, yield, kg/hour against the standard and OEE per machine, shift, day, operator or
    product (at most 366 days)."""
    return await reports.production_report(session, date_from, date_to, group_by)


@router.get("/reports/piece-rate-earnings", response_model=PieceRateEarnings)
async def piece_rate_earnings(session: TenantSession, date_from: Day, date_to: Day):
    """Piece-rate earnings and output per operator (posted executions, at most 366 days)."""
    return await reports.piece_rate_earnings(session, date_from, date_to)
