"""The production pages' tests: a real server, a tenant with a small extrusion plant (master data through the
production test helpers), and browsers signed in through the real sign-in form."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from datetime import date

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.erp.conftest import tenant_engine  # noqa: F401  (the fixture, for the ORM master data)
from tests.erp.production.orders.helpers import bom, machine, operator, piece_rate, product, receive, route
from tests.fixtures.auth import TEST_PASSWORD, make_user

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


@asynccontextmanager
async def browser(live, sub: str, roles: list[str]):
    """A cookie-holding client signed in through the sign-in form as a new user with `roles` (language id)."""
    user = make_user(live.settings, sub, roles)
    async with live.tenant_client(sub, role=None) as client:
        form = await client.get("/login")
        r = await client.post("/login", data={"email": user["email"], "password": TEST_PASSWORD, "next": "",
                                              "csrf_token": csrf_of(form.text)})
        assert r.status_code == 303, r.text
        yield client


async def post_form(client: httpx.AsyncClient, page: str, action: str, data: dict) -> httpx.Response:
    """Open `page` (for its CSRF token) and post `data` to `action`, the way a browser submits the form."""
    r = await client.get(page)
    assert r.status_code == 200, (page, r.status_code, r.text[:500])
    return await client.post(action, data={**data, "csrf_token": csrf_of(r.text)}, follow_redirects=False)


@pytest.fixture
async def plant(make_tenant, live, tenant_engine):  # noqa: F811
    """pt-abc with resin (2 000 kg at Rp 10 000 in RM-WH), a film made 1:1 from resin on extruder EXT-1
    (overhead Rp 300 per kg), a one-step default route, operator OP-1 and daun scrap at Rp 2 000 a kg."""
    tenant = await make_tenant("pt-abc")
    engine = tenant_engine(tenant)
    async with live.tenant_client("pt-abc") as c, AsyncSession(engine, expire_on_commit=False) as session:
        p = {"resin": await product(c, "PP-RESIN", "raw_material"),
             "film": await product(c, "FILM-ROLL", "finished_good"),
             "daun": await product(c, "SCRAP-DAUN", "scrap", standard_cost="2000"),
             "prong": await product(c, "SCRAP-PRONGKOL", "scrap", standard_cost="1000")}
        await receive(c, p["resin"], "2000", "10000", date(2026, 1, 2))
        ext = machine(session, "EXT-1", "extruder", "300", "kg")
        op = operator(session, "OP-1")
        piece_rate(session, "extrusion", "100", date(2026, 1, 1))
        await session.flush()
        b = bom(session, p["film"], "extrusion", [(p["resin"], "1")])
        await session.flush()
        route(session, "R-FILM", p["film"], [("extrusion", p["film"], b, ext)])
        await session.commit()
        return {**p, "ext": ext.id, "op": op.id}
