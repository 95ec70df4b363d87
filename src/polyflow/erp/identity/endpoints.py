"""Identity JSON API on the tenant host: sign-in, the caller's sessions and tokens, users, audit log.

Stable contract for scripts: ``POST /api/v1/auth/login`` with ``{"email", "password"}`` sets the
session cookie and returns the user, or (202) ``{"mfa_required": true, "mfa_token"}`` for a user with
two-factor sign-in, then ``POST /api/v1/auth/login/mfa`` with ``{"mfa_token", "code"}``;
``POST /api/v1/auth/logout``; ``POST /api/v1/auth/tokens`` (signed in, recent step-up) returns a new API
token once. Sensitive actions answer 403 with ``X-Polyflow-Step-Up: required`` until
``POST /api/v1/auth/step-up`` confirms the password or a code.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response

from polyflow import web
from polyflow.erp.identity import mfa, outbox, service, signin
from polyflow.erp.identity.auth import (
    DEVICE_COOKIE, SESSION_COOKIE, CurrentUser, Principal, optional_principal, require,
)
from polyflow.erp.identity.permissions import permissions_for
from polyflow.erp.identity.schemas import (
    AuditOut, LoginIn, LoginMfaIn, LogoutAllIn, MeOut, MfaChallengeOut, MfaCodeIn, MfaDisableIn, MfaEnrolmentOut,
    MfaStatusOut, NewTokenOut, PasswordChangeIn, RecoveryCodesOut, RedeemIn, ResetRequestIn, SignInPolicyIn,
    SignInPolicyOut, StepUpIn, StepUpOut, TokenIn, TokenOut, UserIn, UserOut, UserPatch,
)
from polyflow.erp.identity.throttle import DEVICE_DAYS
from polyflow.erp.models import User
from polyflow.erp.models.user import ROLES
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.platform.tenancy.deps import CurrentTenant, TenantSession
from polyflow.platform.tenancy.route import TenantRoute
from polyflow.web import request_ip
from polyflow.web.csrf import check_same_origin

router = APIRouter(prefix="/api/v1", tags=["identity"])


def user_out(user: User) -> UserOut:
    out = UserOut.model_validate(user)
    out.has_password = bool(user.password_hash)
    out.has_totp = user.has_totp
    return out


def me_out(principal: Principal) -> MeOut:
    """The caller as this request sees them (a token's roles, not all of the user's)."""
    out = user_out(principal.user).model_dump()
    out["roles"] = [r for r in ROLES if r in principal.roles]
    return MeOut(**out, permissions=sorted(principal.permissions), via=principal.via,
                 csrf_token=principal.csrf_token, must_enrol_mfa=principal.must_enrol_mfa)


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """The tenant session cookie (host-only: only this tenant's host ever gets it back)."""
    web.set_session_cookie(request, response, SESSION_COOKIE, token)


def clear_session_cookie(request: Request, response: Response) -> None:
    web.clear_session_cookie(request, response, SESSION_COOKIE)


def signed_in_cookies(request: Request, response: Response, result: signin.LoginResult) -> None:
    """The session cookie, and the known-device cookie that lets this browser through sign-in floods."""
    set_session_cookie(request, response, result.token)
    response.set_cookie(web.cookie_name(request, DEVICE_COOKIE), result.device, max_age=DEVICE_DAYS * 86400,
                        path="/", httponly=True, samesite="lax", secure=web.secure_cookies(request))


def device_cookie(request: Request) -> str | None:
    return web.read_cookie(request, DEVICE_COOKIE)


def me_after_login(result: signin.LoginResult) -> MeOut:
    roles = frozenset(result.user.roles)
    return me_out(Principal(result.user, roles, permissions_for(roles), "session", session=result.session))


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
@router.post("/auth/login", response_model=MeOut | MfaChallengeOut)
async def login(request: Request, response: Response, session: TenantSession, tenant: CurrentTenant, data: LoginIn):
    """Sign in with email and password: sets the session cookie, returns the user."""
    check_same_origin(request, forms=False)  # a foreign page must not sign the browser in (login CSRF)
    platform = request.app.state.platform
    result = await signin.login(session, tenant, platform.settings, platform.limiter, email=data.email,
                                password=data.password, ip=request_ip(request),
                                user_agent=request.headers.get("user-agent"), device=device_cookie(request))
    if isinstance(result, signin.MfaRequired):
        response.status_code = 202
        return MfaChallengeOut(mfa_token=result.mfa_token)
    signed_in_cookies(request, response, result)
    return me_after_login(result)


@router.post("/auth/login/mfa", response_model=MeOut)
async def login_mfa(request: Request, response: Response, session: TenantSession, tenant: CurrentTenant,
                    data: LoginMfaIn):
    """The second sign-in step: a two-factor or recovery code for the password step's mfa_token."""
    check_same_origin(request, forms=False)
    platform = request.app.state.platform
    result = await signin.login_mfa(session, tenant, platform.settings, platform.limiter, platform.secrets,
                                    mfa_token=data.mfa_token, code=data.code, ip=request_ip(request),
                                    user_agent=request.headers.get("user-agent"))
    signed_in_cookies(request, response, result)
    return me_after_login(result)


@router.post("/auth/step-up", response_model=StepUpOut)
async def step_up(request: Request, session: TenantSession, tenant: CurrentTenant, me: CurrentUser, data: StepUpIn):
    """Confirm your password or a two-factor code: sensitive actions are open on this session for a while."""
    platform = request.app.state.platform
    until = await signin.step_up(session, tenant, platform.settings, platform.limiter, platform.secrets, me,
                                 password=data.password, code=data.code, ip=request_ip(request))
    return StepUpOut(step_up_until=until)


@router.post("/auth/logout", status_code=204)
async def logout(request: Request, session: TenantSession):
    """End this browser session (does nothing without one)."""
    principal = await optional_principal(request, session)
    if principal is not None:
        await signin.logout(session, principal)
    response = Response(status_code=204)
    clear_session_cookie(request, response)
    return response


@router.post("/auth/logout-all", status_code=204)
async def logout_all(request: Request, session: TenantSession, me: CurrentUser, data: LogoutAllIn | None = None):
    """End every browser session of the signed-in user ("log out everywhere"); revoke_tokens: the API tokens too."""
    await signin.logout_everywhere(session, me.id, revoke_tokens=data is not None and data.revoke_tokens)
    response = Response(status_code=204)
    clear_session_cookie(request, response)
    return response


@router.get("/auth/me", response_model=MeOut)
async def whoami(me: CurrentUser):
    """The signed-in user, their roles and permissions."""
    return me_out(me)


@router.post("/auth/password", status_code=204)
async def change_password(request: Request, session: TenantSession, tenant: CurrentTenant, me: CurrentUser,
                          data: PasswordChangeIn):
    """Change your password (other browser sessions are signed out); wrong guesses are throttled."""
    platform = request.app.state.platform
    await signin.change_password(session, tenant, platform.settings, platform.limiter, me, data.current_password,
                                 data.new_password, ip=request_ip(request))
    return Response(status_code=204)


@router.post("/auth/password-reset", status_code=202)
async def request_reset(request: Request, background: BackgroundTasks, session: TenantSession,
                        tenant: CurrentTenant, data: ResetRequestIn):
    """Mail a one-time reset link (always 202: the answer never says whether the address exists)."""
    platform = request.app.state.platform
    await service.request_reset(session, tenant, platform.settings, platform.limiter, email=data.email,
                                ip=request_ip(request))
    deliver_mail_later(request, background, tenant)
    return {"detail": "if the address belongs to a user of this workspace, a reset link is on its way"}


@router.post("/auth/password-reset/confirm", status_code=204)
async def confirm_reset(request: Request, session: TenantSession, data: RedeemIn):
    """Set a new password with a reset link's token (single use); every session of the user ends, and
    (revoke_tokens, default true) their API tokens are revoked."""
    await service.redeem(session, "reset", data.token, data.password, ip=request_ip(request),
                         revoke_tokens=data.revoke_tokens)
    return Response(status_code=204)


@router.post("/auth/invite/accept", response_model=UserOut)
async def accept_invite(request: Request, session: TenantSession, data: RedeemIn):
    """Accept an invitation: choose a password (the link works once); then sign in."""
    return user_out(await service.redeem(session, "invite", data.token, data.password, ip=request_ip(request),
                                         name=data.name))


# -- API tokens ----------------------------------------------------------------------------------------------
@router.post("/auth/tokens", response_model=NewTokenOut, status_code=201)
async def create_token(request: Request, background: BackgroundTasks, session: TenantSession, tenant: CurrentTenant,
                       me: CurrentUser, data: TokenIn):
    """A new API token for you (shown once) with the roles you choose; needs a recent step-up; mailed to you."""
    new = await service.create_token(session, tenant, request.app.state.platform.settings, me, name=data.name,
                                     roles=list(data.roles), expires_days=data.expires_days)
    deliver_mail_later(request, background, tenant)
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


# -- two-factor sign-in ------------------------------------------------------------------------------------------
@router.get("/auth/mfa", response_model=MfaStatusOut)
async def mfa_status(session: TenantSession, me: CurrentUser):
    """Whether your two-factor sign-in is on, recovery codes left, whether the workspace requires it."""
    return MfaStatusOut(enabled=me.user.has_totp, recovery_codes_left=await mfa.recovery_codes_left(session, me.id),
                        required_by_workspace=await mfa.require_mfa(session))


@router.post("/auth/mfa/totp", response_model=MfaEnrolmentOut)
async def mfa_begin(request: Request, session: TenantSession, tenant: CurrentTenant, me: CurrentUser):
    """Start enrolling an authenticator app: the secret (shown once) and its otpauth:// URI."""
    platform = request.app.state.platform
    enrolment = await mfa.begin(session, tenant, platform.settings, platform.secrets, me)
    return MfaEnrolmentOut(secret=enrolment.secret, otpauth_uri=enrolment.uri)


@router.post("/auth/mfa/totp/confirm", response_model=RecoveryCodesOut)
async def mfa_confirm(request: Request, background: BackgroundTasks, session: TenantSession, tenant: CurrentTenant,
                      me: CurrentUser, data: MfaCodeIn):
    """Turn two-factor sign-in on with the app's first code; returns 10 single-use recovery codes (once)."""
    platform = request.app.state.platform
    codes = await mfa.confirm(session, tenant, platform.settings, platform.limiter, platform.secrets, me, data.code)
    deliver_mail_later(request, background, tenant)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post("/auth/mfa/totp/disable", status_code=204)
async def mfa_disable(request: Request, background: BackgroundTasks, session: TenantSession, tenant: CurrentTenant,
                      me: CurrentUser, data: MfaDisableIn):
    """Turn two-factor sign-in off (your password and a code)."""
    platform = request.app.state.platform
    await mfa.disable(session, tenant, platform.settings, platform.limiter, platform.secrets, me,
                      password=data.password, code=data.code, ip=request_ip(request))
    deliver_mail_later(request, background, tenant)
    return Response(status_code=204)


@router.post("/auth/mfa/recovery-codes", response_model=RecoveryCodesOut)
async def mfa_recovery_codes(request: Request, session: TenantSession, me: CurrentUser):
    """A new set of recovery codes (the old set stops working); needs a recent step-up."""
    return RecoveryCodesOut(recovery_codes=await mfa.regenerate_codes(session, request.app.state.platform.settings,
                                                                      me))


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
                                     name=data.name, roles=list(data.roles), language=data.language, inviter=me)
    deliver_mail_later(request, background, tenant)
    return user_out(user)


