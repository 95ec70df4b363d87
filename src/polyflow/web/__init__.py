"""Server-rendered pages: one Jinja2 environment, the shared layout and stylesheet (no CDN: every
asset is served by the app itself), and CSRF helpers for forms."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import FileResponse, HTMLResponse

from polyflow.kit.web import client_ip, is_https
from polyflow.web import fmt, i18n

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescapes .html
templates.env.add_extension("jinja2.ext.i18n")
# `_()` and {% trans %} in every template (newstyle: `_("%(n)s rows", n=3)`, a literal % is written %%), and the
# formatters (rupiah, num, qty, date, datetime ...) in the reader's language and the workspace's time zone.
templates.env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
templates.env.globals.update(fmt.GLOBALS)
templates.env.globals["current_lang"] = i18n.current_lang
templates.env.globals["LANGUAGES"] = i18n.LANGUAGES


def static_files() -> StaticFiles:
    return StaticFiles(directory=str(HERE / "static"))


def add_favicon(app) -> None:
    """`/favicon.ico` on every host (browsers ask for it on their own): the site's SVG icon, cached a day."""

    async def favicon() -> Response:
        return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.add_api_route("/favicon.ico", favicon, methods=["GET"], include_in_schema=False)


def render(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    """Render a page; `request.state` may carry `principal` (the signed-in user) and `csrf_token`."""
    context.setdefault("lang", i18n.current_lang())
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def secure_cookies(request: Request) -> bool:
    """Cookies are Secure in production always (HTTPS is assumed there), elsewhere only under HTTPS."""
    settings = request.app.state.platform.settings
    return settings.env == "production" or is_https(request.scope, settings.trusted_proxy_networks)


def cookie_name(request: Request, name: str) -> str:
    """A cookie's real name on this deployment (``__Host-<name>`` in production, see Settings.cookie_name)."""
    return request.app.state.platform.settings.cookie_name(name)


def read_cookie(request: Request, name: str) -> str | None:
    """The value of our cookie ``name`` under its real name; an unprefixed twin is ignored in production."""
    return request.cookies.get(cookie_name(request, name))


def set_session_cookie(request: Request, response: Response, name: str, token: str) -> None:
    """A sign-in cookie (tenant `pf_session`, admin `pf_admin`; `__Host-` prefixed in production): host-only
    (no Domain attribute, so the browser returns it to this host and no other), HttpOnly, SameSite=Lax,
    Secure in production and under HTTPS, lasting `SESSION_HOURS` (the server-side record decides; this
    only spares a dead cookie)."""
    settings = request.app.state.platform.settings
    response.set_cookie(cookie_name(request, name), token, max_age=int(settings.session_hours * 3600), path="/",
                        httponly=True, samesite="lax", secure=secure_cookies(request))


def clear_session_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(cookie_name(request, name), path="/", httponly=True, samesite="lax",
                           secure=secure_cookies(request))


def request_ip(request: Request) -> str:
    """The client's address for throttling and audit (behind trusted proxies: X-Forwarded-For)."""
    return client_ip(request.scope, request.app.state.platform.settings.trusted_proxy_networks)
