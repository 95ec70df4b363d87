"""Super-admin sign-in on the admin host: a JSON API for scripts and SPAs, and server-rendered pages.

    POST /api/v1/auth/login        {email, password} -> session cookie; {email, name, csrf_token, expires_at,
                                   stage}; stage is the next step ("mfa", "password", "enrol") or "full"
    POST /api/v1/auth/mfa          {code}: a TOTP or recovery code (stage "mfa") -> new cookie
    POST /api/v1/auth/mfa/enrol    (stage "enrol") a new secret: {secret, otpauth_uri}, shown once
    POST /api/v1/auth/mfa/confirm  {code} from that secret -> new cookie, {..., recovery_codes} shown once
    POST /api/v1/auth/password     {current_password, new_password, code}: code unless stage "password"
    POST /api/v1/auth/logout       end this session
    POST /api/v1/auth/logout-all   end every session of this admin
    GET  /api/v1/auth/me           who is calling (an admin, or the operator token)

    GET/POST /login                sign-in form (pre-sign-in CSRF: double-submit cookie)
    GET/POST /login/code           the two-factor code
    GET/POST /login/enrol (+ /login/enrol/start)   two-factor set-up, then the recovery codes (once)
    GET/POST /password             choose a password (a one-time one's replacement, or a change)
    POST     /logout               sign-out form (the session's CSRF token)
    GET      /                     dashboard: the tenants, read-only (changes go through the JSON API)

A page requested without a session redirects (303) to /login, and /login sends a half-finished sign-in
on to its next step; the API answers 401 without a session and 403 before the sign-in is complete.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.errors import Forbidden
from polyflow.kit.errors import PolyflowError
from polyflow.platform.admin import identity, mfa
from polyflow.platform.admin.auth import (
    Admin, SignedInAdmin, SigningIn, any_stage_admin, clear_session_cookie, optional_admin, set_session_cookie,
)
from polyflow.platform.admin.tenants import list_tenants
from polyflow.web import render, request_ip
from polyflow.web.csrf import check_form_token, check_pre_auth, check_same_origin, pre_auth_token

router = APIRouter(tags=["admin: sign-in"])

PAGE_SIZE = 100
MaybeAdmin = Annotated[identity.SignedIn | None, Depends(optional_admin)]
AnyStage = Annotated[identity.SignedIn | None, Depends(any_stage_admin)]
STEP_PAGES = {"mfa": "/login/code", "password": "/password", "enrol": "/login/enrol", "full": "/"}


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=1000)
    password: str = Field(max_length=1000)


class SignedInOut(BaseModel):
    email: str
    name: str
    csrf_token: str  # for forms; JSON calls from this site need only the cookie
    expires_at: datetime
    stage: str  # "full", or the sign-in step still to do: "mfa", "password", "enrol"


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=64)


class EnrolmentOut(BaseModel):
    secret: str
    otpauth_uri: str


class EnrolledOut(SignedInOut):
    recovery_codes: list[str]


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(max_length=1000)
    new_password: str = Field(max_length=1000)
    code: str | None = Field(None, max_length=64)


class MeOut(BaseModel):
    actor: str
    email: str | None  # None for the operator token
    name: str | None
    expires_at: datetime | None


class LoggedOutAll(BaseModel):
    sessions_ended: int


async def _login(request: Request, email: str, password: str) -> identity.LoginResult:
    return await identity.login(request.app.state.platform, email, password, request_ip(request),
                                request.headers.get("user-agent"))


# --- JSON API ----------------------------------------------------------------------------------------


@router.post("/api/v1/auth/login", response_model=SignedInOut)
async def api_login(request: Request, response: Response, body: LoginIn):
    """Sign in: sets the host-only session cookie; 401 on a wrong email or password, 429 when throttled."""
    check_same_origin(request, forms=False)  # no logging a victim's browser into someone else's account
    result = await _login(request, body.email, body.password)
    return _signed_in(request, response, result)


def _signed_in(request: Request, response: Response, result: identity.LoginResult) -> SignedInOut:
    set_session_cookie(request, response, result.token)
    a = result.admin
    return SignedInOut(email=a.email, name=a.name, csrf_token=a.csrf_token, expires_at=a.expires_at, stage=a.stage)


@router.post("/api/v1/auth/mfa", response_model=SignedInOut)
async def api_mfa(request: Request, response: Response, admin: SigningIn, body: CodeIn):
    """The sign-in's two-factor step: a TOTP code or a recovery code (each works once)."""
    return _signed_in(request, response, await mfa.verify_code(request.app.state.platform, admin, body.code))


@router.post("/api/v1/auth/mfa/enrol", response_model=EnrolmentOut)
async def api_mfa_enrol(request: Request, admin: SigningIn):
    """Start setting up two-factor: a new secret and its otpauth:// URI (shown once)."""
    enrolment = await mfa.start_enrolment(request.app.state.platform, admin)
    return EnrolmentOut(secret=enrolment.secret, otpauth_uri=enrolment.uri)