@users.get("/users/{user_id}", response_model=UserOut)
async def get_user(session: TenantSession, user_id: uuid.UUID):
    """One user."""
    return user_out(await service.get_user(session, user_id))


@users.patch("/users/{user_id}", response_model=UserOut)
async def update_user(request: Request, session: TenantSession, tenant: CurrentTenant, me: CurrentUser,
                      user_id: uuid.UUID, data: UserPatch):
    """Rename, re-address, change roles (recent step-up), (de)activate a user; deactivating ends their
    sessions and revokes their tokens. Only an owner acts on an owner."""
    user = await service.update_user(session, tenant, request.app.state.platform.settings, me, user_id,
                                     name=data.name, email=data.email,
                                     roles=list(data.roles) if data.roles is not None else None,
                                     is_active=data.is_active, language=data.language)
    return user_out(user)


@users.post("/users/{user_id}/invite", status_code=202)
async def resend_invite(request: Request, background: BackgroundTasks, session: TenantSession,
                        tenant: CurrentTenant, me: CurrentUser, user_id: uuid.UUID):
    """Send a fresh invitation link (the previous one stops working); needs a recent step-up."""
    user = await service.resend_invite(session, tenant, request.app.state.platform.settings, me, user_id)
    deliver_mail_later(request, background, tenant)
    return {"detail": f"invitation sent to {user.email}"}


