"""Helpers for browser tests: a demo-seeded tenant, signing in through the form, the tenant app's pages, and a
page that records console errors, CSP violations and failed requests. Screenshots go to
``$POLYFLOW_ARTIFACTS/screenshots`` (default ``artifacts/screenshots`` in the checkout), kept as test artifacts."""

from __future__ import annotations

import os
import re
from pathlib import Path

from fastapi import routing
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from polyflow.erp.demo import seed_tenant
from polyflow.platform import provisioning
from polyflow.platform.tenancy.middleware import TenancyMiddleware
from tests.fixtures.auth import TEST_PASSWORD

ARTIFACTS = Path(os.environ.get("POLYFLOW_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts"))
PHONE = {"width": 390, "height": 844}


def screenshot_path(name: str) -> Path:
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") + ".png")


async def seed_demo(live, tenant, subdomain: str) -> None:
    engine = create_async_engine(provisioning.tenant_dsn(tenant, live.platform.secrets).url(), pool_size=1,
                                 max_overflow=0)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            await seed_tenant(session, subdomain)
    finally:
        await engine.dispose()


def page_paths(live) -> list[str]:
    """Every GET page of the tenant app that takes no id (the menu's pages, forms, reports)."""
    found = [m.kwargs["tenant_app"] for m in live.app.user_middleware if m.cls is TenancyMiddleware]
    app = found[0]
    iterate = getattr(routing, "iter_route_contexts", None)
    routes = list(iterate(app.routes)) if iterate is not None else list(app.routes)
    paths = set()
    for r in routes:
        original = getattr(r, "original_route", r)
        if isinstance(original, routing.APIRoute) and "GET" in (r.methods or ()) and not r.path.startswith("/api/") \
                and "{" not in r.path and not r.path.endswith("/pdf") and r.path not in ("/favicon.ico",):
            paths.add(r.path)
    return sorted(paths)


class Watched:
    """A page whose console errors, CSP violations and failed requests are recorded."""

    def __init__(self, page):
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))
        page.on("response", lambda r: self.problems.append(f"HTTP {r.status} {r.url}")
                if r.status >= 400 and r.request.resource_type in ("stylesheet", "script", "image", "font") else None)

    def _console(self, message) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            self.problems.append(f"{message.type}: {message.text} ({message.location.get('url')})")

    def take(self) -> list[str]:
        out, self.problems = self.problems, []
        return out


async def sign_in(page, base: str, email: str, password: str = TEST_PASSWORD) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#email", email)
    await page.fill("#password", password)
    async with page.expect_navigation():
        await page.locator("form button[type=submit]").first.click()
    assert not page.url.startswith(f"{base}/login"), f"sign-in failed: {page.url}"


async def horizontal_overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0: no sideways scrolling)."""
    return await page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
                               " - window.innerWidth")
