"""The workspace's users (users.manage): invitations, (de)activation, the owners' sign-in rules; the audit log
(audit.read)."""

from __future__ import annotations


from fastapi import BackgroundTasks, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.identity import endpoints as api
from polyflow.erp.identity import mfa, service
from polyflow.erp.identity.endpoints import deliver_mail_later
from polyflow.erp.identity.pages.common import LANGUAGES, Done, Offset, notice, id_from_path, router
from polyflow.erp.models.user import ROLES
from polyflow.erp.pages import html_page, page, see_other, signed_form, signed_in, tenant_of, text
from polyflow.kit.errors import InvalidInput, PolyflowError
from polyflow.kit.pagination import PageParams
from polyflow.platform.tenancy.deps import TenantSession


# -- users (users.manage) ----------------------------------------------------------------------------------
async def users_page(request: Request, session: AsyncSession, offset: int = 0, status_code: int = 200,
                     **context) -> HTMLResponse:
    # The API's own listing (the same query and order).
    users = await api.list_users(session, PageParams(limit=100, offset=offset), active=None)
    context.setdefault("invite", {"email": "", "name": "", "roles": [], "language": "id"})
    return page(request, "tenant/users.html", status_code, users=users, roles=ROLES, languages=LANGUAGES,
                mfa_required=await mfa.require_mfa(session), **context)


@router.get("/users")
@html_page
async def users(request: Request, session: TenantSession, offset: Offset = 0, done: Done = None):
    """The workspace's users, the invitation form, (de)activation."""
    await signed_in(request, session, "users.manage")
    return await users_page(request, session, offset, notice=notice(done))


@router.post("/users/invite")
@html_page
async def invite_user(request: Request, session: TenantSession, background: BackgroundTasks):
    """Invite a user: they get a one-time link to choose their password."""
    principal = await signed_in(request, session, "users.manage")
    form = await signed_form(request, principal)
    route = tenant_of(request)
    values = {"email": "", "name": "", "roles": [], "language": "id"}
    try:
        values.update(email=text(form, "email", 254), name=text(form, "name", 200),
                      roles=[r for r in form.getlist("roles") if isinstance(r, str)][:len(ROLES)],
                      language=text(form, "language", 5) or "id")
        if values["language"] not in LANGUAGES:
            raise InvalidInput("choose a language from the list")
        await service.invite_user(session, route, request.app.state.platform.settings, email=values["email"],
                                  name=values["name"], roles=values["roles"], language=values["language"],
                                  inviter=principal)
    except PolyflowError as exc:
        await session.rollback()
        return await users_page(request, session, 0, exc.status_code, error=exc.message, invite=values)
    deliver_mail_later(request, background, route)
    return see_other("/users?done=invited")


@router.post("/users/{user_id}/active")
@html_page
async def set_user_active(request: Request, session: TenantSession, user_id: str):
    """Activate or deactivate a user (deactivating ends their sessions and revokes their API tokens)."""
    principal = await signed_in(request, session, "users.manage")
    form = await signed_form(request, principal)
    active = text(form, "active", 1)
    if active not in ("0", "1"):
        raise InvalidInput("say whether the user should be active")
    try:
        await service.update_user(session, tenant_of(request), request.app.state.platform.settings, principal,
                                  id_from_path(user_id, "no such user"), is_active=active == "1")
    except PolyflowError as exc:
        await session.rollback()
        return await users_page(request, session, 0, exc.status_code, error=exc.message)
    return see_other("/users?done=" + ("activated" if active == "1" else "deactivated"))


@router.post("/users/policy")
@html_page
async def set_policy(request: Request, session: TenantSession):
    """An owner requires (or stops requiring) two-factor sign-in of every user."""
    principal = await signed_in(request, session, "users.manage")
    form = await signed_form(request, principal)
    try:
        await mfa.set_policy(session, request.app.state.platform.settings, principal,
                             require=text(form, "require_mfa", 5) == "1")
    except PolyflowError as exc:
        await session.rollback()
        return await users_page(request, session, 0, exc.status_code, error=exc.message)
    return see_other("/users?done=policy")


# -- audit log (audit.read) --------------------------------------------------------------------------------
@router.get("/audit")
@html_page
async def audit_log(request: Request, session: TenantSession, offset: Offset = 0):
    """Who changed what, newest first."""
    await signed_in(request, session, "audit.read")
    entries = await api.audit_log(session, PageParams(limit=100, offset=offset))
    return page(request, "tenant/audit.html", entries=entries)
