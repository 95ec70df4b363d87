"""Signed-in browsers for the operations pages (stock counts, toll orders, planning): a user with the given
roles signs in through the real login, and the client carries the session cookie and posts forms with the
session's CSRF token, like a browser does."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager

import pytest

from tests.erp.conftest import tenant_engine  # noqa: F401  (the MRP test writes a BOM as the ERP tests do)
from tests.fixtures.auth import TEST_PASSWORD, make_user


class Browser:
    """A signed-in tenant client: `get`, and `post(path, data)` adding the csrf_token."""

    def __init__(self, client, csrf: str):
        self.client, self.csrf = client, csrf

    async def get(self, path: str, **kw):
        return await self.client.get(path, **kw)

    async def post(self, path: str, data: dict | list | None = None, **kw):
        if isinstance(data, list):  # (name, value) pairs, a name may repeat (ticked checkboxes)
            body: dict = {}
            for name, value in data + [("csrf_token", self.csrf)]:
                body.setdefault(name, []).append(value)
        else:
            body = {**(data or {}), "csrf_token": self.csrf}
        return await self.client.post(path, data=body, follow_redirects=False, **kw)


@pytest.fixture
def browser(live):
    """browser(sub, roles=["owner"]) -> async context of a signed-in Browser (Accept: text/html)."""

    @asynccontextmanager
    async def open_(sub: str, roles: list[str] | None = None, language: str = "id"):
        user = make_user(live.settings, sub, roles or ["owner"])
        if language != "id":
            set_language(live.settings, sub, user["email"], language)
        host = f"{sub}.{live.settings.root_domain}"
        async with live.client(host) as c:
            r = await c.post("/api/v1/auth/login", json={"email": user["email"], "password": TEST_PASSWORD})
            assert r.status_code == 200, r.text
            cookie = r.cookies["pf_session"]
        async with live.client(host, headers={"Cookie": f"pf_session={cookie}", "Accept": "text/html",
                                              "Origin": f"http://{host}"}) as c:
            csrf = (await c.get("/api/v1/auth/me")).json()["csrf_token"]
            yield Browser(c, csrf)

    return open_


def text_of(html: str) -> str:
    """The page's visible text, tags dropped and whitespace folded (for assertions on figures)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def set_language(settings, sub: str, email: str, language: str) -> None:
    """Switch a test user's page language (users created by tests read Bahasa Indonesia)."""
    from tests.fixtures.auth import tenant_sql

    tenant_sql(settings, "UPDATE users SET language = %s WHERE email = %s", language, email, sub=sub)
