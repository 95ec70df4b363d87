"""Plans, billing, servers, the audit log and the super-admins, as the console shows them: every page opens for
a signed-in admin only; a payment recorded in the form marks the invoice paid (the API's service and event);
a server with a bad login is refused with its message and the password never echoed; the audit log filters
and exports; an invited admin gets a one-time password shown once and must set up two-factor."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from html import unescape

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.platform import billing, entitlements
from polyflow.platform.admin import identity
from polyflow.platform.models import Invoice, PlatformEvent
from tests.web.admin.conftest import EMAIL, csrf_of

PAGES = ("/plans", "/billing", "/servers", "/audit", "/admins", "/fleet", "/billing?status=overdue",
         "/audit?action=tenant.&from=2026-01-01&to=2030-12-31", "/plans?export=csv", "/servers?export=xlsx")


async def test_each_page_needs_a_session(abc, console, anonymous):
    async with console() as c, anonymous as nobody:
        for path in PAGES:
            r = await c.get(path)
            assert r.status_code == 200, (path, r.text)
            r = await nobody.get(path)
            assert r.status_code == 303 and r.headers["location"] == "/login", path
        for path, data in (("/billing/paid", {"number": "INV/2030/00001"}), ("/billing/run", {}),
                           ("/servers", {"name": "x", "dsn": "postgresql://a@b/c"}), ("/admins", {"email": "a@b.co"}),
                           ("/fleet/rollout", {})):
            r = await nobody.post(path, data={"csrf_token": "x", **data})
            assert r.status_code == 303 and r.headers["location"] == "/login", path
            r = await c.post(path, data={"csrf_token": "forged", **data})
            assert r.status_code == 403, path


async def test_plans_list_and_export(console):
    async with console() as c:
        r = await c.get("/plans")
        assert "Basic" in r.text and ("Rp 1.500.000" in r.text or "Rp 1,500,000" in r.text)
        r = await c.get("/plans?export=xlsx")
        rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
        by_code = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}
        assert by_code["basic"]["Monthly price"] == 1500000 and by_code["basic"]["Users at most"] == 5
        assert "production" not in by_code["basic"]["Modules"] and "production" in by_code["pro"]["Modules"]


async def test_a_payment_recorded_in_the_form_marks_the_invoice_paid(platform, abc, console):
    await entitlements.set_plan(platform, "pt-abc", "basic")
    async with platform.main_engine.begin() as conn:  # a customer since long before the billed month
        await conn.exec_driver_sql("UPDATE tenants SET activated_at = '2030-01-01', trial_ends_at = '2030-01-01'")
    result = await billing.run(platform, date(2030, 12, 5), actor="test")
    [invoice] = result.issued
    async with console() as c:
        page = await c.get("/billing")
        assert invoice.number in page.text and '<option value="INV/2030/00001">' in page.text
        token = csrf_of(page.text)
        r = await c.post("/billing/run", data={"csrf_token": token})  # this month's run: nothing new to issue
        assert r.status_code == 303 and r.headers["location"] == "/billing?done=billed"
        assert "Billing ran" in (await c.get(r.headers["location"])).text
        r = await c.post("/billing/paid", data={"csrf_token": token, "number": "INV/2030/99999"})
        assert r.status_code == 422 and "no invoice" in unescape(r.text)
        r = await c.post("/billing/paid", data={"csrf_token": token, "number": invoice.number,
                                                "reference": "BCA 123-456"})
        assert r.status_code == 303 and r.headers["location"] == "/billing?done=paid", r.text
        r = await c.post("/billing/paid", data={"csrf_token": token, "number": invoice.number})
        assert r.status_code == 409 and "already paid" in r.text
        r = await c.get("/billing?status=paid&export=csv")
        [row] = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert (row["Number"], row["Tenant"], row["Amount"], row["Status"], row["Payment reference"]) == (
            invoice.number, "pt-abc", "1500000", "paid", "BCA 123-456")
    async with AsyncSession(platform.main_engine) as session:
        paid = (await session.execute(select(Invoice))).scalar_one()
        event = (await session.execute(
            select(PlatformEvent).where(PlatformEvent.action == "invoice.paid"))).scalar_one()
    assert paid.status == "paid" and paid.payment_reference == "BCA 123-456"
    assert event.actor == f"admin:{EMAIL}"


async def test_a_server_with_a_bad_login_is_refused_without_echoing_it(console):
    async with console() as c:
        token = csrf_of((await c.get("/servers")).text)
        secret = "s3cret-pw-never-shown"
        r = await c.post("/servers", data={"csrf_token": token, "name": "second", "max_tenants": "10",
                                           "dsn": f"postgresql://nobody:{secret}@127.0.0.1:1/postgres"})
        assert r.status_code == 503 and "cannot connect" in r.text, r.text
        assert secret not in r.text and 'value="second"' in r.text
        r = await c.post("/servers", data={"csrf_token": token, "name": "Bad Name", "dsn": "postgresql://a@b/c"})
        assert r.status_code == 422 and "invalid server name" in unescape(r.text)
        r = await c.post("/servers", data={"csrf_token": token, "name": "x", "dsn": "postgresql://a@b/c",
                                           "max_tenants": "ten"})
        assert r.status_code == 422 and "whole number" in r.text
        r = await c.get("/servers?export=csv")
        assert [row["Name"] for row in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))] == ["default"]


async def test_a_server_with_a_working_login_is_added(platform, pg_admin, console):
    async with console() as c:
        token = csrf_of((await c.get("/servers")).text)
        r = await c.post("/servers", data={"csrf_token": token, "name": "second", "max_tenants": "40",
                                           "dsn": pg_admin.url("postgresql")})
        assert r.status_code == 303 and r.headers["location"] == "/servers?done=server", r.text
        page = await c.get(r.headers["location"])
        assert "The database server was saved." in page.text and pg_admin.password not in page.text
        r = await c.get("/servers?export=csv")
        rows = {row["Name"]: row for row in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))}
        assert set(rows) == {"default", "second"} and (rows["second"]["Tenants at most"], rows["second"]["Free"]) == (
            "40", "40")
    async with AsyncSession(platform.main_engine) as session:
        event = (await session.execute(select(PlatformEvent).where(PlatformEvent.action.startswith("server."))
                                       )).scalars().first()
    assert event is not None and event.actor == f"admin:{EMAIL}"


async def test_the_audit_log_filters_and_exports(platform, abc, console):
    await entitlements.grant_module(platform, "pt-abc", "production", actor="cli")
    async with console() as c:
        r = await c.get("/audit")
        assert r.status_code == 200 and "module.granted" in r.text and "admin.login" in r.text
        r = await c.get("/audit?action=module.&export=csv")
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert [(x["Actor"], x["Action"], x["Tenant"]) for x in rows] == [("cli", "module.granted", "pt-abc")]
        assert '"module": "production"' in rows[0]["Detail"]
        r = await c.get(f"/audit?actor=admin:{EMAIL}")
        actions = set(re.findall(r'data-label="Action">\s*([a-z_.]+)', r.text))
        assert actions and all(a.startswith("admin.") for a in actions), actions
        r = await c.get("/audit?tenant=pt-abc&sort=at")
        assert "tenant.reserved" in r.text and "admin.login" not in r.text
        r = await c.get("/audit?from=2099-01-01")
        assert "No events match." in r.text
        r = await c.get("/audit?from=yesterday")
        assert r.status_code == 422 and "must be a day" in r.text
        r = await c.get("/audit?to=9999-12-31")  # a day past what the code can add a day to
        assert r.status_code == 422 and "must lie between" in r.text


async def test_inviting_an_admin_shows_a_one_time_password_once(platform, console):
    async with console() as c:
        page = await c.get("/admins")
        assert EMAIL in page.text and "set up" in page.text
        token = csrf_of(page.text)
        r = await c.post("/admins", data={"csrf_token": token, "email": "new-ops@polyflow.test", "name": "New Ops"})
        assert r.status_code == 200, r.text
        one_time = re.search(r'<code class="secret">([^<]+)</code>', r.text).group(1)
        assert "not set up yet" in r.text and "one-time, to be changed" in r.text
        assert one_time not in (await c.get("/admins")).text  # shown once
        r = await c.post("/admins", data={"csrf_token": token, "email": "new-ops@polyflow.test"})
        assert r.status_code == 409 and "already exists" in r.text
        r = await c.post("/admins", data={"csrf_token": token, "email": "not an email"})
        assert r.status_code == 422 and 'value="not an email"' in r.text
    # The one-time password signs in, and the next step is choosing a password.
    result = await identity.login(platform, "new-ops@polyflow.test", one_time, "192.0.2.9", "test")
    assert result.admin.stage == "password"
