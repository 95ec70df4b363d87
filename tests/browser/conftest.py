"""A real browser for page tests: Debian's chromium driven by Playwright (never `playwright install`: it
downloads a browser, which these machines cannot). Skipped with the reason when chromium is not there."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
async def browser():
    """A headless chromium (closed after the test)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test installs it)")
    async_api = pytest.importorskip("playwright.async_api", reason="the playwright package is not installed")
    async with async_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            await browser.close()