@users.delete("/users/{user_id}/sessions", status_code=204)
async def end_user_sessions(session: TenantSession, me: CurrentUser, user_id: uuid.UUID,
                            revoke_tokens: bool = False):
    """Sign a user out of every browser (revoke_tokens=true: and revoke their API tokens)."""
    await service.end_sessions(session, me, user_id, revoke_tokens=revoke_tokens)
    return Response(status_code=204)


@users.delete("/users/{user_id}/mfa", status_code=204)
async def reset_user_mfa(request: Request, background: BackgroundTasks, session: TenantSession,
                         tenant: CurrentTenant, me: CurrentUser, user_id: uuid.UUID):
    """Turn off a user's two-factor sign-in (lost phone and codes); needs a recent step-up; the user is mailed."""
    await mfa.reset_for(session, tenant, request.app.state.platform.settings, me,
                        await service.get_user(session, user_id))
    deliver_mail_later(request, background, tenant)
    return Response(status_code=204)


@users.get("/sign-in-policy", response_model=SignInPolicyOut)
async def get_sign_in_policy(session: TenantSession):
    """The workspace's sign-in rules (whether every user needs two-factor sign-in)."""
    return SignInPolicyOut(require_mfa=await mfa.require_mfa(session))


@users.put("/sign-in-policy", response_model=SignInPolicyOut)
async def set_sign_in_policy(request: Request, session: TenantSession, me: CurrentUser, data: SignInPolicyIn):
    """Require two-factor sign-in of every user, or stop requiring it (owners only, recent step-up)."""
    return SignInPolicyOut(require_mfa=await mfa.set_policy(session, request.app.state.platform.settings, me,
                                                            require=data.require_mfa))


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
