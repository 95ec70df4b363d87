"""The issue's journey in a real chromium: a super-admin creates a tenant in the console and watches it come up;
its owner accepts the invitation on the new subdomain and, in Bahasa Indonesia, creates a product, receives stock,
adds a customer, sells, delivers, invoices, records the payment, prints the faktur and sees the dashboard change.
Then a pt-xyz user sees none of it. The console stays free of CSP violations and errors all along; screenshots of
each step are kept as artifacts."""

from __future__ import annotations

import re

import psycopg

from polyflow.web import i18n
from tests.browser.pages import Watched, screenshot_path
from tests.fixtures.admins import enrolled_admin, sign_in as admin_sign_in
from tests.fixtures.auth import TEST_PASSWORD, make_user, tenant_dsn
from tests.web.admin.conftest import eventually, worker

NEW = "pt-baru"
OWNER = "owner@baru.co.id"
PASSWORD = "a-long-owner-password-1"


def t(english: str) -> str:
    """The Bahasa Indonesia text of a page's label (the catalog the pages use)."""
    return i18n.catalog("id").get(english, english)


def invite_token(settings) -> str:
    _, dsn = tenant_dsn(settings, NEW)
    with psycopg.connect(dsn.url("postgresql")) as conn:
        bodies = "\n".join(row[0] for row in conn.execute("SELECT body FROM outbox ORDER BY id"))
    found = re.findall(r"https?://[^\s/]+/invite\?token=([A-Za-z0-9_-]+)", bodies)
    assert found, "no invitation in the outbox"
    return found[-1]


async def choose(page, selector: str, contains: str) -> None:
    """Pick the option of `selector` whose text contains `contains`."""
    value = await page.eval_on_selector(selector, "(s, text) => [...s.options].find(o => o.text.includes(text))?.value",
                                        contains)
    assert value, f"no option with {contains!r} in {selector}"
    await page.select_option(selector, value)


async def fetch_head(page, url: str) -> tuple[int, str, str]:
    """(status, content type, first five bytes) of `url` fetched by the page itself (its cookies, the browser's
    own name resolution: *.localhost is loopback in chromium, not to Node's resolver)."""
    return tuple(await page.evaluate(
        "async url => { const r = await fetch(url); const b = new Uint8Array(await r.arrayBuffer());"
        " return [r.status, r.headers.get('content-type'), String.fromCharCode(...b.slice(0, 5))]; }", url))


async def click_and_wait(page, locator) -> None:
    async with page.expect_navigation():
        await locator.click()


async def shot(page, name: str) -> None:
    await page.screenshot(path=str(screenshot_path(f"journey_{name}")), full_page=True)


