"""Super-admin sign-in on the admin host: a JSON API for scripts and SPAs, and server-rendered pages.

    POST /api/v1/auth/login        {email, password} -> session cookie; {email, name, csrf_token, expires_at}
    POST /api/v1/auth/logout       end this session
    POST /api/v1/auth/logout-all   end every session of this admin
    GET  /api/v1/auth/me           who is calling (an admin, or the operator token)

    GET/POST /login                sign-in form (pre-sign-in CSRF: double-submit cookie)
    POST     /logout               sign-out form (the session's CSRF token)
    GET      /                     dashboard: the tenants, read-only (changes go through the JSON API)

A page requested without a session redirects (303) to /login; the API answers 401.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.errors import Forbidden
from polyflow.platform.admin import identity
from polyflow.platform.admin.auth import (
    Admin, SignedInAdmin, clear_session_cookie, optional_admin, set_session_cookie,
)
from polyflow.platform.admin.tenants import list_tenants
from polyflow.web import render, request_ip
from polyflow.web.csrf import check_form_token, check_pre_auth, check_same_origin, pre_auth_token

router = APIRouter(tags=["admin: sign-in"])

PAGE_SIZE = 100
MaybeAdmin = Annotated[identity.SignedIn | None, Depends(optional_admin)]


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=1000)
    password: str = Field(max_length=1000)


class SignedInOut(BaseModel):
    email: str
    name: str
    csrf_token: str  # for forms; JSON calls from this site need only the cookie
    expires_at: datetime


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
    set_session_cookie(request, response, result.token)
    a = result.admin
    return SignedInOut(email=a.email, name=a.name, csrf_token=a.csrf_token, expires_at=a.expires_at)


@router.post("/api/v1/auth/logout", status_code=204)
async def api_logout(request: Request, admin: SignedInAdmin):
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
async def login_form(request: Request, admin: MaybeAdmin):
    """The sign-in form (already signed in: the dashboard)."""
    if admin is not None:
        return RedirectResponse("/", status_code=303)
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
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(request, response, result.token)
    return response


@router.post("/logout", response_class=HTMLResponse, include_in_schema=False)
async def logout_submit(request: Request, admin: MaybeAdmin,
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
