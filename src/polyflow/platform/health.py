"""Platform endpoints answered on any host: liveness, readiness, landing page."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import text

router = APIRouter()


@router.get("/healthz", tags=["platform"])
async def healthz():
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", tags=["platform"])
async def readyz(request: Request):
    """Readiness: the main database and (if configured) Redis answer."""
    platform = request.app.state.platform
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(2):
            async with platform.main_engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        checks["main_db"] = "ok"
    except Exception as exc:  # report, never raise: this is a probe
        checks["main_db"] = f"error: {type(exc).__name__}"
    if platform.redis is None:
        checks["redis"] = "disabled"
    else:
        try:
            async with asyncio.timeout(2):
                await platform.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
    ok = all(v in ("ok", "disabled") for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", **checks}, status_code=200 if ok else 503)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def landing(request: Request):
    """The bare root domain: what Polyflow is and where to go (styled by the site's stylesheet: CSP-clean)."""
    from polyflow.web import render

    return render(request, "landing.html", root=request.app.state.platform.settings.root_domain)
