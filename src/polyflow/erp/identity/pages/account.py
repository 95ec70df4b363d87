"""Your account: profile, password, sessions, API tokens, the "confirm it is you" step-up and two-factor sign-in
(enrolment, recovery codes, turning it off)."""

from __future__ import annotations

import uuid

from fastapi import BackgroundTasks, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.identity import mfa, service, signin
from polyflow.erp.identity.auth import Principal
from polyflow.erp.identity.endpoints import clear_session_cookie, deliver_mail_later
from polyflow.erp.identity.pages.common import Done, notice, id_from_path, router
from polyflow.erp.models.user import ROLES
from polyflow.erp.pages import html_page, local_path, page, see_other, signed_form, signed_in, tenant_of, text
from polyflow.kit.errors import InvalidInput, PolyflowError
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import request_ip
from polyflow.web.i18n import LANGUAGES, _


# -- your account ------------------------------------------------------------------------------------------
async def account_page(request: Request, session: AsyncSession, user_id: uuid.UUID, status_code: int = 200,
                       **context) -> HTMLResponse:
    """The account page, loaded afresh (it is also shown after a failed action was rolled back)."""
    user = await service.get_user(session, user_id)
    tokens = await service.list_tokens(session, user_id)
    settings = request.app.state.platform.settings
    return page(request, "tenant/account.html", status_code, user=user, tokens=tokens,
                codes_left=await mfa.recovery_codes_left(session, user_id),
                mfa_required=await mfa.require_mfa(session), token_days=settings.token_default_days,
                token_max_days=settings.token_max_days, **context)


async def _account_action(request: Request, session: AsyncSession, principal: Principal, action) -> HTMLResponse | None:
    """Run `action(form)` for a signed-in form; a user-caused error re-renders the account page with it."""
    user_id = principal.id
    form = await signed_form(request, principal)  # a bad csrf_token is the 403 page, not a form error
    try:
        await action(form)
    except PolyflowError as exc:
        await session.rollback()
        return await account_page(request, session, user_id, exc.status_code, error=exc.message)
    return None


@router.get("/account")
@html_page
async def account(request: Request, session: TenantSession, done: Done = None):
    """Your profile, password, sessions and API tokens."""
    principal = await signed_in(request, session)
    return await account_page(request, session, principal.id, notice=notice(done))


@router.post("/account/password")
@html_page
async def change_password(request: Request, session: TenantSession):
    """Change your password; your other browsers are signed out."""
    principal = await signed_in(request, session)

    async def act(form):
        new = text(form, "new_password", 1024, strip=False)
        if new != text(form, "new_password2", 1024, strip=False):
            raise InvalidInput(_("The two new passwords differ."))
        platform = request.app.state.platform
        await signin.change_password(session, tenant_of(request), platform.settings, platform.limiter, principal,
                                     text(form, "current_password", 1024, strip=False), new, ip=request_ip(request))

    return await _account_action(request, session, principal, act) or see_other("/account?done=password")


@router.post("/account/language")
@html_page
async def set_language(request: Request, session: TenantSession):
    """Choose the language of your pages (Bahasa Indonesia or English); the next page speaks it."""
    principal = await signed_in(request, session)

    async def act(form):
        language = text(form, "language", 5)
        if language not in LANGUAGES:
            raise InvalidInput(_("Choose a language from the list."))
        await service.update_user(session, tenant_of(request), request.app.state.platform.settings, principal,
                                  principal.id, language=language)

    return await _account_action(request, session, principal, act) or see_other("/account?done=language")


@router.post("/account/logout-all")
@html_page
async def logout_all(request: Request, session: TenantSession):
    """End every browser session of yours, this one included (and your API tokens if the box is ticked)."""
    principal = await signed_in(request, session)
    form = await signed_form(request, principal)
    await signin.logout_everywhere(session, principal.id, revoke_tokens=text(form, "revoke_tokens", 5) == "1")
    response = see_other("/login?done=out-all")
    clear_session_cookie(request, response)
    return response


