"""Signed-in browser-like clients for the catalog, stock and partner pages: a real server, a user with the
given roles signed in through the real sign-in form (session cookie + CSRF token), Bahasa Indonesia."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager

import httpx
import pytest

from tests.fixtures.auth import TEST_PASSWORD, make_user

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no csrf_token on the page"
    return match.group(1)


class Browser:
    """A signed-in client and its CSRF token; `post` adds the token to every form."""

    def __init__(self, client: httpx.AsyncClient, csrf: str):
        self.client, self.csrf = client, csrf

    async def get(self, url: str, **kw) -> httpx.Response:
        return await self.client.get(url, **kw)

    async def post(self, url: str, data: dict) -> httpx.Response:
        return await self.client.post(url, data={**data, "csrf_token": self.csrf}, follow_redirects=False)


@pytest.fixture
def browser(live):
    """`async with browser("pt-abc", ["warehouse"]) as b:` a user with those roles, signed in through the form."""

    @asynccontextmanager
    async def open_(sub: str, roles: list[str]):
        user = make_user(live.settings, sub, roles)
        async with live.tenant_client(sub, role=None) as client:
            form = await client.get("/login")
            r = await client.post("/login", data={"email": user["email"], "password": TEST_PASSWORD, "next": "",
                                                  "csrf_token": csrf_of(form.text)})
            assert r.status_code == 303, r.text
            account = await client.get("/account")  # any signed-in user's page with the session's token
            yield Browser(client, csrf_of(account.text))

    return open_
