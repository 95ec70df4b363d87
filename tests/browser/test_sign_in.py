"""A person in a real browser: sign in, open the products, create one through the form, see it, log out;
and the strict CSP (no inline script or style) is never violated on the way."""

from __future__ import annotations

from tests.fixtures.auth import TEST_PASSWORD, make_user


async def test_sign_in_create_a_product_and_log_out_in_chromium(live, make_tenant, browser):
    await make_tenant("pt-abc", "PT Plastik Abadi")
    user = make_user(live.settings, "pt-abc", ["owner"])
    base = f"http://pt-abc.{live.settings.root_domain}:{live.port}"  # *.localhost is loopback in Chromium

    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(5000)
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text} ({message.location['url']})"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    failed: list[str] = []  # the pages' own requests (the stylesheet...) that failed
    page.on("response", lambda response: failed.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)

    # Not signed in: the dashboard sends the browser to the sign-in form.
    await page.goto(f"{base}/")
    assert page.url == f"{base}/login"
    # The sign-in form says which company it signs in to, in the workspace's language.
    assert await page.inner_text("h1") == "Masuk ke PT Plastik Abadi"
    await page.fill("#email", user["email"])
    await page.fill("#password", TEST_PASSWORD)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Masuk").click()
    assert page.url == f"{base}/"
    assert await page.inner_text("h1") == "PT Plastik Abadi"
    assert user["email"] in await page.inner_text("main")

    await page.locator("header.top nav summary", has_text="Persediaan").click()  # the menu's groups fold
    async with page.expect_navigation():
        await page.locator("header.top nav").get_by_role("link", name="Produk").click()
    assert page.url == f"{base}/products"
    async with page.expect_navigation():
        await page.get_by_role("link", name="Produk baru").click()
    await page.fill("#f-sku", "PE-FILM-40")
    await page.fill("#f-name", "PE film 40 micron")
    await page.select_option("#f-product_type", "finished_good")
    await page.fill("#f-unit", "ROLL")
    await page.fill("#f-sell_price", "185.000")  # Indonesian thousands: 185 000
    async with page.expect_navigation():
        await page.get_by_role("button", name="Simpan").click()
    assert page.url.startswith(f"{base}/products/") and page.url.endswith("?done=created")  # the product's page
    assert "PE film 40 micron" in await page.inner_text("h1")
    row = page.locator("table tbody tr", has_text="PE-FILM-40")
    assert await row.count() == 1 and "Rp 185.000" in await row.inner_text()

    async with page.expect_navigation():
        await page.get_by_role("button", name="Keluar").click()
    assert page.url == f"{base}/login?done=out"
    assert "Anda sudah keluar." in await page.inner_text("main")
    await page.goto(f"{base}/products")
    assert page.url == f"{base}/login?next=/products"  # really signed out

    assert failed == [], failed
    violations = [line for line in console if "Content Security Policy" in line]
    assert violations == [], violations
    assert [line for line in console if line.startswith(("error", "pageerror"))] == [], console

    # Control: the listener does see a violation when there is one (an inline style attribute).
    async with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        await page.evaluate("document.body.setAttribute('style', 'color: red')")
    await context.close()