@router.post("/api/v1/auth/mfa/confirm", response_model=EnrolledOut)
async def api_mfa_confirm(request: Request, response: Response, admin: SigningIn, body: CodeIn):
    """Turn two-factor on with a code from the new secret; returns the 10 recovery codes (shown once)."""
    done = await mfa.confirm_enrolment(request.app.state.platform, admin, body.code)
    out = _signed_in(request, response, done.result)
    return EnrolledOut(**out.model_dump(), recovery_codes=done.recovery_codes)


@router.post("/api/v1/auth/password", response_model=SignedInOut)
async def api_password(request: Request, response: Response, admin: SigningIn, body: PasswordIn):
    """Change your password (current password, and a code unless replacing a one-time password)."""
    result = await mfa.change_password(request.app.state.platform, admin, body.current_password,
                                       body.new_password, body.code)
    return _signed_in(request, response, result)


@router.post("/api/v1/auth/logout", status_code=204)
async def api_logout(request: Request, admin: SigningIn):
    """End this session and clear its cookie."""
    await identity.logout(request.app.state.platform, admin, request_ip(request))
    response = Response(status_code=204)
    clear_session_cookie(request, response)
    return response


@router.post("/api/v1/auth/logout-all", response_model=LoggedOutAll)
async def api_logout_all(request: Request, admin: SignedInAdmin):
    """End every session of this admin, on every device (this one included)."""
    ended = await identity.logout_everywhere(request.app.state.platform, admin, request_ip(request))
    response = JSONResponse(LoggedOutAll(sessions_ended=ended).model_dump())
    clear_session_cookie(request, response)
    return response


@router.get("/api/v1/auth/me", response_model=MeOut)
async def api_me(principal: Admin):
    """Who is calling: the signed-in admin, or the operator token."""
    s = principal.session
    return MeOut(actor=principal.actor, email=s.email if s else None, name=s.name if s else None,
                 expires_at=s.expires_at if s else None)


# --- pages -------------------------------------------------------------------------------------------


def _login_page(request: Request, status_code: int = 200, *, error: str | None = None, email: str = "",
                headers: dict[str, str] | None = None) -> HTMLResponse:
    carrier = Response()  # pre_auth_token sets its cookie on a response; the page is rendered after
    token = pre_auth_token(request, carrier)
    page = render(request, "admin/login.html", status_code, csrf_token=token, error=error, email=email[:254])
    for value in carrier.headers.getlist("set-cookie"):
        page.headers.append("set-cookie", value)
    page.headers.update(headers or {})
    page.headers["Cache-Control"] = "no-store"
    return page


def _to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
async def login_form(request: Request, admin: AnyStage):
    """The sign-in form (already signed in: the dashboard, or the sign-in's next step)."""
    if admin is not None:
        return RedirectResponse(STEP_PAGES[admin.stage], status_code=303)
    return _login_page(request)


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
async def login_submit(
    request: Request,
    email: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
):
    """Sign in from the form: the dashboard on success, the form again with the reason otherwise."""
    try:
        check_same_origin(request)
        check_pre_auth(request, csrf_token)
    except Forbidden as exc:
        return _login_page(request, 403, error=exc.message, email=email)
    try:
        result = await _login(request, email, password)
    except identity.LoginFailed as exc:
        return _login_page(request, 401, error=exc.message, email=email)
    except identity.TooManyAttempts as exc:
        return _login_page(request, 429, error=exc.message, email=email, headers=exc.headers)
    return _to_step(request, result)


def _to_step(request: Request, result: identity.LoginResult) -> RedirectResponse:
    response = RedirectResponse(STEP_PAGES[result.admin.stage], status_code=303)
    set_session_cookie(request, response, result.token)
    return response


def _step_page(request: Request, admin: identity.SignedIn, template: str, status_code: int = 200,
               **context) -> HTMLResponse:
    return render(request, f"admin/{template}", status_code, admin=admin, **context)


async def _step_form(request: Request, admin: identity.SignedIn | None, stage: str | tuple[str, ...]):
    """A step's posted form once it is this site's with the session's CSRF token, or the response to give
    instead (no session: /login; another stage: that stage's page; forged: 403)."""
    stages = (stage,) if isinstance(stage, str) else stage
    if admin is None:
        return None, _to_login()
    if admin.stage not in stages:
        return None, RedirectResponse(STEP_PAGES[admin.stage], status_code=303)
    try:
        check_same_origin(request)
        form = await request.form()
        token = form.get("csrf_token")
        check_form_token(admin.csrf_token, token if isinstance(token, str) else None)
    except Forbidden as exc:
        return None, render(request, "admin/message.html", 403, error=exc.message)
    return form, None


def _text(form, name: str, max_length: int = 1000) -> str:
    value = form.get(name)
    return value[:max_length] if isinstance(value, str) else ""


def _error_page(request: Request, admin: identity.SignedIn, template: str, exc: PolyflowError,
                **context) -> HTMLResponse:
    page = _step_page(request, admin, template, exc.status_code, error=exc.message, **context)
    page.headers.update({k: v for k, v in (exc.headers or {}).items() if k.lower() == "retry-after"})
    return page