async def test_a_new_tenant_from_the_console_to_a_paid_invoice(live, platform, settings, make_tenant, browser):
    secret = await enrolled_admin(platform, "ops@polyflow.test", "Ops", "a-long-console-password-8")
    admin_cookie = await admin_sign_in(live, "ops@polyflow.test", "a-long-console-password-8", secret)
    admin = f"http://admin.{live.settings.root_domain}:{live.port}"
    base = f"http://{NEW}.{live.settings.root_domain}:{live.port}"

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_cookies([{"name": "pf_admin", "value": admin_cookie, "url": admin}])
    page = await context.new_page()
    page.set_default_timeout(15000)
    watched = Watched(page)

    # 1. The console: create the tenant and watch it come up.
    await page.goto(f"{admin}/tenants/new")
    await page.fill("#name", "PT Baru Plastik")
    await page.fill("#subdomain", NEW)
    await page.fill("#admin_email", OWNER)
    await click_and_wait(page, page.get_by_role("button", name="Create the tenant"))
    assert page.url == f"{admin}/tenants/{NEW}/onboarding"
    await shot(page, "01_onboarding_started")
    async with worker(settings):
        link = page.locator(f"a[href^='http://{NEW}.']")

        async def reachable():
            await page.reload()
            return await link.count() > 0

        await eventually(reachable, timeout=60)
    await shot(page, "02_onboarding_done")
    assert (await link.first.get_attribute("href")).startswith(f"http://{NEW}.")

    # 2. The owner accepts the invitation and signs in, in Bahasa Indonesia.
    await page.goto(f"{base}/invite?token={invite_token(live.settings)}")
    await page.fill("#password", PASSWORD)
    await page.fill("#password2", PASSWORD)
    await click_and_wait(page, page.locator("form button[type=submit]").first)
    if "/login" in page.url:
        assert "PT Baru Plastik" in await page.inner_text("body")  # the login page names the company
        await page.fill("#email", OWNER)
        await page.fill("#password", PASSWORD)
        await click_and_wait(page, page.locator("form button[type=submit]").first)
    assert page.url.rstrip("/") == base, page.url
    assert await page.get_attribute("html", "lang") == "id"
    dashboard_before = await page.inner_text("main")
    await shot(page, "03_dashboard_empty")

    # 3. A product, sold by the piece.
    await page.goto(f"{base}/products/new")
    await page.fill("#f-sku", "KRG-50")
    await page.fill("#f-name", "Karung 50 kg")
    await page.select_option("#f-product_type", "finished_good")
    await page.fill("#f-unit", "PCS")
    await page.fill("#f-sell_price", "2.500")
    await click_and_wait(page, page.get_by_role("button", name=t("Save")))
    assert "KRG-50" in await page.inner_text("main")

    # 4. Receive 1.000 pieces at Rp 1.750.
    await page.goto(f"{base}/stock/receive")
    await page.fill("#f-sku", "KRG-50")
    await page.fill("#f-quantity", "1.000")
    await page.fill("#f-unit_cost", "1.750")
    assert "1.750" in await page.inner_text("small.understood[data-for='f-unit_cost']")  # what it read, live
    await click_and_wait(page, page.get_by_role("button", name=t("Post")))
    await page.goto(f"{base}/stock")
    assert "1.000" in await page.inner_text("main")
    await shot(page, "04_stock_received")

    # 5. A customer.
    await page.goto(f"{base}/partners/new")
    await page.fill("#f-code", "C-MAJU")
    await page.fill("#f-name", "PT Maju Jaya")
    if await page.locator("#f-is_customer").count() and not await page.is_checked("#f-is_customer"):
        await page.check("#f-is_customer")
    await click_and_wait(page, page.get_by_role("button", name=t("Save")))
    assert "PT Maju Jaya" in await page.inner_text("main")

    # 6. Sell 400 pieces at Rp 2.500 (PPN 11%), confirm, deliver, invoice.
    await page.goto(f"{base}/sales-orders/new")
    await choose(page, "#f-customer_id", "PT Maju Jaya")
    await choose(page, "select[name=variant_0]", "KRG-50")
    await page.fill("input[name=qty_0]", "400")
    await page.fill("input[name=price_0]", "2.500")
    await click_and_wait(page, page.get_by_role("button", name=t("Save draft")))
    order_url = page.url
    await click_and_wait(page, page.get_by_role("button", name=t("Confirm")))
    await click_and_wait(page, page.get_by_role("link", name=t("Create delivery")))
    await click_and_wait(page, page.get_by_role("button", name=t("Save draft")))
    await click_and_wait(page, page.get_by_role("button", name=t("Post delivery")))
    await shot(page, "05_delivered")
    assert await fetch_head(page, page.url.split("?")[0] + "/pdf") == (200, "application/pdf", "%PDF-")  # surat jalan
    await page.goto(order_url)
    await click_and_wait(page, page.get_by_role("button", name=t("Create invoice of what is delivered")))
    await click_and_wait(page, page.get_by_role("button", name=t("Post invoice")))
    invoice_url = page.url.split("?")[0]
    text = await page.inner_text("main")
    # 400 x 2.500 = 1.000.000; PPN 11% = 110.000; total 1.110.000 (whole rupiah)
    assert "Rp 1.000.000" in text and "Rp 110.000" in text and "Rp 1.110.000" in text, text
    await shot(page, "06_invoice_posted")

    # 7. The faktur prints.
    assert await fetch_head(page, f"{invoice_url}/pdf") == (200, "application/pdf", "%PDF-")

    # 8. Record the payment from the invoice: allocate the whole amount.
    await click_and_wait(page, page.get_by_role("link", name=t("Record payment")))
    allocation = page.locator("input[name^=alloc_]").first
    await allocation.fill("1.110.000")
    await click_and_wait(page, page.get_by_role("button", name=t("Record payment")))
    await shot(page, "07_paid")
    await page.goto(invoice_url)
    assert t("Paid") in await page.inner_text("main")

    # 9. The dashboard changed.
    await page.goto(f"{base}/")
    dashboard_after = await page.inner_text("main")
    assert dashboard_after != dashboard_before
    await shot(page, "08_dashboard_after")
    problems = watched.take()
    await context.close()
    assert problems == [], problems

    # 10. pt-xyz's user sees none of it: not the documents by address, not the pages' data.
    await make_tenant("pt-xyz", "PT XYZ Film")
    other = make_user(live.settings, "pt-xyz", ["owner"])
    xyz = f"http://pt-xyz.{live.settings.root_domain}:{live.port}"
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(15000)
    await page.goto(f"{xyz}/login")
    await page.fill("#email", other["email"])
    await page.fill("#password", TEST_PASSWORD)
    await click_and_wait(page, page.locator("form button[type=submit]").first)
    invoice_path = invoice_url[len(base):]
    for path in (invoice_path, f"{invoice_path}/pdf", order_url[len(base):]):
        response = await page.goto(xyz + path)
        assert response.status == 404, (path, response.status)
    for path in ("/products", "/stock", "/invoices", "/partners", "/sales-orders"):
        await page.goto(xyz + path)
        body = await page.inner_text("main")
        assert "KRG-50" not in body and "PT Maju Jaya" not in body, path
    # And pt-baru's session cookie means nothing on pt-xyz's host.
    cookies = await context.cookies()
    assert all(c["domain"].startswith("pt-xyz") for c in cookies), cookies
    await context.close()