@router.post("/account/tokens")
@html_page
async def create_token(request: Request, session: TenantSession, background: BackgroundTasks):
    """Create an API token; the result page shows it once."""
    principal = await signed_in(request, session)
    created = []

    async def act(form):
        name = text(form, "name", 100)
        if not name:
            raise InvalidInput(_("Give the token a name."))
        days = text(form, "expires_days", 10)
        if days and (not days.isdigit() or not 1 <= int(days) <= 3650):
            raise InvalidInput(_("Expires after: a whole number of days, or empty for the default."))
        roles = [r for r in form.getlist("roles") if isinstance(r, str)][:len(ROLES)]
        created.append(await service.create_token(session, tenant_of(request), request.app.state.platform.settings,
                                                  principal, name=name, roles=roles,
                                                  expires_days=int(days) if days else None))

    failed = await _account_action(request, session, principal, act)
    if failed is not None:
        return failed
    deliver_mail_later(request, background, tenant_of(request))
    return page(request, "tenant/token_created.html", new=created[0])


@router.post("/account/tokens/{token_id}/revoke")
@html_page
async def revoke_token(request: Request, session: TenantSession, token_id: str):
    """Revoke one of your API tokens."""
    principal = await signed_in(request, session)
    await signed_form(request, principal)
    await service.revoke_token(session, principal, id_from_path(token_id, "no such API token"))
    return see_other("/account?done=revoked")


# -- confirming it is you, two-factor sign-in ------------------------------------------------------------------
@router.post("/account/step-up")
@html_page
async def step_up(request: Request, session: TenantSession):
    """Confirm your password or a two-factor code; back to the page named by `next`."""
    principal = await signed_in(request, session)
    back = []

    async def act(form):
        back.append(local_path(text(form, "next", 1000)) or "/account")
        platform = request.app.state.platform
        secret = text(form, "confirm", 1024, strip=False)
        is_code = secret.strip().isdigit() and len(secret.strip()) == 6
        await signin.step_up(session, tenant_of(request), platform.settings, platform.limiter, platform.secrets,
                             principal, password=None if is_code else secret, code=secret if is_code else None,
                             ip=request_ip(request))

    failed = await _account_action(request, session, principal, act)
    if failed is not None:
        return failed
    path = back[0]
    return see_other(path + ("&" if "?" in path else "?") + "done=confirmed")


@router.post("/account/mfa/setup")
@html_page
async def mfa_setup(request: Request, session: TenantSession):
    """Start enrolling an authenticator app: the secret and its otpauth URI, and a form for the first code."""
    principal = await signed_in(request, session)
    started = []

    async def act(form):
        platform = request.app.state.platform
        started.append(await mfa.begin(session, tenant_of(request), platform.settings, platform.secrets, principal))

    failed = await _account_action(request, session, principal, act)
    if failed is not None:
        return failed
    return page(request, "tenant/mfa.html", mode="setup", secret=started[0].secret, uri=started[0].uri)


@router.post("/account/mfa/confirm")
@html_page
async def mfa_confirm(request: Request, session: TenantSession, background: BackgroundTasks):
    """Turn two-factor sign-in on with the app's first code; shows the recovery codes once."""
    principal = await signed_in(request, session)
    made = []

    async def act(form):
        platform = request.app.state.platform
        made.append(await mfa.confirm(session, tenant_of(request), platform.settings, platform.limiter,
                                      platform.secrets, principal, text(form, "code", 40)))

    failed = await _account_action(request, session, principal, act)
    if failed is not None:
        return failed
    deliver_mail_later(request, background, tenant_of(request))
    return page(request, "tenant/mfa.html", mode="codes", codes=made[0])


@router.post("/account/mfa/disable")
@html_page
async def mfa_disable(request: Request, session: TenantSession, background: BackgroundTasks):
    """Turn two-factor sign-in off with your password and a code."""
    principal = await signed_in(request, session)

    async def act(form):
        platform = request.app.state.platform
        await mfa.disable(session, tenant_of(request), platform.settings, platform.limiter, platform.secrets,
                          principal, password=text(form, "password", 1024, strip=False), code=text(form, "code", 40),
                          ip=request_ip(request))

    failed = await _account_action(request, session, principal, act)
    if failed is not None:
        return failed
    deliver_mail_later(request, background, tenant_of(request))
    return see_other("/account?done=mfa-off")


@router.post("/account/mfa/recovery-codes")
@html_page
async def mfa_recovery_codes(request: Request, session: TenantSession):
    """A new set of recovery codes, shown once (the old set stops working)."""
    principal = await signed_in(request, session)
    made = []

    async def act(form):
        made.append(await mfa.regenerate_codes(session, request.app.state.platform.settings, principal))

    failed = await _account_action(request, session, principal, act)
    if failed is not None:
        return failed
    return page(request, "tenant/mfa.html", mode="codes", codes=made[0])