@router.get("/login/code", response_class=HTMLResponse, include_in_schema=False)
async def code_form(request: Request, admin: AnyStage):
    """The two-factor code form."""
    if admin is None or admin.stage != "mfa":
        return RedirectResponse(STEP_PAGES[admin.stage] if admin else "/login", status_code=303)
    return _step_page(request, admin, "step_code.html")


@router.post("/login/code", response_class=HTMLResponse, include_in_schema=False)
async def code_submit(request: Request, admin: AnyStage):
    """Check the code: the next step (or the console) on success, the form again otherwise."""
    form, other = await _step_form(request, admin, "mfa")
    if other is not None:
        return other
    try:
        result = await mfa.verify_code(request.app.state.platform, admin, _text(form, "code", 64))
    except PolyflowError as exc:
        return _error_page(request, admin, "step_code.html", exc)
    return _to_step(request, result)


@router.get("/login/enrol", response_class=HTMLResponse, include_in_schema=False)
async def enrol_form(request: Request, admin: AnyStage):
    """Two-factor set-up: a button that shows a new key."""
    if admin is None or admin.stage != "enrol":
        return RedirectResponse(STEP_PAGES[admin.stage] if admin else "/login", status_code=303)
    return _step_page(request, admin, "step_enrol.html", enrolment=None)


@router.post("/login/enrol/start", response_class=HTMLResponse, include_in_schema=False)
async def enrol_start(request: Request, admin: AnyStage):
    """A new key and its otpauth:// link (shown once), with the form for the first code."""
    form, other = await _step_form(request, admin, "enrol")
    if other is not None:
        return other
    enrolment = await mfa.start_enrolment(request.app.state.platform, admin)
    return _step_page(request, admin, "step_enrol.html", enrolment=enrolment)


@router.post("/login/enrol", response_class=HTMLResponse, include_in_schema=False)
async def enrol_submit(request: Request, admin: AnyStage):
    """Confirm the set-up with a code; the recovery codes are shown once."""
    form, other = await _step_form(request, admin, "enrol")
    if other is not None:
        return other
    try:
        done = await mfa.confirm_enrolment(request.app.state.platform, admin, _text(form, "code", 64))
    except PolyflowError as exc:
        # A new key with the error: the one shown before is not repeated (it was shown once).
        enrolment = await mfa.start_enrolment(request.app.state.platform, admin) if exc.status_code == 401 else None
        return _error_page(request, admin, "step_enrol.html", exc, enrolment=enrolment)
    page = _step_page(request, done.result.admin, "step_recovery.html", codes=done.recovery_codes)
    set_session_cookie(request, page, done.result.token)
    return page


@router.get("/password", response_class=HTMLResponse, include_in_schema=False)
async def password_form(request: Request, admin: AnyStage):
    """Choose a password (after a one-time one), or change yours (signed in)."""
    if admin is None or admin.stage not in ("password", "full"):
        return RedirectResponse(STEP_PAGES[admin.stage] if admin else "/login", status_code=303)
    return _step_page(request, admin, "step_password.html")


@router.post("/password", response_class=HTMLResponse, include_in_schema=False)
async def password_submit(request: Request, admin: AnyStage):
    """Save the new password: the next step (or the console with a notice), the form again otherwise."""
    form, other = await _step_form(request, admin, ("password", "full"))
    if other is not None:
        return other
    try:
        result = await mfa.change_password(request.app.state.platform, admin, _text(form, "current_password"),
                                           _text(form, "new_password"), _text(form, "code", 64))
    except PolyflowError as exc:
        return _error_page(request, admin, "step_password.html", exc)
    return _to_step(request, result)


@router.post("/logout", response_class=HTMLResponse, include_in_schema=False)
async def logout_submit(request: Request, admin: AnyStage,
                        csrf_token: Annotated[str, Form(max_length=200)] = ""):
    """Sign out from the form (its CSRF token is the session's)."""
    if admin is None:
        response = _to_login()
        clear_session_cookie(request, response)
        return response
    try:
        check_same_origin(request)
        check_form_token(admin.csrf_token, csrf_token)
    except Forbidden as exc:
        return render(request, "admin/message.html", 403, admin=admin, error=exc.message)
    await identity.logout(request.app.state.platform, admin, request_ip(request))
    response = _to_login()
    clear_session_cookie(request, response)
    return response


@router.get("/", include_in_schema=False)
async def dashboard(request: Request, admin: MaybeAdmin, page: Annotated[int, Query(ge=1, le=100_000)] = 1):
    """Browsers: the tenants, read-only. Other clients: the admin host's identification (as before)."""
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"app": "polyflow-admin"}, headers={"Vary": "Accept"})
    if admin is None:
        return _to_login()
    async with AsyncSession(request.app.state.platform.main_engine) as session:
        tenants, total = await list_tenants(session, status=None, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    response = render(request, "admin/dashboard.html", admin=admin, tenants=tenants, total=total, page=page,
                      pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1))
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = "no-store"
    return response
