"""The shop-floor screen in a real chromium on a tablet: the net weight (bruto - bobin) is shown as the operator
types Indonesian numbers, before anything is posted; saving the roll shows its lot number on the same order's
screen; no console error or CSP violation on the way."""

from __future__ import annotations

from tests.browser.conftest import browser  # noqa: F401  (the fixture: Debian's chromium)
from tests.browser.pages import Watched, sign_in
from tests.fixtures.auth import make_user

TABLET = {"width": 800, "height": 1280}


async def test_net_shown_while_typing_and_the_roll_saved(plant, live, browser):  # noqa: F811
    async with live.tenant_client("pt-abc") as api:
        run = (await api.post("/api/v1/production-runs", json={"sku": "FILM-ROLL", "quantity": "1000"})).json()
        run = (await api.post(f"/api/v1/production-runs/{run['id']}/release")).json()
    oid = run["orders"][0]["id"]
    user = make_user(live.settings, "pt-abc", ["production"])
    base = f"http://pt-abc.{live.settings.root_domain}:{live.port}"
    context = await browser.new_context(viewport=TABLET, has_touch=True)
    page = await context.new_page()
    watched = Watched(page)
    await sign_in(page, base, user["email"])
    await page.goto(f"{base}/production/floor")
    await page.locator(f"a[href='/production/floor?order={oid}']").click()
    await page.wait_for_url(f"**/production/floor?order={oid}")
    await page.fill("#f-gross_weight", "1.250,5")
    await page.fill("#f-core_weight", "12,5")
    # 1 250,5 - 12,5 = 1 238 kg, shown before posting.
    assert (await page.locator("[data-net]").text_content()).strip() == "Neto: 1.238 kg"
    await page.fill("#f-core_weight", "")
    assert (await page.locator("[data-net]").text_content()).strip() == "Neto: 1.250,5 kg"  # no core: net = bruto
    await page.fill("#f-core_weight", "12,5")
    async with page.expect_navigation():
        await page.locator("form[action$='/output'] button[type=submit]").click()
    assert f"order={oid}&done=output" in page.url
    async with live.tenant_client("pt-abc") as api:
        order = (await api.get(f"/api/v1/production-orders/{oid}")).json()
    lot = order["executions"][0]["lot_number"]
    assert lot in await page.locator("div.notice").text_content()
    assert watched.take() == []
    await context.close()
