"""Admin host (main database only): the operators' JSON API under /admin/api.

Routers per area are included here: tenants (onboarding, status), lifecycle (backups, restore, move,
archive, delete), servers, billing.
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["admin"])


@router.get("/")
async def admin_home():
    """Identifies the admin host; it never resolves to a tenant."""
    return {"app": "polyflow-admin"}
