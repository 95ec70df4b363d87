"""Every GET page of the tenant app, for every role, in both languages, on a tenant with the demo plant's data
(erp/demo: three weeks of trade, production, a stock count, a toll order ...): each answers 200 or 403 (never a
500, never a traceback), and a Bahasa Indonesia page shows no English text the catalogs translate.

The pages are read from the app's own routes (a new page is smoked without being listed here); a page with an
id in its path is opened with a real row of its kind (the table per path is below: a new kind of page fails
until it gets one).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import defaultdict
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI, routing
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from polyflow.erp.demo import seed_tenant
from polyflow.erp.models.user import ROLES
from polyflow.platform import entitlements, provisioning
from polyflow.platform.tenancy.middleware import TenancyMiddleware
from polyflow.web import i18n
from tests.fixtures.auth import make_user, tenant_sql

SUB = "pt-abc"  # a demo plant: seed_tenant fills it
# A row of the right kind for each page that takes an id (path prefix -> query for one id).
ROWS = {
    # A page that only opens in one state gets a row in that state (longest match first).
    "/purchase-orders/{order_id}/edit": "SELECT id FROM purchase_orders WHERE status = 'draft' ORDER BY number LIMIT 1",
    "/products/": "SELECT id FROM products ORDER BY sku LIMIT 1",
    "/journal/": "SELECT id FROM journal_entries ORDER BY entry_date DESC, number DESC LIMIT 1",
    "/partners/": "SELECT id FROM partners ORDER BY code LIMIT 1",
    "/purchase-requests/": "SELECT id FROM purchase_requests ORDER BY created_at LIMIT 1",
    "/purchase-orders/": "SELECT id FROM purchase_orders ORDER BY number LIMIT 1",
    "/purchase-receipts/": "SELECT id FROM goods_receipts ORDER BY number LIMIT 1",
    "/purchase-invoices/": "SELECT id FROM purchase_invoices ORDER BY number LIMIT 1",
    "/purchase-returns/": "SELECT id FROM purchase_returns ORDER BY number LIMIT 1",
    "/sales-orders/": "SELECT id FROM sales_orders ORDER BY number LIMIT 1",
    "/deliveries/": "SELECT id FROM deliveries WHERE status = 'posted' ORDER BY number LIMIT 1",
    "/invoices/": "SELECT id FROM sales_invoices WHERE kind = 'invoice' AND status <> 'draft' ORDER BY number LIMIT 1",
    "/receipts/": "SELECT id FROM payments WHERE direction = 'in' ORDER BY number LIMIT 1",
    "/supplier-payments/": "SELECT id FROM payments WHERE direction = 'out' ORDER BY number LIMIT 1",
    "/settings/tax-codes/": "SELECT id FROM tax_codes ORDER BY code LIMIT 1",
    "/production/orders/": "SELECT id FROM production_orders ORDER BY number LIMIT 1",
    "/production/boms/": "SELECT id FROM boms ORDER BY created_at LIMIT 1",
    "/production/runs/": "SELECT id FROM production_runs ORDER BY number LIMIT 1",
    "/production/machines/": "SELECT id FROM machines ORDER BY code LIMIT 1",
    "/production/lots/": "SELECT id FROM lots ORDER BY number LIMIT 1",
    "/stock-counts/": "SELECT id FROM stock_counts ORDER BY number LIMIT 1",
    "/toll-orders/": "SELECT id FROM toll_orders ORDER BY number LIMIT 1",
    "/locations/": "SELECT id FROM locations ORDER BY code LIMIT 1",
    "/accounts/": "SELECT code FROM accounts ORDER BY code LIMIT 1",
    "/planning/": "SELECT id FROM mrp_runs ORDER BY created_at LIMIT 1",
}
SKIPPED_TEXT = ("script", "style", "code", "pre", "textarea")
DATA_NAMES = ("SELECT name FROM locations UNION SELECT name FROM products UNION SELECT name FROM partners "
              "UNION SELECT name FROM machines UNION SELECT name FROM accounts UNION SELECT name FROM tax_codes")


def _tenant_app(live) -> FastAPI:
    found = [m.kwargs["tenant_app"] for m in live.app.user_middleware if m.cls is TenancyMiddleware]
    assert len(found) == 1
    return found[0]


def get_pages(app: FastAPI) -> list[str]:
    """Every GET path of the tenant's pages (not the API), as templates ("/products/{product_id}")."""
    iterate = getattr(routing, "iter_route_contexts", None)
    routes = list(iterate(app.routes)) if iterate is not None else list(app.routes)
    out = set()
    for r in routes:
        original = getattr(r, "original_route", r)
        if isinstance(original, routing.APIRoute) and not r.path.startswith("/api/") and "GET" in (r.methods or ()):
            out.add(r.path)
    return sorted(out)


