"""Forms shown before sign-in: sign-in (password, then the two-factor code when the user has one), sign-out,
password reset and invitations."""

from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.identity import service, signin
from polyflow.erp.identity.auth import optional_principal
from polyflow.erp.identity.endpoints import clear_session_cookie, deliver_mail_later, device_cookie, signed_in_cookies
from polyflow.erp.identity.pages.common import (
    Done, LinkToken, keep_lang, notice, pre_auth_page, router, visitor, visitor_form,
)
from polyflow.erp.pages import html_page, local_path, see_other, signed_form, tenant_of, text
from polyflow.kit.errors import InvalidInput, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import request_ip
from polyflow.web.csrf import check_pre_auth, check_same_origin
from polyflow.web.i18n import _


@router.get("/login")
@html_page
async def login_form(request: Request, session: TenantSession, next: Annotated[str | None, Query()] = None,
                     done: Done = None):
    """The sign-in form (already signed in: straight on)."""
    if await optional_principal(request, session) is not None:
        return see_other(local_path(next) or "/")
    await visitor(request, session)
    return pre_auth_page(request, "tenant/login.html", next=local_path(next) or "", notice=notice(done), email="")


@router.post("/login")
@html_page
async def login_submit(request: Request, session: TenantSession):
    """Sign in from the form: 303 to `next` (a local path) or the dashboard; the form again on failure."""
    await visitor(request, session)
    form = await request.form()
    email = next_path = ""
    try:
        next_path = local_path(text(form, "next", 1000)) or ""
        email = text(form, "email", 254)
        check_same_origin(request)
        check_pre_auth(request, text(form, "csrf_token", 200))
        password = text(form, "password", 1024, strip=False)
        platform = request.app.state.platform
        result = await signin.login(session, tenant_of(request), platform.settings, platform.limiter, email=email,
                                    password=password, ip=request_ip(request),
                                    user_agent=request.headers.get("user-agent"), device=device_cookie(request))
    except PolyflowError as exc:  # wrong password 401, throttled 429, bad form token 403
        await session.rollback()
        return pre_auth_page(request, "tenant/login.html", exc.status_code, headers=exc.headers, error=exc.message,
                             email=email, next=next_path)
    if isinstance(result, signin.MfaRequired):
        return pre_auth_page(request, "tenant/mfa.html", mode="login", mfa_token=result.mfa_token, next=next_path)
    response = see_other(next_path or "/")
    signed_in_cookies(request, response, result)
    return response


@router.post("/login/mfa")
@html_page
async def login_mfa_submit(request: Request, session: TenantSession):
    """The second sign-in step: a code from the authenticator app or a recovery code."""
    await visitor(request, session)
    form = await request.form()
    ticket = next_path = ""
    try:
        next_path = local_path(text(form, "next", 1000)) or ""
        ticket = text(form, "mfa_token", 200)
        check_same_origin(request)
        check_pre_auth(request, text(form, "csrf_token", 200))
        platform = request.app.state.platform
        result = await signin.login_mfa(session, tenant_of(request), platform.settings, platform.limiter,
                                        platform.secrets, mfa_token=ticket, code=text(form, "code", 40),
                                        ip=request_ip(request), user_agent=request.headers.get("user-agent"))
    except PolyflowError as exc:
        await session.rollback()
        return pre_auth_page(request, "tenant/mfa.html", exc.status_code, headers=exc.headers, error=exc.message,
                             mode="login", mfa_token=ticket, next=next_path)
    response = see_other(next_path or "/")
    signed_in_cookies(request, response, result)
    return response


@router.post("/logout")
@html_page
async def logout(request: Request, session: TenantSession):
    """Sign out (the form's csrf_token is the session's); 303 to the sign-in form."""
    principal = await optional_principal(request, session)
    if principal is not None:
        await signed_form(request, principal)
        await signin.logout(session, principal)
    response = see_other("/login?done=out" if principal is not None else "/login")
    clear_session_cookie(request, response)
    return response


@router.get("/reset")
@html_page
async def reset_form(request: Request, session: TenantSession, done: Done = None):
    """Ask for a password reset link."""
    await visitor(request, session)
    return pre_auth_page(request, "tenant/reset.html", notice=notice(done), email="")


@router.post("/reset")
@html_page
async def reset_submit(request: Request, session: TenantSession, background: BackgroundTasks):
    """Mail a reset link; the answer is the same whether or not the address belongs to a user."""
    await visitor(request, session)
    email = ""
    try:
        form = await visitor_form(request)
        email = text(form, "email", 254)
        if not email:
            raise InvalidInput(_("Enter your email address."))
        platform, route = request.app.state.platform, tenant_of(request)
        await service.request_reset(session, route, platform.settings, platform.limiter, email=email,
                                    ip=request_ip(request))
    except PolyflowError as exc:
        await session.rollback()
        return pre_auth_page(request, "tenant/reset.html", exc.status_code, headers=exc.headers, error=exc.message,
                             email=email)
    deliver_mail_later(request, background, route)
    return see_other(keep_lang(request, "/reset?done=sent"))


async def _redeem_submit(request: Request, session: AsyncSession, purpose: str, template: str, done: str):
    await visitor(request, session)
    token = name = ""
    try:
        form = await visitor_form(request)
        token, name = text(form, "token", 200), text(form, "name", 200)
        password = text(form, "password", 1024, strip=False)
        if password != text(form, "password2", 1024, strip=False):
            raise InvalidInput(_("The two passwords differ."))
        # The reset form's "revoke my API tokens" box (ticked by default; an unticked box is not sent).
        await service.redeem(session, purpose, token, password, ip=request_ip(request), name=name or None,
                             revoke_tokens=purpose == "reset" and text(form, "revoke_tokens", 5) == "1")
    except PolyflowError as exc:
        await session.rollback()
        return pre_auth_page(request, template, exc.status_code, error=exc.message, token=token, person=name)
    return see_other(keep_lang(request, f"/login?done={done}"))


@router.get("/reset/confirm")
@html_page
async def reset_confirm_form(request: Request, session: TenantSession, token: LinkToken = ""):
    """Choose a new password with the link from the reset mail."""
    await visitor(request, session)
    return pre_auth_page(request, "tenant/reset_confirm.html", token=token)


@router.post("/reset/confirm")
@html_page
async def reset_confirm_submit(request: Request, session: TenantSession):
    """Set the new password (the link works once); every session of the user ends."""
    return await _redeem_submit(request, session, "reset", "tenant/reset_confirm.html", "reset")


@router.get("/invite")
@html_page
async def invite_form(request: Request, session: TenantSession, token: LinkToken = ""):
    """Accept an invitation: your name and a password."""
    await visitor(request, session)
    return pre_auth_page(request, "tenant/invite.html", token=token, person="")


@router.post("/invite")
@html_page
async def invite_submit(request: Request, session: TenantSession):
    """Set the invited user's name and password (the link works once); then sign in."""
    return await _redeem_submit(request, session, "invite", "tenant/invite.html", "welcome")
