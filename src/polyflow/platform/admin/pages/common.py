"""What every console page shares: who may see it (a fully signed-in super-admin's ``pf_admin`` cookie,
else 303 to /login), how a posted form is trusted (this site's origin, then the session's CSRF token),
how a page and an error page are rendered, and the fixed notice codes a redirect may carry.

Nothing here decides a business rule: the pages call the services the admin JSON API calls, with the
actor ``admin:<email>``, so the audit log reads the same whichever way an operator worked.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import FormData

from polyflow.kit.errors import InvalidInput, PolyflowError
from polyflow.kit.limits import EARLIEST_DAY, LATEST_DAY
from polyflow.platform.admin import identity
from polyflow.platform.admin.auth import optional_admin
from polyflow.web import fmt, i18n, render
from polyflow.web.csrf import check_form_token, check_same_origin

MaybeAdmin = Annotated[identity.SignedIn | None, Depends(optional_admin)]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# The console's sections, in the order of the navigation bar.
NAV = (("/tenants", "Tenants"), ("/fleet", "Fleet"), ("/plans", "Plans"), ("/billing", "Billing"),
       ("/servers", "Servers"), ("/audit", "Audit log"), ("/admins", "Admins"))


def when(moment: datetime | None) -> str:
    """A moment in UTC for operators ('—' when there is none)."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def size(n: int | None) -> str:
    """Bytes in binary units ('—' when unknown)."""
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # not reached


def console(request: Request) -> dict[str, Any]:
    """Start a console page: English and UTC for everything formatted while it renders (the shared
    formatters follow the request's language and zone); returns the context every console page gets."""
    i18n.use_lang("en")
    fmt.use_zone("UTC")
    section = next((href for href, _ in NAV if request.url.path.startswith(href)), None)
    return {"when": when, "size": size, "section": section, "lang": "en"}


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A console page (never cached: it shows live state and carries the session's CSRF token)."""
    response = render(request, template, status_code, **{**console(request), **context})
    response.headers["Cache-Control"] = "no-store"
    return response


def message(request: Request, admin: identity.SignedIn, exc: PolyflowError) -> HTMLResponse:
    """The error page for a PolyflowError, with its status (and Retry-After when it has one)."""
    response = page(request, "admin/message.html", exc.status_code, admin=admin, error=exc.message)
    if exc.headers and "Retry-After" in exc.headers:
        response.headers["Retry-After"] = exc.headers["Retry-After"]
    return response


def to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def notice(notices: dict[str, str], done: str | None) -> str | None:
    """The fixed text for a ?done= code (an unknown code shows nothing: user text is never reflected)."""
    return notices.get((done or "")[:40])


def field(form: FormData, name: str, max_length: int = 200) -> str:
    """A single-line text field ('' when absent), trimmed; too long or with control characters is a 422."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    value = value.strip()
    if len(value) > max_length:
        raise InvalidInput(f"the {name.replace('_', ' ')} is too long (at most {max_length} characters)")
    if _CONTROL.search(value):
        raise InvalidInput(f"the {name.replace('_', ' ')} must not contain control characters")
    return value


def parse_day(text: str, name: str) -> date | None:
    """A day typed as YYYY-MM-DD ('' -> None) within the dates the code can compute with, else a 422."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"the {name} must be a day like 2026-12-31") from None
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InvalidInput(f"the {name} must lie between {EARLIEST_DAY.isoformat()} and {LATEST_DAY.isoformat()}")
    return day


async def signed_form(request: Request, admin: identity.SignedIn) -> FormData:
    """The posted form, once it is known to come from this site with the session's CSRF token (else 403)."""
    check_same_origin(request)  # before the body is even read
    form = await request.form()
    token = form.get("csrf_token")
    check_form_token(admin.csrf_token, token if isinstance(token, str) else None)
    return form
