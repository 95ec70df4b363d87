"""`GET /api/v1/tenant`: public, stable description of the tenant the Host resolved to."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from polyflow.platform.tenancy.deps import CurrentTenant

router = APIRouter(tags=["tenant"])


class TenantInfo(BaseModel):
    subdomain: str
    name: str
    status: str


@router.get("/api/v1/tenant", response_model=TenantInfo)
async def tenant_info(tenant: CurrentTenant):
    """Which tenant this host is (stable contract for scripts)."""
    return TenantInfo(subdomain=tenant.subdomain, name=tenant.name, status=tenant.status)
