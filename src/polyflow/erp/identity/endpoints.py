"""Identity JSON API on the tenant host: sign-in, the caller's sessions and tokens, users, audit log.

Stable contract for scripts: ``POST /api/v1/auth/login`` with ``{"email", "password"}`` sets the
session cookie and returns the user; ``POST /api/v1/auth/logout``; ``POST /api/v1/auth/tokens``
(signed in) returns a new API token once.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response

from polyflow import web
from polyflow.erp.identity import outbox, service
from polyflow.erp.identity.auth import SESSION_COOKIE, CurrentUser, Principal, optional_principal, require
from polyflow.erp.identity.permissions import permissions_for
from polyflow.erp.identity.schemas import (
    AuditOut, LoginIn, MeOut, NewTokenOut, PasswordChangeIn, RedeemIn, ResetRequestIn, TokenIn, TokenOut, UserIn,
    UserOut, UserPatch,
)
from polyflow.erp.models import User
from polyflow.erp.models.user import ROLES
from polyflow.kit.errors import Conflict
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.kit.web import is_https
from polyflow.platform.tenancy.deps import CurrentTenant, TenantSession
from polyflow.platform.tenancy.route import TenantRoute
from polyflow.web import request_ip
from polyflow.web.csrf import check_same_origin, request_host

router = APIRouter(prefix="/api/v1", tags=["identity"])


def user_out(user: User) -> UserOut:
    out = UserOut.model_validate(user)
    out.has_password = bool(user.password_hash)
    return out


def me_out(principal: Principal) -> MeOut:
    """The caller as this request sees them (a token's roles, not all of the user's)."""
    out = user_out(principal.user).model_dump()
    out["roles"] = [r for r in ROLES if r in principal.roles]
    return MeOut(**out, permissions=sorted(principal.permissions), via=principal.via,
                 csrf_token=principal.csrf_token)


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """The tenant session cookie (host-only: only this tenant's host ever gets it back)."""
    web.set_session_cookie(request, response, SESSION_COOKIE, token)


def clear_session_cookie(request: Request, response: Response) -> None:
    web.clear_session_cookie(request, response, SESSION_COOKIE)


def base_url(request: Request, route: TenantRoute) -> str:
    platform = request.app.state.platform
    scheme = "https" if is_https(request.scope, platform.settings.trusted_proxy_networks) else "http"
    return service.link_base(route, platform.settings, request_host(request), scheme)


def deliver_mail_later(request: Request, background: BackgroundTasks, route: TenantRoute) -> None:
    """After the response (the transaction has committed by then), send what was queued."""
    platform = request.app.state.platform
    sender = outbox.sender_for(platform.settings)
    if sender is None:
        return

    async def deliver() -> None:
        async with platform.engines.lease(route) as engine:
            await outbox.deliver(engine, sender)

    background.add_task(deliver)


# -- sign-in -------------------------------------------------------------------------------------------------
@router.post("/auth/login", response_model=MeOut)
async def login(request: Request, response: Response, session: TenantSession, tenant: CurrentTenant, data: LoginIn):
    """Sign in with email and password: sets the session cookie, returns the user."""
    check_same_origin(request, forms=False)  # a foreign page must not sign the browser in (login CSRF)
    platform = request.app.state.platform
    result = await service.login(session, tenant, platform.settings, platform.limiter, email=data.email,
                                 password=data.password, ip=request_ip(request),
                                 user_agent=request.headers.get("user-agent"))
    set_session_cookie(request, response, result.token)
    roles = frozenset(result.user.roles)
    return me_out(Principal(result.user, roles, permissions_for(roles), "session", session=result.session))


@router.post("/auth/logout", status_code=204)
async def logout(request: Request, session: TenantSession):
    """End this browser session (does nothing without one)."""
    principal = await optional_principal(request, session)
    if principal is not None:
        await service.logout(session, principal)
    response = Response(status_code=204)
    clear_session_cookie(request, response)
    return response


@router.post("/auth/logout-all", status_code=204)
async def logout_all(request: Request, session: TenantSession, me: CurrentUser):
    """End every browser session of the signed-in user ("log out everywhere")."""
    await service.logout_everywhere(session, me.id)
    response = Response(status_code=204)
    clear_session_cookie(request, response)
    return response


@router.get("/auth/me", response_model=MeOut)
async def whoami(me: CurrentUser):
    """The signed-in user, their roles and permissions."""
    return me_out(me)


@router.post("/auth/password", status_code=204)
async def change_password(session: TenantSession, me: CurrentUser, data: PasswordChangeIn):
    """Change your password (other browser sessions are signed out)."""
    await service.change_password(session, me, data.current_password, data.new_password)
    return Response(status_code=204)


@router.post("/auth/password-reset", status_code=202)
async def request_reset(request: Request, background: BackgroundTasks, session: TenantSession,
                        tenant: CurrentTenant, data: ResetRequestIn):
    """Mail a one-time reset link (always 202: the answer never says whether the address exists)."""
    platform = request.app.state.platform
    await service.request_reset(session, tenant, platform.settings, platform.limiter, email=data.email,
                                ip=request_ip(request), base=base_url(request, tenant))
    deliver_mail_later(request, background, tenant)
    return {"detail": "if the address belongs to a user of this workspace, a reset link is on its way"}


@router.post("/auth/password-reset/confirm", status_code=204)
async def confirm_reset(request: Request, session: TenantSession, data: RedeemIn):
    """Set a new password with a reset link's token (single use); every session of the user ends."""
    await service.redeem(session, "reset", data.token, data.password, ip=request_ip(request))
    return Response(status_code=204)


@router.post("/auth/invite/accept", response_model=UserOut)
async def accept_invite(request: Request, session: TenantSession, data: RedeemIn):
    """Accept an invitation: choose a password (the link works once); then sign in."""
    return user_out(await service.redeem(session, "invite", data.token, data.password, ip=request_ip(request),
                                         name=data.name))


# -- API tokens ----------------------------------------------------------------------------------------------
@router.post("/auth/tokens", response_model=NewTokenOut, status_code=201)
async def create_token(session: TenantSession, tenant: CurrentTenant, me: CurrentUser, data: TokenIn):
    """A new API token for you (shown once), limited to a subset of your roles."""
    new = await service.create_token(session, tenant, me, name=data.name, roles=data.roles,
                                     expires_days=data.expires_days)
    return NewTokenOut(**TokenOut.model_validate(new.record).model_dump(), token=new.token)


@router.get("/auth/tokens", response_model=list[TokenOut])
async def list_tokens(session: TenantSession, me: CurrentUser):
    """Your API tokens (never their secret)."""
    return await service.list_tokens(session, me.id)


@router.delete("/auth/tokens/{token_id}", status_code=204)
async def revoke_token(session: TenantSession, me: CurrentUser, token_id: uuid.UUID):
    """Revoke one of your API tokens (users.manage may revoke anyone's)."""
    await service.revoke_token(session, me, token_id)
    return Response(status_code=204)


# -- users (users.manage) ------------------------------------------------------------------------------------
users = APIRouter(prefix="/api/v1", tags=["users"], dependencies=[require("users.manage")])


@users.get("/users", response_model=Page[UserOut])
async def list_users(session: TenantSession, page: Annotated[PageParams, Depends(page_params)],
                     active: bool | None = None):
    """The workspace's users, by email."""
    users, total = await service.list_users(session, active=active, limit=page.limit, offset=page.offset)
    return Page[UserOut](items=[user_out(u) for u in users], total=total, limit=page.limit, offset=page.offset)


@users.post("/users", response_model=UserOut, status_code=201)
async def invite_user(request: Request, background: BackgroundTasks, session: TenantSession, tenant: CurrentTenant,
                      me: CurrentUser, data: UserIn):
    """Invite a user: they get a one-time link to choose their password."""
    user = await service.invite_user(session, tenant, request.app.state.platform.settings, email=data.email,
                                     name=data.name, roles=list(data.roles), language=data.language, inviter=me,
                                     base=base_url(request, tenant))
    deliver_mail_later(request, background, tenant)
    return user_out(user)


@users.get("/users/{user_id}", response_model=UserOut)
async def get_user(session: TenantSession, user_id: uuid.UUID):
    """One user."""
    return user_out(await service.get_user(session, user_id))


@users.patch("/users/{user_id}", response_model=UserOut)
async def update_user(session: TenantSession, tenant: CurrentTenant, me: CurrentUser, user_id: uuid.UUID,
                      data: UserPatch):
    """Rename, change roles, (de)activate a user; deactivating ends their sessions and revokes their tokens."""
    user = await service.update_user(session, tenant, me, user_id, name=data.name,
                                     roles=list(data.roles) if data.roles is not None else None,
                                     is_active=data.is_active, language=data.language)
    return user_out(user)


@users.post("/users/{user_id}/invite", status_code=202)
async def resend_invite(request: Request, background: BackgroundTasks, session: TenantSession,
                        tenant: CurrentTenant, user_id: uuid.UUID):
    """Send a fresh invitation link (the previous one stops working)."""
    user = await service.get_user(session, user_id)
    if not user.is_active:
        raise Conflict("the user is deactivated; activate them first")
    await service.send_invite(session, request.app.state.platform.settings, user, workspace=tenant.name,
                              base=base_url(request, tenant))
    deliver_mail_later(request, background, tenant)
    return {"detail": f"invitation sent to {user.email}"}


@users.delete("/users/{user_id}/sessions", status_code=204)
async def end_user_sessions(session: TenantSession, user_id: uuid.UUID):
    """Sign a user out of every browser."""
    await service.get_user(session, user_id)
    await service.logout_everywhere(session, user_id)
    return Response(status_code=204)


# -- audit log (audit.read) ----------------------------------------------------------------------------------
audit_router = APIRouter(prefix="/api/v1", tags=["audit"], dependencies=[require("audit.read")])


@audit_router.get("/audit", response_model=Page[AuditOut])
async def audit_log(session: TenantSession, page: Annotated[PageParams, Depends(page_params)],
                    entity: Annotated[str | None, Query(max_length=60)] = None,
                    entity_id: Annotated[str | None, Query(max_length=64)] = None,
                    user_id: uuid.UUID | None = None,
                    action: Annotated[str | None, Query(max_length=60)] = None):
    """Who changed what, newest first."""
    rows, total = await service.list_audit(session, entity=entity, entity_id=entity_id, user_id=user_id,
                                           action=action, limit=page.limit, offset=page.offset)
    return Page[AuditOut](items=rows, total=total, limit=page.limit, offset=page.offset)