class _Text(HTMLParser):
    """The text nodes a reader sees (not scripts, styles, code or typed values)."""

    def __init__(self):
        super().__init__()
        self.nodes: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_TEXT:
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in SKIPPED_TEXT and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not self._skip:
            self.nodes.append(text)


def english_leftovers(page: str, english: set[str]) -> list[str]:
    parser = _Text()
    parser.feed(page)
    return sorted({node for node in parser.nodes if node in english})


def known_english() -> set[str]:
    """UI texts the catalogs translate into something else: seen as a whole text node on a Bahasa page, they
    are a string that missed its `_()` (or was translated before the request's language was set)."""
    out = set()
    for msgid, text in i18n.catalog("id").items():
        text = text[0] if isinstance(text, tuple) else text
        if "%" in msgid or len(msgid) < 4 or text == msgid or not re.search(r"[A-Za-z]{3}", msgid):
            continue
        out.add(msgid)
    return out


@pytest.fixture
async def demo_tenant(platform, make_tenant, live):
    started = time.monotonic()
    tenant = await make_tenant(SUB, "PT Plastik Abadi")
    await entitlements.set_plan(platform, SUB, "pro")  # every module: each role meets only its own 403s
    engine = create_async_engine(provisioning.tenant_dsn(tenant, platform.secrets).url(), pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            assert await seed_tenant(session, SUB) > 0
    finally:
        await engine.dispose()
    # What the demo plant does not make: a purchase request.
    [(variant,)] = tenant_sql(live.settings, "SELECT v.id FROM product_variants v JOIN products p ON p.id = "
                              "v.product_id WHERE p.product_type = 'raw_material' ORDER BY v.sku LIMIT 1", sub=SUB)
    async with live.tenant_client(SUB, role="owner") as api:
        r = await api.post("/api/v1/purchase-requests", json={"note": "smoke", "lines": [
            {"variant_id": str(variant), "quantity": "1250.5"}]})
        assert r.status_code == 201, r.text
        # ... and a purchase return (a draft: one unit of the latest receipt's first line goes back).
        [(order, line, location)] = tenant_sql(live.settings, """
            SELECT r.order_id, rl.order_line_id, l.code FROM goods_receipts r
            JOIN goods_receipt_lines rl ON rl.receipt_id = r.id JOIN locations l ON l.id = r.location_id
            ORDER BY r.receipt_date DESC, r.number DESC, rl.line_no LIMIT 1""", sub=SUB)
        r = await api.post("/api/v1/purchase-returns", json={"order_id": str(order), "location": location,
                                                            "lines": [{"order_line_id": str(line), "quantity": "1"}]})
        assert r.status_code == 201, r.text
        # ... and a draft purchase order (its edit page opens only while it is a draft).
        [(supplier,)] = tenant_sql(live.settings, "SELECT id FROM partners WHERE is_supplier ORDER BY code LIMIT 1",
                                   sub=SUB)
        r = await api.post("/api/v1/purchase-orders", json={"partner_id": str(supplier), "note": "smoke", "lines": [
            {"variant_id": str(variant), "quantity": "1750", "unit_price": "21500"}]})
        assert r.status_code == 201, r.text
    print(f"demo tenant ready in {time.monotonic() - started:.0f} s")
    return tenant


async def test_every_page_renders_for_every_role_in_both_languages(live, demo_tenant):
    settings = live.settings
    paths, missing = [], []
    for template in get_pages(_tenant_app(live)):
        if "{" not in template:
            paths.append(template)
            continue
        prefix = template if template in ROWS else \
            next((p for p in sorted(ROWS, key=len, reverse=True) if "{" not in p and template.startswith(p)), None)
        if prefix is None:
            missing.append(template)
            continue
        rows = tenant_sql(settings, ROWS[prefix], sub=SUB)
        assert rows, f"the demo plant has no row for {template} ({ROWS[prefix]})"
        paths.append(re.sub(r"\{[^}]+\}", str(rows[0][0]), template))
    assert not missing, f"pages with an id and no row kind in ROWS: {missing}"
    assert len(paths) >= 40, paths

    # The plant's own names (locations, products, partners, machines ...) are data, whatever their language.
    data = {row[0] for row in tenant_sql(settings, DATA_NAMES, sub=SUB)}
    english = known_english() - data
    failures: list[str] = []
    leftovers: dict[str, set[str]] = defaultdict(set)
    seen = {200: 0, 403: 0}

    def check(who: str, lang: str, path: str, r) -> None:
        if r.status_code not in (200, 403) or "Traceback" in r.text:
            failures.append(f"{who} {lang} GET {path}: {r.status_code} {r.text[:200]!r}")
            return
        seen[r.status_code] += 1
        if who == "owner" and r.status_code != 200:
            failures.append(f"owner {lang} GET {path}: {r.status_code} (the owner may open every page)")
        if r.headers["content-type"].startswith("text/html"):
            if f'<html lang="{lang}">' not in r.text:
                failures.append(f"{who} {lang} GET {path}: the page is not in {lang}")
            if lang == "id":
                for text in english_leftovers(r.text, english):
                    leftovers[text].add(path)

    started = time.monotonic()
    # The visitor's pages, in the workspace's language and in English by choice.
    async with live.tenant_client(SUB, role=None, headers={"Accept": "text/html"}) as anon:
        for lang in ("id", "en"):
            for path in ("/login", "/reset", "/reset/confirm?token=x", "/invite?token=x"):
                check("visitor", lang, path, await anon.get(path, params={"lang": lang}, follow_redirects=False))
    signed_in_paths = [p for p in paths if p != "/login"]  # signed in, /login is a 303 to the dashboard
    gate = asyncio.Semaphore(3)  # a few at once: the pages wait on the database more than on Python

    slowest: list[tuple[float, str]] = []

    async def visit(c, who: str, lang: str, path: str) -> None:
        async with gate:
            t = time.monotonic()
            r = await c.get(path, follow_redirects=False)
            slowest.append((time.monotonic() - t, path))
            check(who, lang, path, r)

    for role in ROLES:
        user = make_user(settings, SUB, [role])
        async with live.tenant_client(SUB, role=None) as anon:
            r = await anon.post("/api/v1/auth/login", json={"email": user["email"], "password": user["password"]})
            assert r.status_code == 200, r.text
            cookie = r.cookies["pf_session"]
        async with live.tenant_client(SUB, role=None, headers={"Cookie": f"pf_session={cookie}",
                                                               "Accept": "text/html"}) as c:
            assert (await c.get("/login", follow_redirects=False)).headers["location"] == "/"
            for lang in ("id", "en"):
                tenant_sql(settings, "UPDATE users SET language = %s WHERE id = %s", lang, user["id"], sub=SUB)
                await asyncio.gather(*(visit(c, role, lang, path) for path in signed_in_paths))
    elapsed = time.monotonic() - started
    print(f"{len(paths)} pages x {len(ROLES)} roles x 2 languages in {elapsed:.0f} s: {seen}; slowest:",
          ", ".join(f"{path} {ms * 1000:.0f} ms" for ms, path in sorted(slowest, reverse=True)[:5]))
    assert not failures, "\n".join(failures)
    assert not leftovers, "English on Bahasa Indonesia pages:\n" + "\n".join(
        f"  {text!r} on {', '.join(sorted(where)[:4])}" for text, where in sorted(leftovers.items()))
    assert seen[403] > 0, seen  # and the other roles met their refusals
