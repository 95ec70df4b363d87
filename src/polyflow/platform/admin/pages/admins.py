"""Super-admins: ``/admins``.

    GET  /admins   every super-admin: active, two-factor set up, still on a one-time password, live sessions
    POST /admins   email, name (optional): invite one. The account gets a one-time password, shown on the answer
                   page once (it is never stored in clear, nor put in a URL); at first sign-in they choose their
                   own and set up two-factor (TOTP) before anything else.

Changing one's own password is ``/password`` (the sign-in module's page, linked from here and the header).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.errors import Forbidden, PolyflowError
from polyflow.platform.admin import identity
from polyflow.platform.admin.pages.common import MaybeAdmin, field, message, page, signed_form, to_login

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


async def _admins_page(request: Request, admin, status_code: int = 200, **context):
    async with AsyncSession(request.app.state.platform.main_engine) as session:
        admins = await identity.list_admins(session)
    return page(request, "admin/admins.html", status_code, admin=admin, admins=admins, **context)


@router.get("/admins")
async def admins_page(request: Request, admin: MaybeAdmin):
    """Every super-admin with their two-factor status, and the invite form."""
    if admin is None:
        return to_login()
    return await _admins_page(request, admin)


@router.post("/admins")
async def invite_admin(request: Request, admin: MaybeAdmin):
    """Create a super-admin with a one-time password (shown once on this answer)."""
    if admin is None:
        return to_login()
    try:
        form = await signed_form(request, admin)
    except Forbidden as exc:
        return message(request, admin, exc)
    typed = {k: form.get(k) if isinstance(form.get(k), str) else "" for k in ("email", "name")}
    try:
        created, one_time = await identity.create_admin(
            request.app.state.platform, field(form, "email", 254), field(form, "name", 200) or None, actor=admin.actor)
    except PolyflowError as exc:
        return await _admins_page(request, admin, exc.status_code, error=exc.message, typed=typed)
    return await _admins_page(request, admin, created=created, one_time=one_time)
