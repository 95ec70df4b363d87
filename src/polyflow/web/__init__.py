"""Server-rendered pages: one Jinja2 environment, the shared layout and stylesheet (no CDN: every
asset is served by the app itself), and CSRF helpers for forms."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescapes .html


def static_files() -> StaticFiles:
    return StaticFiles(directory=str(HERE / "static"))


def render(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    """Render a page; `request.state` may carry `principal` (the signed-in user) and `csrf_token`."""
    return templates.TemplateResponse(request, name, context, status_code=status_code)
