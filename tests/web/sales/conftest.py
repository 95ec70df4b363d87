"""The sales and payment pages' tests: a real server, pt-abc with a warehouse, a woven bag in stock, a customer
with NPWP and address and the company's letterhead (through the JSON API), and browsers signed in through the
real sign-in form (cookie + CSRF token, language id)."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from datetime import date

import httpx
import pytest

from tests.erp.sales.helpers import customer, ok, product, receive
from tests.fixtures.auth import TEST_PASSWORD, make_user, tenant_sql

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
TODAY = date.today().isoformat()


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


@asynccontextmanager
async def browser(live, sub: str, roles: list[str], language: str = "id"):
    """A cookie-holding client signed in through the sign-in form as a new user with `roles`."""
    user = make_user(live.settings, sub, roles)
    if language != "id":
        tenant_sql(live.settings, "UPDATE users SET language = %s WHERE id = %s", language, user["id"], sub=sub)
    async with live.tenant_client(sub, role=None) as client:
        form = await client.get("/login")
        r = await client.post("/login", data={"email": user["email"], "password": TEST_PASSWORD, "next": "",
                                              "csrf_token": csrf_of(form.text)})
        assert r.status_code == 303, r.text
        yield client


async def post_form(client: httpx.AsyncClient, page: str, action: str, data: dict) -> httpx.Response:
    """Open `page` (for its CSRF token) and post `data` to `action`, as a browser submits the form."""
    r = await client.get(page)
    assert r.status_code == 200, (page, r.status_code, r.text[:500])
    return await client.post(action, data={**data, "csrf_token": csrf_of(r.text)}, follow_redirects=False)


def created_id(response: httpx.Response, prefix: str) -> str:
    """The id in a 303 to `<prefix>/<id>?done=...`."""
    assert response.status_code == 303, (response.status_code, response.text[:800])
    match = re.fullmatch(rf"{re.escape(prefix)}/([0-9a-f-]{{36}})(\?.*)?", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


@pytest.fixture
async def shop(make_tenant, live):
    """pt-abc: location WH, WB-50 woven bags (PCS, 1 500 in stock at Rp 1 500), customer C-1 (PKP, NPWP,
    address, 30 days), the company PT Plastik Jaya with its NPWP; ids and an API client's data."""
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        loc = await ok(await c.post("/api/v1/locations", json={"code": "WH", "name": "Gudang Utama"}), 201)
        bag = await product(c, "WB-50", "Karung plastik 50kg", "PCS")
        await receive(c, bag, "1500", "1500", TODAY)
        cust = await customer(c, "C-1", terms=30)
        await ok(await c.patch("/api/v1/settings", json={
            "company_name": "PT Plastik Jaya", "npwp": "09.876.543.2-109.000", "address": "Jl. Raya Serang 5"}))
    return {"location": loc["id"], "variant": bag, "customer": cust}
