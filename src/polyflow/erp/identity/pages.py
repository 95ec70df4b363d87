"""Identity pages on the tenant host: sign-in and sign-out, password reset and invitations (forms shown before
sign-in, protected by the double-submit CSRF cookie), your account (password, sessions, API tokens), and for
those allowed, the users and the audit log. The same services and permissions as the JSON API.

    GET/POST /login  POST /login/mfa  POST /logout  GET/POST /reset  GET/POST /reset/confirm  GET/POST /invite
    GET /account  POST /account/password  POST /account/logout-all  POST /account/tokens  .../tokens/{id}/revoke
    POST /account/step-up  POST /account/mfa/setup  .../mfa/confirm  .../mfa/disable  .../mfa/recovery-codes
    GET /users  POST /users/invite  POST /users/{id}/active  POST /users/policy (users.manage)  GET /audit
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.erp.identity import endpoints as api
from polyflow.erp.identity import mfa, service, signin
from polyflow.erp.identity.auth import Principal, optional_principal
from polyflow.erp.identity.endpoints import clear_session_cookie, deliver_mail_later, device_cookie, signed_in_cookies
from polyflow.erp.models.user import ROLES
from polyflow.erp.pages import html_page, local_path, page, see_other, signed_form, signed_in, tenant_of, text
from polyflow.kit.errors import InvalidInput, NotFound, PolyflowError
from polyflow.kit.pagination import PageParams
from polyflow.platform.tenancy.deps import TenantSession
from polyflow.web import request_ip
from polyflow.web.csrf import check_pre_auth, check_same_origin, pre_auth_token

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

Offset = Annotated[int, Query(ge=0, le=10_000_000)]
LinkToken = Annotated[str, Query(max_length=200)]
LANGUAGES = {"id": "Bahasa Indonesia", "en": "English"}
# What a page says after a successful post (the redirect names one of these; no free text is reflected).
NOTICES = {
    "out": "You are signed out.",
    "out-all": "You are signed out on every browser.",
    "reset": "Your password was changed. Sign in with the new one.",
    "welcome": "Your account is ready. Sign in with your new password.",
    "sent": "If the address belongs to a user of this workspace, a reset link is on its way. It works once.",
    "password": "Your password was changed. Your other browsers were signed out.",
    "revoked": "The API token was revoked.",
    "invited": "The invitation was sent.",
    "activated": "The user was activated.",
    "deactivated": "The user was deactivated: their sessions ended and their API tokens were revoked.",
    "confirmed": "Thank you: for the next few minutes you can create tokens, invite users and change 2FA.",
    "mfa-off": "Two-factor sign-in is off.",
    "policy": "The workspace's sign-in rules were saved.",
}
Done = Annotated[str | None, Query(max_length=20)]


def _notice(done: str | None) -> str | None:
    return NOTICES.get(done or "")


# -- forms shown before sign-in ----------------------------------------------------------------------------
def pre_auth_page(request: Request, template: str, status_code: int = 200, *,
                  headers: dict[str, str] | None = None, **context) -> HTMLResponse:
    """A form for visitors: its csrf_token repeats the pf_csrf cookie set here (double submit)."""
    carrier = Response()  # pre_auth_token sets its cookie on a response; the page is rendered after
    context["csrf_token"] = pre_auth_token(request, carrier)
    response = page(request, template, status_code, **context)
    for value in carrier.headers.getlist("set-cookie"):
        response.headers.append("set-cookie", value)
    for key, value in (headers or {}).items():
        if key.lower() != "www-authenticate":
            response.headers[key] = value
    return response


async def visitor_form(request: Request):
    """The posted pre-sign-in form, after the same-origin and double-submit checks (403 otherwise)."""
    check_same_origin(request)
    form = await request.form()
    check_pre_auth(request, text(form, "csrf_token", 200))
    return form


@router.get("/login")
@html_page
async def login_form(request: Request, session: TenantSession, next: Annotated[str | None, Query()] = None,
                     done: Done = None):
    """The sign-in form (already signed in: straight on)."""
    if await optional_principal(request, session) is not None:
        return see_other(local_path(next) or "/")
    return pre_auth_page(request, "tenant/login.html", next=local_path(next) or "", notice=_notice(done), email="")


@router.post("/login")
@html_page
async def login_submit(request: Request, session: TenantSession):
    """Sign in from the form: 303 to `next` (a local path) or the dashboard; the form again on failure."""
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
    return pre_auth_page(request, "tenant/reset.html", notice=_notice(done), email="")


@router.post("/reset")
@html_page
async def reset_submit(request: Request, session: TenantSession, background: BackgroundTasks):
    """Mail a reset link; the answer is the same whether or not the address belongs to a user."""
    email = ""
    try:
        form = await visitor_form(request)
        email = text(form, "email", 254)
        if not email:
            raise InvalidInput("enter your email address")
        platform, route = request.app.state.platform, tenant_of(request)
        await service.request_reset(session, route, platform.settings, platform.limiter, email=email,
                                    ip=request_ip(request))
    except PolyflowError as exc:
        await session.rollback()
        return pre_auth_page(request, "tenant/reset.html", exc.status_code, headers=exc.headers, error=exc.message,
                             email=email)
    deliver_mail_later(request, background, route)
    return see_other("/reset?done=sent")


async def _redeem_submit(request: Request, session: AsyncSession, purpose: str, template: str, done: str):
    token = name = ""
    try:
        form = await visitor_form(request)
        token, name = text(form, "token", 200), text(form, "name", 200)
        password = text(form, "password", 1024, strip=False)
        if password != text(form, "password2", 1024, strip=False):
            raise InvalidInput("the two passwords differ")
        # The reset form's "revoke my API tokens" box (ticked by default; an unticked box is not sent).
        await service.redeem(session, purpose, token, password, ip=request_ip(request), name=name or None,
                             revoke_tokens=purpose == "reset" and text(form, "revoke_tokens", 5) == "1")
    except PolyflowError as exc:
        await session.rollback()
        return pre_auth_page(request, template, exc.status_code, error=exc.message, token=token, person=name)
    return see_other(f"/login?done={done}")


@router.get("/reset/confirm")
@html_page
async def reset_confirm_form(request: Request, session: TenantSession, token: LinkToken = ""):
    """Choose a new password with the link from the reset mail."""
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
    return pre_auth_page(request, "tenant/invite.html", token=token, person="")


@router.post("/invite")
@html_page
async def invite_submit(request: Request, session: TenantSession):
    """Set the invited user's name and password (the link works once); then sign in."""
    return await _redeem_submit(request, session, "invite", "tenant/invite.html", "welcome")


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
    return await account_page(request, session, principal.id, notice=_notice(done))


@router.post("/account/password")
@html_page
async def change_password(request: Request, session: TenantSession):
    """Change your password; your other browsers are signed out."""
    principal = await signed_in(request, session)

    async def act(form):
        new = text(form, "new_password", 1024, strip=False)
        if new != text(form, "new_password2", 1024, strip=False):
            raise InvalidInput("the two new passwords differ")
        platform = request.app.state.platform
        await signin.change_password(session, tenant_of(request), platform.settings, platform.limiter, principal,
                                     text(form, "current_password", 1024, strip=False), new, ip=request_ip(request))

    return await _account_action(request, session, principal, act) or see_other("/account?done=password")


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
            raise InvalidInput("give the token a name")
        days = text(form, "expires_days", 10)
        if days and (not days.isdigit() or not 1 <= int(days) <= 3650):
            raise InvalidInput("expires in days: a whole number, or empty for the default")
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
    await service.revoke_token(session, principal, _uuid(token_id, "no such API token"))
    return see_other("/account?done=revoked")


def _uuid(value: str, missing: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(missing) from None


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
    return await users_page(request, session, offset, notice=_notice(done))


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
                                  _uuid(user_id, "no such user"), is_active=active == "1")
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

