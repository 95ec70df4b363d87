"""Accounting page tests: a real server, users signed in through the real sign-in form (a browser session with
its CSRF token), the tenant's data read back through the JSON API."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from typing import AsyncIterator

import httpx
import pytest

from tests.fixtures.auth import TEST_PASSWORD, make_user

SUB = "pt-abc"
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


@pytest.fixture
def browser(live):
    """browser(roles, sub=SUB) -> a cookie-holding client signed in through the form as a new user."""

    @asynccontextmanager
    async def open_(roles: list[str], sub: str = SUB) -> AsyncIterator[httpx.AsyncClient]:
        user = make_user(live.settings, sub, roles)
        async with live.tenant_client(sub, role=None) as client:
            form = await client.get("/login")
            r = await client.post("/login", data={"email": user["email"], "password": TEST_PASSWORD, "next": "",
                                                  "csrf_token": csrf_of(form.text)})
            assert r.status_code == 303, r.text
            client.user = user
            yield client

    return open_


async def post_form(client: httpx.AsyncClient, form_path: str, action: str, data: dict) -> httpx.Response:
    """Open the page with the form (for its CSRF token) and post `data` to `action`."""
    page = await client.get(form_path)
    assert page.status_code == 200, page.text[:500]
    return await client.post(action, data={**data, "csrf_token": csrf_of(page.text)})
