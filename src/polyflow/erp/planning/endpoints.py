"""MRP JSON API (tenant host only): run MRP, read runs and their proposals, approve or reject proposals.
Planning is the planner's job: reading needs production.read, anything else production.write."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends

from polyflow.erp.identity.auth import CurrentUser, authorize
from polyflow.erp.planning import service
from polyflow.erp.planning.schemas import ApproveManyIn, ApproveManyOut, ProposalOut, RunDetail, RunIn, RunOut
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(prefix="/api/v1/mrp", tags=["planning"], dependencies=[authorize("production")])
Pg = Annotated[PageParams, Depends(page_params)]


async def _detail(session, run, page: PageParams, kind=None, status=None) -> RunDetail:
    items, total = await service.list_proposals(session, run.id, kind=kind, status=status, limit=page.limit,
                                                offset=page.offset)
    return RunDetail(**RunOut.model_validate(run).model_dump(), proposals=items, total=total, limit=page.limit,
                     offset=page.offset)


@router.post("/run", response_model=RunDetail, status_code=201)
async def run_mrp(session: TenantSession, data: RunIn, principal: CurrentUser, page: Pg):
    """Run MRP: the run and the first page of its proposals."""
    run = await service.run_mrp(session, data, principal.id)
    return await _detail(session, run, page)


@router.get("/runs", response_model=Page[RunOut])
async def list_runs(session: TenantSession, page: Pg):
    """MRP runs, newest first."""
    items, total = await service.list_runs(session, limit=page.limit, offset=page.offset)
    return Page[RunOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/runs/{run_id}", response_model=RunDetail)
async def get_run(session: TenantSession, run_id: uuid.UUID, page: Pg,
                  kind: Literal["production", "purchase"] | None = None,
                  status: Literal["proposed", "approved", "rejected", "superseded"] | None = None):
    """One run with a page of its proposals (filter by kind and status)."""
    return await _detail(session, await service.get_run(session, run_id), page, kind, status)


@router.post("/runs/{run_id}/approve", response_model=ApproveManyOut)
async def approve_many(session: TenantSession, run_id: uuid.UUID, data: ApproveManyIn, principal: CurrentUser):
    """Approve several proposals of a run at once (all or none)."""
    return ApproveManyOut(approved=await service.approve_many(session, run_id, data.proposal_ids, principal.id))


@router.post("/proposals/{proposal_id}/approve", response_model=ProposalOut)
async def approve(session: TenantSession, proposal_id: uuid.UUID, principal: CurrentUser):
    """proposed -> approved: creates a draft production order or purchase request."""
    return await service.approve(session, proposal_id, principal.id)


@router.post("/proposals/{proposal_id}/reject", response_model=ProposalOut)
async def reject(session: TenantSession, proposal_id: uuid.UUID, principal: CurrentUser):
    """proposed -> rejected."""
    return await service.reject(session, proposal_id, principal.id)
