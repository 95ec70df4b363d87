"""The console in Debian's chromium: a super-admin creates a tenant through the form and watches the progress
page refresh itself (no script) until the link to the new subdomain appears, which opens the tenant; every
console page fits a 390 px phone (no sideways scroll) with no CSP violation or console error. Screenshots go
to the artifacts folder (tests/browser/pages.py)."""

from __future__ import annotations

import re

from polyflow.platform import backups
from tests.browser.conftest import browser  # noqa: F401 (the fixture)
from tests.browser.pages import PHONE, Watched, horizontal_overflow, screenshot_path
from tests.web.admin.conftest import worker

PAGES = ["/", "/tenants", "/tenants/new", "/tenants/pt-abc", "/tenants/pt-abc/onboarding", "/fleet", "/plans",
         "/billing", "/servers", "/audit", "/admins"]


async def test_create_a_tenant_and_watch_it_come_up_then_every_page_fits_a_phone(
        platform, settings, abc, live, admin_cookie, browser):  # noqa: F811
    await backups.backup(platform, "pt-abc", actor="test")  # a row in the backups table
    admin = f"http://admin.{settings.root_domain}:{live.port}"
    context = await browser.new_context(viewport=PHONE)
    await context.add_cookies([{"name": "pf_admin", "value": admin_cookie, "url": admin}])
    page = await context.new_page()
    page.set_default_timeout(10000)
    watched = Watched(page)

    await page.goto(f"{admin}/tenants/new")
    await page.fill("#name", "PT Baru Plastik")
    await page.fill("#subdomain", "pt-baru")
    await page.fill("#admin_email", "owner@baru.co.id")
    async with page.expect_navigation():
        await page.get_by_role("button", name="Create the tenant").click()
    assert page.url == f"{admin}/tenants/pt-baru/onboarding"
    await page.screenshot(path=str(screenshot_path("admin-phone-onboarding-waiting")))
    async with worker(settings):
        # The page reloads itself every second (meta refresh) until the tenant is up and the link is there.
        link = page.locator('a[href^="http://pt-baru."]')
        await link.wait_for(timeout=60000)
    await page.screenshot(path=str(screenshot_path("admin-phone-onboarding-done")))
    href = await link.get_attribute("href")
    assert href == f"http://pt-baru.{settings.root_domain}:{live.port}/"
    async with page.expect_navigation():
        await link.click()
    assert page.url.startswith(href)  # the tenant's own host answers (its landing or sign-in page)

    for path in PAGES:
        response = await page.goto(admin + path)
        assert response.status == 200, (path, response.status)
        assert await horizontal_overflow(page) <= 0, path
        await page.screenshot(path=str(screenshot_path("admin-phone" + path)), full_page=False)
        assert watched.take() == [], path
    assert re.search(r"pt-baru", await page.goto(admin + "/tenants") and await page.content())
