"""The purchasing pages' fixtures: a tenant with a PKP supplier and a raw material (made through the JSON API),
and browsers: clients signed in through the real login as a user of a role, carrying its CSRF token."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from tests.fixtures.auth import make_user, session_client

SUPPLIER = {"code": "S-RESIN", "name": "PT Resin Nusantara", "is_supplier": True, "npwp": "0123456789012345",
            "is_pkp": True, "payment_terms_days": 30, "address": "Jl. Industri 5", "city": "Tangerang"}


@dataclass
class Shop:
    supplier_id: str
    variant_id: str


@pytest.fixture
async def shop(make_tenant, live) -> Shop:
    """pt-abc with supplier S-RESIN (PKP, NPWP, 30 days) and product PP-RAF in KG."""
    await make_tenant("pt-abc")
    async with live.tenant_client("pt-abc") as c:
        r = await c.post("/api/v1/partners", json=SUPPLIER)
        assert r.status_code == 201, r.text
        supplier = r.json()
        r = await c.post("/api/v1/products", json={"sku": "PP-RAF", "name": "PP raffia", "unit": "KG",
                                                   "product_type": "raw_material"})
        assert r.status_code == 201, r.text
        return Shop(supplier["id"], r.json()["variants"][0]["id"])


@pytest.fixture
def browser(live):
    """browser(role, sub="pt-abc") -> a client signed in (session cookie) as a new user with that role;
    `.csrf` is its form token."""

    @asynccontextmanager
    async def open_(role: str, sub: str = "pt-abc"):
        user = make_user(live.settings, sub, [role])
        async with session_client(live, user, sub) as c:
            c.csrf = (await c.get("/api/v1/auth/me")).json()["csrf_token"]
            c.headers["Accept"] = "text/html"
            yield c

    return open_


def ids_in(html: str, prefix: str) -> list[str]:
    """The ids of the links `prefix/<uuid>` in a page, in order."""
    return re.findall(re.escape(prefix) + r"/([0-9a-f-]{36})", html)
