"""The dashboard at ``/``: the figures a plant looks at first."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from polyflow.erp.pages import html_page, page, signed_in, tenant_of
from polyflow.platform.tenancy.deps import TenantSession

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/")
@html_page
async def dashboard(request: Request, session: TenantSession):
    """Who you are, this workspace, and the pages you may open."""
    principal = await signed_in(request, session)
    route = tenant_of(request)
    return page(request, "tenant/dashboard.html", plan=route.plan, must_change=principal.user.must_change_password,
                last_login=principal.user.last_login_at)
