"""Admin host (main database only). The operator console and API grow here (lifecycle issue)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["admin"])


@router.get("/")
async def admin_home():
    """Identifies the admin host; it never resolves to a tenant."""
    return {"app": "polyflow-admin"}
