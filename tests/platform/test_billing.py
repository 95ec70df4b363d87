"""Billing in the main database: monthly invoices (idempotent, gap-free numbers under concurrency),
trial tenants not billed, overdue suspension and resumption on payment, the payment hook, CLI and admin API.

Runs use fixed dates in 2030-2031 so that every tenant created by the test (now) has been active for
the whole billed month.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.platform import billing, entitlements, provisioning
from polyflow.platform.models import Invoice, PlatformEvent, Tenant
from polyflow.platform.runtime import Platform
from tests.fixtures.cli import assert_error, cli_runner

DEC_RUN = date(2030, 12, 5)   # invoices November 2030
JAN_RUN = date(2031, 1, 5)    # invoices December 2030, numbered in 2031
BASIC, PRO = Decimal("1500000.00"), Decimal("4500000.00")


async def tenant_on(make_tenant, platform, subdomain: str, plan: str):
    await make_tenant(subdomain)
    if plan != "trial":
        await entitlements.set_plan(platform, subdomain, plan)


async def tenant_row(platform, subdomain: str) -> Tenant:
    async with AsyncSession(platform.main_engine) as session:
        return (await session.execute(select(Tenant).where(Tenant.subdomain == subdomain))).scalar_one()


async def count(platform, model, *where) -> int:
    async with AsyncSession(platform.main_engine) as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def actions(platform, action: str) -> list[dict]:
    async with AsyncSession(platform.main_engine) as session:
        rows = (await session.execute(
            select(PlatformEvent).where(PlatformEvent.action == action).order_by(PlatformEvent.id))).scalars()
        return [{"actor": e.actor, **e.detail} for e in rows]


def numbers(year: int, *seq: int) -> list[str]:
    return [f"INV/{year}/{n:05d}" for n in seq]


# --- issuing -------------------------------------------------------------------------------------------
async def test_run_bills_paid_plans_once_at_plan_prices(platform, make_tenant):
    await tenant_on(make_tenant, platform, "pt-basic", "basic")
    await tenant_on(make_tenant, platform, "pt-pro", "pro")
    await tenant_on(make_tenant, platform, "pt-trial", "trial")
    await tenant_on(make_tenant, platform, "pt-sus", "basic")
    await provisioning.set_status(platform, "pt-sus", "suspended", reason="operator")
    await tenant_on(make_tenant, platform, "pt-gone", "pro")
    await provisioning.set_status(platform, "pt-gone", "archived")
    await entitlements.grant_module(platform, "pt-basic", "production")

    # This month has not ended for anyone: tenants activated in it are first billed for the next month.
    current = await billing.run(platform, (datetime.now(timezone.utc).date().replace(day=1) + timedelta(days=32)))
    assert current.issued == [] and {why for _, why in current.skipped} == {
        "activated during or after the period", "on a trial plan"}

    result = await billing.run(platform, DEC_RUN)
    assert (result.period_start, result.period_end) == (date(2030, 11, 1), date(2030, 11, 30))
    issued = {i.tenant: i for i in result.issued}
    assert set(issued) == {"pt-basic", "pt-pro", "pt-sus"}  # not the trial, not the archived tenant
    assert result.skipped == [("pt-trial", "on a trial plan")]
    assert [i.number for i in result.issued] == numbers(2030, 1, 2, 3)  # in subdomain order
    assert issued["pt-basic"].amount == BASIC and isinstance(issued["pt-basic"].amount, Decimal)
    assert issued["pt-pro"].amount == PRO and issued["pt-sus"].amount == BASIC
    inv = issued["pt-basic"]
    assert inv.status == "issued" and inv.plan == "basic"
    assert inv.due_date == DEC_RUN + timedelta(days=platform.settings.invoice_due_days)
    assert inv.lines == [
        {"kind": "plan", "description": "Basic plan, 2030-11", "quantity": "1", "unit_price": "1500000.00",
         "amount": "1500000.00"},
        {"kind": "usage", "description": "module 'production' granted beyond the plan", "quantity": "1",
         "unit_price": "0.00", "amount": "0.00"},
    ]
    stored = await billing.get_invoice(platform.main_engine, "inv/2030/00001")
    assert stored.amount == BASIC and stored.tenant == "pt-basic"

    again = await billing.run(platform, DEC_RUN)
    later = await billing.run(platform, DEC_RUN + timedelta(days=20))  # same month: same period
    assert again.issued == [] and later.issued == []
    assert await count(platform, Invoice) == 3
    assert len(await actions(platform, "invoice.issued")) == 3

    nxt = await billing.run(platform, JAN_RUN)  # a new period, and a new year of numbers
    assert sorted(i.number for i in nxt.issued) == numbers(2031, 1, 2, 3)


async def test_months_in_trial_are_not_billed(platform, make_tenant):
    await tenant_on(make_tenant, platform, "pt-abc", "basic")
    # Converted from a trial that ended mid-November 2030: November is free, December is billed.
    async with AsyncSession(platform.main_engine) as session:
        await session.execute(update(Tenant).where(Tenant.subdomain == "pt-abc")
                              .values(trial_ends_at=datetime(2030, 11, 15, tzinfo=timezone.utc)))
        await session.commit()
    assert (await billing.run(platform, DEC_RUN)).skipped == [("pt-abc", "in trial during the period")]
    assert [i.number for i in (await billing.run(platform, JAN_RUN)).issued] == numbers(2031, 1)


async def test_concurrent_runs_issue_each_invoice_once_with_gap_free_numbers(settings, platform, make_tenant):
    for i in range(6):
        await tenant_on(make_tenant, platform, f"pt-{i:02d}", "pro" if i % 2 else "basic")
    others = [Platform(settings) for _ in range(2)]  # separate connection pools, as separate processes
    try:
        runners = [platform, *others]
        for day, year in ((DEC_RUN, 2030), (DEC_RUN.replace(day=20), 2030), (JAN_RUN, 2031)):
            results = await asyncio.gather(*(billing.run(runners[k % 3], day) for k in range(6)))
            issued = [i for r in results for i in r.issued]
            if day.day == 20:  # same period as the first round: nothing new
                assert issued == []
                continue
            assert sorted(i.tenant for i in issued) == [f"pt-{i:02d}" for i in range(6)]
            assert sorted(i.number for i in issued) == numbers(year, 1, 2, 3, 4, 5, 6)
        async with AsyncSession(platform.main_engine) as session:
            all_numbers = (await session.execute(select(Invoice.number).order_by(Invoice.number))).scalars().all()
            total = await session.scalar(select(func.sum(Invoice.amount)))
        assert all_numbers == numbers(2030, *range(1, 7)) + numbers(2031, *range(1, 7))
        assert total == 2 * (3 * BASIC + 3 * PRO)
    finally:
        for p in others:
            await p.stop()


class RecordingProvider:
    """A stand-in for an external payment gateway (the one kind of fake the house allows)."""

    name = "recording"

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.seen: list[billing.InvoiceView] = []

    async def invoice_issued(self, invoice):
        self.seen.append(invoice)
        if self.fail:
            raise RuntimeError("gateway down")
        return f"https://pay.example/{invoice.number}"


async def test_payment_hook_is_called_per_issued_invoice_and_cannot_block_invoicing(platform, make_tenant):
    assert isinstance(billing.payment_provider(), billing.PaymentProvider)
    with pytest.raises(InvalidInput):
        billing.payment_provider("stripe")
    await tenant_on(make_tenant, platform, "pt-abc", "basic")
    await tenant_on(make_tenant, platform, "pt-xyz", "pro")
    ok = RecordingProvider()
    billing.register_payment_provider(ok)
    try:
        assert billing.payment_provider("recording") is ok
    finally:
        billing.PAYMENT_PROVIDERS.pop("recording")
    await billing.run(platform, DEC_RUN, provider=ok)
    assert [i.number for i in ok.seen] == numbers(2030, 1, 2)
    assert await billing.run(platform, DEC_RUN, provider=ok) and len(ok.seen) == 2  # nothing issued twice
    assert [e["reference"] for e in await actions(platform, "invoice.payment_requested")] == [
        "https://pay.example/INV/2030/00001", "https://pay.example/INV/2030/00002"]

    broken = RecordingProvider(fail=True)
    result = await billing.run(platform, JAN_RUN, provider=broken)
    assert len(result.issued) == 2 and len(broken.seen) == 2
    assert await count(platform, Invoice, Invoice.status == "issued") == 4
    assert [e["error"] for e in await actions(platform, "invoice.payment_hook_failed")] == [
        "RuntimeError: gateway down"] * 2


# --- overdue, payment ----------------------------------------------------------------------------------
async def test_overdue_suspends_after_grace_and_payment_resumes(platform, make_tenant, live):
    await tenant_on(make_tenant, platform, "pt-abc", "basic")
    await tenant_on(make_tenant, platform, "pt-xyz", "pro")
    inv_abc, inv_xyz = (await billing.run(platform, DEC_RUN)).issued
    grace = platform.settings.billing_grace_days
    last_grace_day = inv_abc.due_date + timedelta(days=grace)
    await billing.mark_paid(platform, inv_xyz.number, "BCA 0001")  # pt-xyz pays on time

    assert await billing.suspend_overdue(platform, last_grace_day) == []
    done = await billing.suspend_overdue(platform, last_grace_day + timedelta(days=1))
    assert [(s.tenant, s.invoice) for s in done] == [("pt-abc", inv_abc.number)]
    assert await billing.suspend_overdue(platform, last_grace_day + timedelta(days=2)) == []  # already done
    tenant = await tenant_row(platform, "pt-abc")
    assert (tenant.status, tenant.status_reason) == ("suspended", f"overdue invoice {inv_abc.number}")
    assert (await tenant_row(platform, "pt-xyz")).status == "active"
    assert (await actions(platform, "tenant.suspended"))[0]["invoice"] == inv_abc.number
    overdue = await billing.list_invoices(platform.main_engine, status="overdue", today=last_grace_day + timedelta(days=1),
                                          grace_days=grace)
    assert [i.number for i in overdue] == [inv_abc.number]

    async with live.tenant_client("pt-abc") as c:
        r = await c.get("/api/v1/tenant")
        assert r.status_code == 403 and "suspended" in r.json()["detail"]
        payment = await billing.mark_paid(platform, inv_abc.number.lower(), " TRX-42 ",
                                          today=last_grace_day + timedelta(days=3))
        assert payment.resumed and payment.invoice.status == "paid"
        assert payment.invoice.payment_reference == "TRX-42" and payment.invoice.paid_at is not None
        start = asyncio.get_running_loop().time()
        while (await c.get("/api/v1/tenant")).status_code != 200:
            assert asyncio.get_running_loop().time() - start < 1.0, "not served again within a second"
            await asyncio.sleep(0.01)
    tenant = await tenant_row(platform, "pt-abc")
    assert (tenant.status, tenant.status_reason) == ("active", None)
    assert [e["number"] for e in await actions(platform, "invoice.paid")] == [inv_xyz.number, inv_abc.number]
    assert len(await actions(platform, "tenant.resumed")) == 1

    with pytest.raises(Conflict, match="already paid"):
        await billing.mark_paid(platform, inv_abc.number)
    with pytest.raises(NotFound, match="no invoice 'INV/2099/00001'"):
        await billing.mark_paid(platform, "INV/2099/00001")


async def test_payment_resumes_only_when_nothing_else_is_overdue(platform, make_tenant):
    await tenant_on(make_tenant, platform, "pt-abc", "basic")
    (nov,) = (await billing.run(platform, DEC_RUN)).issued
    (dec,) = (await billing.run(platform, JAN_RUN)).issued
    day = date(2031, 3, 1)  # both are past due + grace
    assert [s.invoice for s in await billing.suspend_overdue(platform, day)] == [nov.number]

    first = await billing.mark_paid(platform, nov.number, today=day)
    assert not first.resumed and first.still_overdue == dec.number
    assert (await tenant_row(platform, "pt-abc")).status_reason == f"overdue invoice {dec.number}"
    second = await billing.mark_paid(platform, dec.number, today=day)
    assert second.resumed and (await tenant_row(platform, "pt-abc")).status == "active"


async def test_operator_suspension_is_left_alone(platform, make_tenant):
    await tenant_on(make_tenant, platform, "pt-abc", "basic")
    (inv,) = (await billing.run(platform, DEC_RUN)).issued
    await provisioning.set_status(platform, "pt-abc", "suspended", reason="abuse report #7")
    assert await billing.suspend_overdue(platform, date(2031, 3, 1)) == []
    payment = await billing.mark_paid(platform, inv.number, today=date(2031, 3, 1))
    assert not payment.resumed
    tenant = await tenant_row(platform, "pt-abc")
    assert (tenant.status, tenant.status_reason) == ("suspended", "abuse report #7")


async def test_list_filters(platform, make_tenant):
    await tenant_on(make_tenant, platform, "pt-abc", "basic")
    await tenant_on(make_tenant, platform, "pt-xyz", "pro")
    await billing.run(platform, DEC_RUN)
    await billing.mark_paid(platform, "INV/2030/00002")
    assert [i.number for i in await billing.list_invoices(platform.main_engine, tenant="pt-xyz")] == ["INV/2030/00002"]
    assert [i.tenant for i in await billing.list_invoices(platform.main_engine, status="issued")] == ["pt-abc"]
    assert len(await billing.list_invoices(platform.main_engine)) == 2
    with pytest.raises(NotFound, match="no tenant 'ghost'"):
        await billing.list_invoices(platform.main_engine, tenant="ghost")
    with pytest.raises(InvalidInput, match="unknown invoice status 'late'"):
        await billing.list_invoices(platform.main_engine, status="late")


# --- CLI -----------------------------------------------------------------------------------------------
@pytest.fixture
def cli(settings):
    return cli_runner(settings)


def test_cli_billing_commands(cli, make_tenant_sync):
    make_tenant_sync("pt-abc")
    assert cli("tenants", "set-plan", "pt-abc", "basic").exit_code == 0
    r = cli("billing", "run", "--date", "2030-12-05", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["period_start"] == "2030-11-01" and [i["number"] for i in out["issued"]] == ["INV/2030/00001"]
    assert out["issued"][0]["amount"] == "1500000.00"
    r = cli("billing", "run", "--date", "2030-12-05")
    assert r.exit_code == 0 and "0 invoice(s) issued" in r.stdout

    r = cli("billing", "list", "--tenant", "pt-abc", "--json")
    assert [(i["number"], i["status"], i["due_date"]) for i in json.loads(r.stdout)] == [
        ("INV/2030/00001", "issued", "2030-12-19")]
    r = cli("billing", "list")
    assert r.exit_code == 0 and "INV/2030/00001" in r.stdout and "1,500,000.00" in r.stdout

    r = cli("billing", "suspend-overdue", "--date", "2030-12-27", "--json")
    assert json.loads(r.stdout) == [{"tenant": "pt-abc", "invoice": "INV/2030/00001", "due_date": "2030-12-19"}]
    assert json.loads(cli("billing", "list", "--status", "overdue", "--json").stdout) == []  # due in 2030: not overdue today

    r = cli("billing", "mark-paid", "INV/2030/00001", "--reference", "[red]BCA[/red] 77")
    assert r.exit_code == 0, r.output
    assert "INV/2030/00001 paid (pt-abc, 1,500,000.00)" in r.stdout and "pt-abc: active again" in r.stdout
    paid = json.loads(cli("billing", "list", "--status", "paid", "--json").stdout)
    assert paid[0]["payment_reference"] == "[red]BCA[/red] 77"
    assert_error(cli("billing", "mark-paid", "INV/2030/00001"), "invoice INV/2030/00001 is already paid")


@pytest.mark.parametrize("args, mentions", [
    (("billing", "run", "--date", "2030-02-30"), ("invalid date for --date '2030-02-30'", "YYYY-MM-DD")),
    (("billing", "suspend-overdue", "--date", "soon"), ("invalid date for --date 'soon'",)),
    (("billing", "list", "--status", "late"), ("unknown invoice status 'late'",)),
    (("billing", "list", "--tenant", "[b]ghost[/b]"), ("no tenant '[b]ghost[/b]'",)),
    (("billing", "mark-paid", "INV/2099/99999"), ("no invoice 'INV/2099/99999'",)),
    (("billing", "mark-paid", "INV/2099/99999", "--reference", "x" * 201), ("longer than 200 characters",)),
])
def test_cli_bad_input_is_one_clear_line(cli, args, mentions):
    assert_error(cli(*args), *mentions)


# --- admin API -----------------------------------------------------------------------------------------
async def test_admin_api(make_settings, make_live):
    settings = make_settings(operator_token="op-token-0123456789")
    live = make_live(settings)
    platform = Platform(settings)
    try:
        await provisioning.create_tenant(platform, name="ABC", subdomain="pt-abc")
    finally:
        await platform.stop()
    async with live.client("admin.localhost") as anon, \
            live.client("admin.localhost", headers={"Authorization": "Bearer op-token-0123456789"}) as c:
        assert (await anon.get("/admin/api/plans")).status_code == 401
        assert (await anon.post("/admin/api/billing/run", json={})).status_code == 401
        plans = (await c.get("/admin/api/plans")).json()
        assert [p["code"] for p in plans] == ["trial", "basic", "pro"]

        r = await c.put("/admin/api/tenants/pt-abc/plan", json={"plan": "platinum"})
        assert r.status_code == 422 and r.json()["detail"] == "unknown plan 'platinum'"
        r = await c.put("/admin/api/tenants/ghost/plan", json={"plan": "basic"})
        assert r.status_code == 404
        r = await c.put("/admin/api/tenants/pt-abc/plan", json={"plan": "basic"})
        assert r.status_code == 200 and r.json()["plan"] == "basic"
        r = await c.put("/admin/api/tenants/pt-abc/modules/production", json={"until": "2099-01-01T00:00:00Z"})
        assert r.status_code == 200
        assert {"module": "production", "source": "grant", "until": "2099-01-01T00:00:00+00:00", "active": True} \
            in r.json()["modules"]
        r = await c.delete("/admin/api/tenants/pt-abc/modules/production")
        assert r.status_code == 200 and "production" not in [m["module"] for m in r.json()["modules"]]

        r = await c.post("/admin/api/billing/run", json={"on": "2030-12-05"})
        assert r.status_code == 200 and [i["number"] for i in r.json()["issued"]] == ["INV/2030/00001"]
        r = await c.get("/admin/api/invoices", params={"tenant": "pt-abc", "status": "issued"})
        assert [i["amount"] for i in r.json()] == ["1500000.00"]
        assert (await c.get("/admin/api/invoices", params={"status": "late"})).status_code == 422
        r = await c.post("/admin/api/billing/suspend-overdue", json={"on": "2030-12-27"})
        assert r.json() == [{"tenant": "pt-abc", "invoice": "INV/2030/00001", "due_date": "2030-12-19"}]
        r = await c.post("/admin/api/invoices/INV/2030/00001/paid", json={"reference": "BCA 1"})
        assert r.status_code == 200 and r.json()["resumed"] is True
        r = await c.get("/admin/api/invoices/INV/2030/00001")
        assert r.json()["status"] == "paid" and r.json()["payment_reference"] == "BCA 1"
        assert (await c.get("/admin/api/invoices/INV/2030/09999")).status_code == 404
        r = await c.post("/admin/api/invoices/INV/2030/00001/paid")
        assert r.status_code == 409
    platform = Platform(settings)
    try:
        assert {e["actor"] for e in await actions(platform, "plan.changed")} == {"operator-token"}
    finally:
        await platform.stop()
