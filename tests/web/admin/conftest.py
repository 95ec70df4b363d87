"""The console's page tests: a real server on the admin host, a super-admin signed in through the real
password and code steps, and a real job worker when a test needs onboarding to run."""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.platform import jobs, provisioning
from polyflow.platform.models import Tenant
from tests.fixtures.admins import enrolled_admin, sign_in

EMAIL = "console-pages@polyflow.test"
PASSWORD = "a-long-console-password-8"
ADMIN_HOST = "admin.localhost"
ORIGIN = {"Origin": "http://admin.localhost"}


@pytest.fixture
def settings(make_settings, tmp_path):
    return make_settings(backup_dir=tmp_path / "backups")


@pytest.fixture
async def admin_cookie(platform, live) -> str:
    """A signed-in super-admin's pf_admin cookie value."""
    secret = await enrolled_admin(platform, EMAIL, "Console Ops", PASSWORD)
    return await sign_in(live, EMAIL, PASSWORD, secret)


@pytest.fixture
def console(live, admin_cookie):
    """A client on the admin host carrying the admin's cookie (and this site's Origin on its posts)."""

    def make(cookie: str | None = admin_cookie):
        headers = {"Accept": "text/html", **ORIGIN}
        if cookie is not None:
            headers["Cookie"] = f"pf_admin={cookie}"
        return live.client(ADMIN_HOST, headers=headers)

    return make


@pytest.fixture
def anonymous(live):
    return live.client(ADMIN_HOST, headers={"Accept": "text/html", **ORIGIN})


@pytest.fixture
async def abc(platform):
    return await provisioning.create_tenant(platform, name="PT ABC Plastik", subdomain="pt-abc",
                                            admin_email="owner@abc.co.id")


def csrf_of(html: str) -> str:
    tokens = set(re.findall(r'name="csrf_token" value="([^"]*)"', html))
    assert len(tokens) == 1, html
    return tokens.pop()


async def tenant_row(platform, sub: str) -> Tenant | None:
    async with AsyncSession(platform.main_engine) as session:
        return (await session.execute(
            select(Tenant).where(Tenant.subdomain == sub, Tenant.status != "deleted"))).scalar_one_or_none()


@asynccontextmanager
async def worker(settings):
    """A real job worker (`jobs.run_worker`) as a task of this test's loop, stopped gracefully at the end."""
    task = asyncio.create_task(jobs.run_worker(settings, install_signal_handlers=False,
                                               fetch_job_polling_interval=0.1, abort_job_polling_interval=0.1))
    try:
        yield task
    finally:
        await jobs.stop_worker(task)


async def eventually(check, timeout: float = 30.0, interval: float = 0.1):
    """Poll the coroutine function ``check()`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s")
        await asyncio.sleep(interval)
