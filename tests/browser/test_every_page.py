"""Every page of a plant with three weeks of demo history, in a real chromium: on a 390 px phone none scrolls
sideways, and on any screen the console shows no CSP violation, script error or failed asset. The first document
of each list is opened too, so detail pages are covered. Screenshots of each page are kept as artifacts."""

from __future__ import annotations

from urllib.parse import urljoin

from tests.browser.pages import PHONE, Watched, horizontal_overflow, page_paths, screenshot_path, seed_demo, sign_in
from tests.fixtures.auth import make_user

SUB = "pt-abc"


async def test_every_page_fits_a_phone_and_keeps_the_console_clean(live, make_tenant, browser):
    tenant = await make_tenant(SUB, "PT Plastik Abadi")
    await seed_demo(live, tenant, SUB)
    owner = make_user(live.settings, SUB, ["owner"])
    base = f"http://{SUB}.{live.settings.root_domain}:{live.port}"
    paths = page_paths(live)
    assert len(paths) >= 10, paths

    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    page.set_default_timeout(15000)
    watched = Watched(page)
    await sign_in(page, base, owner["email"])

    overflow, problems, server_errors, visited = {}, {}, {}, []

    async def check(path: str) -> None:
        """Open `path`; note a 5xx, sideways overflow and console problems; keep a screenshot."""
        response = await page.goto(base + path)
        visited.append(path)
        if response is not None and response.status >= 500:
            server_errors[path] = response.status
        wide = await horizontal_overflow(page)
        if wide > 1:
            overflow[path] = wide
        found = watched.take()
        if found:
            problems[path] = found
        await page.screenshot(path=str(screenshot_path(f"phone{path}")), full_page=False)

    details: list[str] = []
    for path in paths:
        await check(path)
        # The first document of a list: a link inside the list's table to a page of this list's path.
        link = page.locator(f"table.list tbody a[href^='{path}/']").first
        if path.count("/") == 1 and await link.count():
            href = await link.get_attribute("href")
            detail = urljoin(base + "/", href or "")[len(base):]
            if href and detail not in details:
                details.append(detail)
    for path in details:
        await check(path)

    print(f"{len(visited)} pages checked on a phone: {', '.join(visited)}")
    assert server_errors == {}, server_errors
    assert overflow == {}, f"pages wider than the phone (px): {overflow}"
    assert problems == {}, problems

    # The menu folds on a phone: hidden, opened by its button, and a link in it works.
    await page.goto(base + "/stock")
    assert not await page.locator("nav.menu").is_visible()
    await page.locator("label.nav-button").click()
    assert await page.locator("nav.menu").is_visible()
    await page.locator("nav.menu summary").first.click()
    async with page.expect_navigation():
        await page.locator("nav.menu details[open] a").first.click()
    await context.close()


async def test_the_console_watch_sees_a_violation_when_there_is_one(live, make_tenant, browser):
    """Control: the same watch reports an inline style (the CSP forbids it) and an overflowing page."""
    await make_tenant(SUB, "PT Plastik Abadi")
    owner = make_user(live.settings, SUB, ["owner"])
    base = f"http://{SUB}.{live.settings.root_domain}:{live.port}"
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    watched = Watched(page)
    await sign_in(page, base, owner["email"])
    await page.evaluate("document.body.setAttribute('style', 'color: red')")
    await page.wait_for_timeout(200)
    assert any("Content Security Policy" in p for p in watched.take())
    await page.evaluate("const d = document.createElement('div'); d.className = 'x';"
                        "d.textContent = 'W'.repeat(400); d.setAttribute('hidden', ''); document.body.append(d);"
                        "d.removeAttribute('hidden'); d.replaceWith(Object.assign(document.createElement('pre'),"
                        "{textContent: 'W'.repeat(400)}));")
    assert await horizontal_overflow(page) > 1
    await context.close()
