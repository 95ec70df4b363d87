"""Durable onboarding jobs: the admin API queues, a real procrastinate worker (in this test's event
loop) runs the state machine against the real cluster, the new subdomain answers over real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import re
from contextlib import asynccontextmanager

import psycopg
import pytest
from procrastinate import exceptions as pq_exceptions
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.db import PgDsn
from polyflow.platform import jobs, onboarding, provisioning
from polyflow.platform.localpg import free_port
from polyflow.platform.models import PlatformEvent, Tenant
from polyflow.platform.servers import ensure_server
from tests.fixtures.auth import tenant_dsn

TOKEN = "operator-token-for-tests-0123456789"
STEPS = ("role", "database", "migrated", "seeded", "verified", "active")


@pytest.fixture
def settings(make_settings):
    """This module's main database, with the admin API open to TOKEN. No warm spare databases: they
    are cluster-wide, and refills after each onboarding would leave some behind for other tests."""
    return make_settings(operator_token=TOKEN, spare_databases=0)


class Gate:
    """An onboarding hook that holds every step, once done, until the test lets it go."""

    def __init__(self):
        self.reached: asyncio.Queue[str] = asyncio.Queue()
        self._go = asyncio.Semaphore(0)
        self.opened = False

    async def __call__(self, step: str, phase: str) -> None:
        if phase == "done" and not self.opened:
            await self.reached.put(step)
            await self._go.acquire()

    async def next(self, timeout: float = 20) -> str:
        return await asyncio.wait_for(self.reached.get(), timeout)

    def release(self) -> None:
        self._go.release()

    def open(self) -> None:
        self.opened = True
        for _ in range(20):
            self._go.release()


@asynccontextmanager
async def worker(settings, **kw):
    """A real worker (`jobs.run_worker`) as a task of this test's loop; stopped gracefully at the end."""
    kw.setdefault("fetch_job_polling_interval", 0.1)
    kw.setdefault("abort_job_polling_interval", 0.1)
    task = asyncio.create_task(jobs.run_worker(settings, install_signal_handlers=False, **kw))
    try:
        yield task
    finally:
        await jobs.stop_worker(task)


async def eventually(check, timeout: float = 20.0, interval: float = 0.05):
    """Poll ``check()`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s")
        await asyncio.sleep(interval)


async def job_rows(platform, subdomain: str) -> list[tuple[int, str, int]]:
    async with platform.main_engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(
            "SELECT id, status::text, attempts FROM procrastinate_jobs WHERE queueing_lock = :q ORDER BY id"
        ), {"q": f"onboard:{subdomain}"})).all()]


async def tenant_row(platform, subdomain: str) -> Tenant | None:
    async with AsyncSession(platform.main_engine) as session:
        return (await session.execute(
            select(Tenant).where(Tenant.subdomain == subdomain, Tenant.status != "deleted"))).scalar_one_or_none()


async def defer_directly(settings, subdomain: str) -> int:
    """A deferral that skips `defer_onboarding`'s check (as another code path might): only
    procrastinate's own locks stand between it and a second concurrent run."""
    async with await psycopg.AsyncConnection.connect(jobs.conninfo(settings), autocommit=True) as conn:
        return await jobs._client.configure_task(
            jobs.ONBOARD_TASK, lock=jobs.tenant_lock(subdomain), queueing_lock=f"onboard:{subdomain}",
            queue=jobs.ONBOARDING_QUEUE, connection=conn,
        ).defer_async(subdomain=subdomain, requested_by="test")


def admin(live):
    return live.client("admin.localhost", headers={"Authorization": f"Bearer {TOKEN}"})


# --- the whole flow --------------------------------------------------------------------------------


async def test_api_started_onboarding_completes_through_a_worker_with_visible_progress(settings, platform, live):
    gate = Gate()
    async with admin(live) as api, worker(settings, context={"onboarding_hook": gate}):
        r = await api.post("/admin/api/tenants", json={"name": "PT Baru Plastik", "subdomain": "pt-baru",
                                                       "admin_email": "owner@baru.co.id", "plan": "basic"})
        assert r.status_code == 202, r.text
        body = r.json()
        assert body["subdomain"] == "pt-baru" and body["status"] == "provisioning"
        assert body["status_url"].endswith("/admin/api/tenants/pt-baru") and r.headers["location"] == body["status_url"]
        status_path = "/admin/api/tenants/pt-baru"

        # The step field moves, and each value is what the API shows while the worker is there.
        for step in STEPS:
            assert await gate.next() == step
            s = (await api.get(status_path)).json()
            assert s["onboarding"]["step"] == step, (step, s)
            assert s["status"] == ("active" if step == "active" else "provisioning")
            assert s["onboarding"]["job"]["status"] == "doing" and s["onboarding"]["attempts"] == 1
            assert s["admin_email"] == "owner@baru.co.id" and s["plan"] == "basic" and s["server"] == "default"
            gate.release()

        async def job_done():
            s = (await api.get(status_path)).json()
            return s if s["onboarding"]["job"]["status"] == "succeeded" else None

        s = await job_done() or await eventually(job_done)
        assert s["status"] == "active" and s["onboarding"]["error"] is None
        assert s["schema_revision"] and s["activated_at"] and s["created_at"]

    # Served on its own subdomain (the route cache learnt of the activation through Redis).
    async with live.tenant_client("pt-baru") as c:
        async def served():
            r = await c.get("/api/v1/tenant")
            return r if r.status_code == 200 else None

        r = await eventually(served, timeout=5)
        assert r.json()["subdomain"] == "pt-baru"

    # The owner was mailed a one-time link (through the tenant's outbox, sent by the console sender);
    # it sets their password and they sign in.
    _, dsn = tenant_dsn(settings, "pt-baru")
    with psycopg.connect(dsn.url("postgresql")) as conn:
        recipient, body, sent_at = conn.execute("SELECT recipient, body, sent_at FROM outbox").fetchone()
    assert recipient == "owner@baru.co.id" and sent_at is not None
    link = re.search(r"https://pt-baru\.localhost/invite\?token=(\S+)", body)
    assert link, body
    async with live.tenant_client("pt-baru", role=None) as c:
        r = await c.post("/api/v1/auth/invite/accept", json={"token": link.group(1), "password": "bagus-sekali-2026"})
        assert r.status_code == 200, r.text
        r = await c.post("/api/v1/auth/login", json={"email": "owner@baru.co.id", "password": "bagus-sekali-2026"})
        assert r.status_code == 200 and r.json()["roles"] == ["owner"]

    # The owner's one-time password went nowhere: not in the job, not in any event.
    async with platform.main_engine.connect() as conn:
        args = (await conn.execute(text("SELECT args FROM procrastinate_jobs WHERE task_name = :t"),
                                   {"t": jobs.ONBOARD_TASK})).scalars().all()
        events = (await conn.execute(text("SELECT action, actor, detail::text FROM platform_events ORDER BY id"))).all()
    assert args == [{"subdomain": "pt-baru", "requested_by": "operator-token"}]
    assert not any("password" in detail for _, _, detail in events)
    actions = [a for a, _, _ in events]
    assert actions[:2] == ["tenant.reserved", "tenant.onboarding_queued"] and "tenant.activated" in actions
    assert all(actor.startswith(("operator-token", "job ")) for _, actor, _ in events)


async def _set_server(platform, name: str, dsn: PgDsn) -> None:
    async with AsyncSession(platform.main_engine) as session:
        await ensure_server(session, platform.secrets, name, dsn)
        await session.commit()


def _closed_port(pg_admin: PgDsn) -> PgDsn:
    return PgDsn("127.0.0.1", free_port(), pg_admin.user, pg_admin.password, "postgres")


async def _status(api, subdomain: str) -> dict:
    r = await api.get(f"/admin/api/tenants/{subdomain}")
    assert r.status_code == 200, r.text
    return r.json()


async def _until_job(api, subdomain: str, status: str, attempts: int | None = None, timeout: float = 20) -> dict:
    async def check():
        s = await _status(api, subdomain)
        job = s["onboarding"]["job"]
        ok = job and job["status"] == status and (attempts is None or job["attempts"] == attempts)
        return s if ok else None

    return await eventually(check, timeout=timeout)


async def test_unreachable_server_at_first_is_retried_and_completes(settings, platform, live, pg_admin):
    """The tenant's server does not answer (a closed port): the job fails before creating anything,
    keeps the tenant reserved and is retried with backoff; the operator fixes the row meanwhile."""
    await _set_server(platform, "flaky", _closed_port(pg_admin))
    async with admin(live) as api, worker(settings):
        r = await api.post("/admin/api/tenants", json={"name": "PT Lambat", "subdomain": "pt-lambat",
                                                       "admin_email": "owner@lambat.co.id", "server": "flaky"})
        assert r.status_code == 202, r.text
        s = await _until_job(api, "pt-lambat", "todo", attempts=1)  # failed once, retry scheduled
        assert s["status"] == "provisioning" and s["onboarding"]["step"] == "reserved"
        assert "waiting for the database server" in s["onboarding"]["error"]

        await _set_server(platform, "flaky", pg_admin)
        s = await _until_job(api, "pt-lambat", "succeeded")
    assert s["status"] == "active" and s["onboarding"]["error"] is None
    assert s["onboarding"]["job"]["attempts"] == 2 and s["onboarding"]["attempts"] == 1
    async with live.tenant_client("pt-lambat") as c:
        await eventually(lambda: _ok(c.get("/api/v1/tenant")), timeout=5)


def _admin_sql(pg_admin: PgDsn, sql: str) -> None:
    with psycopg.connect(pg_admin.url("postgresql"), autocommit=True) as conn:
        conn.execute(sql)


async def test_a_failed_step_leaves_it_failed_then_the_retry_resumes(settings, platform, live, pg_admin):
    """The tenant's role cannot log in when the `migrated` step connects: the state machine records
    `failed` with the error (visible in the API); the operator repairs the role; the retry resumes
    at `migrated` (role and database are not made again)."""
    broken = []

    async def break_login_once(step: str, phase: str) -> None:
        if (step, phase) == ("database", "done") and not broken:
            role = (await tenant_row(platform, "pt-putus")).db_user
            broken.append(role)
            _admin_sql(pg_admin, f'ALTER ROLE "{role}" NOLOGIN')

    async with admin(live) as api, worker(settings, context={"onboarding_hook": break_login_once}):
        r = await api.post("/admin/api/tenants", json={"name": "PT Putus", "subdomain": "pt-putus",
                                                       "admin_email": "owner@putus.co.id"})
        assert r.status_code == 202, r.text
        s = await _until_job(api, "pt-putus", "todo", attempts=1)
        assert s["status"] == "failed" and s["onboarding"]["step"] == "database"
        assert s["onboarding"]["error"].startswith("migrated:") and "log in" in s["onboarding"]["error"]

        _admin_sql(pg_admin, f'ALTER ROLE "{broken[0]}" LOGIN')
        s = await _until_job(api, "pt-putus", "succeeded")
    assert s["status"] == "active" and s["onboarding"]["error"] is None
    assert s["onboarding"]["job"]["attempts"] == 2 and s["onboarding"]["attempts"] == 2
    async with live.tenant_client("pt-putus") as c:
        await eventually(lambda: _ok(c.get("/api/v1/tenant")), timeout=5)


async def _ok(response_coro) -> bool:
    return (await response_coro).status_code == 200


async def test_two_jobs_for_one_subdomain_never_run_at_once(settings, platform):
    await onboarding.reserve(platform, name="PT Satu", subdomain="pt-satu", admin_email="a@satu.co.id")
    first, queued = await jobs.defer_onboarding(settings, "pt-satu", requested_by="test")
    assert queued and await jobs.defer_onboarding(settings, "pt-satu", requested_by="test") == (first, False)
    with pytest.raises(pq_exceptions.AlreadyEnqueued):
        await defer_directly(settings, "pt-satu")  # the queueing lock

    gate = Gate()
    seen_doing: list[int] = []
    async with worker(settings, concurrency=3, context={"onboarding_hook": gate}):
        assert await gate.next() == "role"  # the first job is inside the state machine now
        # Running: a repeated request gets the same job back.
        assert await jobs.defer_onboarding(settings, "pt-satu", requested_by="test") == (first, False)
        second = await defer_directly(settings, "pt-satu")  # allowed in the queue, must not start
        for _ in range(15):  # 3 workers slots free, polling every 0.1 s: it would have started by now
            rows = await job_rows(platform, "pt-satu")
            seen_doing.append(sum(1 for _, status, _ in rows if status == "doing"))
            await asyncio.sleep(0.05)
        assert dict((i, s) for i, s, _ in await job_rows(platform, "pt-satu"))[second] == "todo"
        gate.open()
        await eventually(lambda: _all_finished(platform, "pt-satu"))
    assert max(seen_doing) == 1
    rows = await job_rows(platform, "pt-satu")
    assert [(i, s) for i, s, _ in rows] == [(first, "succeeded"), (second, "succeeded")]
    tenant = await tenant_row(platform, "pt-satu")
    assert tenant.status == "active" and tenant.onboarding_attempts == 1  # the second job found it done


async def test_a_job_waits_while_another_process_onboards_the_same_tenant(settings, platform):
    """The CLI (or anything calling `onboarding.run`) holds the tenant's onboarding lock: the job
    does not run beside it and does not give up either; it retries and then finds the work done."""
    await onboarding.reserve(platform, name="PT Antri", subdomain="pt-antri", admin_email="o@antri.co.id")
    job_id, _ = await jobs.defer_onboarding(settings, "pt-antri", requested_by="test")
    async with worker(settings):
        async with onboarding.onboarding_lock(platform, "pt-antri"):  # "the CLI" is running
            await eventually(lambda: _job_is(platform, "pt-antri", "todo", 1))
            assert (await tenant_row(platform, "pt-antri")).onboarding_attempts == 0
        await onboarding.run(platform, "pt-antri")  # the CLI finishes it
        await eventually(lambda: _all_finished(platform, "pt-antri"))
    ((job, status, runs),) = await job_rows(platform, "pt-antri")
    assert (job, status) == (job_id, "succeeded") and runs >= 2
    assert (await tenant_row(platform, "pt-antri")).onboarding_attempts == 1  # only the CLI's run


async def _job_is(platform, subdomain: str, status: str, attempts: int) -> bool:
    return [(s, a) for _, s, a in await job_rows(platform, subdomain)] == [(status, attempts)]


async def _all_finished(platform, subdomain: str) -> bool:
    rows = await job_rows(platform, subdomain)
    return bool(rows) and all(status in ("succeeded", "failed", "aborted", "cancelled") for _, status, _ in rows)


async def test_jobs_for_tenants_no_longer_being_onboarded_end_cleanly(settings, platform, make_tenant):
    await make_tenant("pt-aktif")
    await make_tenant("pt-henti")
    await provisioning.set_status(platform, "pt-henti", "suspended")
    before = {s: (await tenant_row(platform, s)).onboarding_attempts for s in ("pt-aktif", "pt-henti")}
    for sub in ("pt-aktif", "pt-henti", "pt-hilang"):
        await jobs.defer_onboarding(settings, sub, requested_by="test")
    async with worker(settings, wait=False) as w:
        await asyncio.wait_for(asyncio.shield(w), 20)  # wait=False: returns once the queue is empty
    for sub in ("pt-aktif", "pt-henti", "pt-hilang"):
        assert [s for _, s, _ in await job_rows(platform, sub)] == ["succeeded"], sub
    assert (await tenant_row(platform, "pt-aktif")).status == "active"
    assert (await tenant_row(platform, "pt-henti")).status == "suspended"
    assert {s: (await tenant_row(platform, s)).onboarding_attempts for s in before} == before


async def test_abandon_through_the_api_stops_a_running_onboarding(settings, platform, live, pg_admin):
    gate = Gate()
    async with admin(live) as api, worker(settings, context={"onboarding_hook": gate}):
        r = await api.post("/admin/api/tenants", json={"name": "PT Batal", "subdomain": "pt-batal",
                                                       "admin_email": "owner@batal.co.id"})
        assert r.status_code == 202
        assert await gate.next() == "role"
        gate.release()
        assert await gate.next() == "database"  # the database exists now; the job holds here
        db_name = (await tenant_row(platform, "pt-batal")).db_name
        r = await api.delete("/admin/api/tenants/pt-batal/onboarding")
        assert r.status_code == 200, r.text
        assert r.json() == {"subdomain": "pt-batal", "abandoned": True}
        assert (await api.get("/admin/api/tenants/pt-batal")).status_code == 404
    assert await tenant_row(platform, "pt-batal") is None
    assert [s for _, s, _ in await job_rows(platform, "pt-batal")] == ["aborted"]
    with psycopg.connect(pg_admin.url("postgresql"), autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db_name,)).fetchone() is None
        assert conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (db_name,)).fetchone() is None
    async with AsyncSession(platform.main_engine) as session:
        event = (await session.execute(select(PlatformEvent).where(
            PlatformEvent.action == "tenant.onboarding_abandoned"))).scalar_one()
    assert event.actor == "operator-token" and event.detail["subdomain"] == "pt-batal"


async def test_stopping_a_worker_mid_onboarding_hands_the_job_back(settings, platform):
    """Stop (SIGTERM / Ctrl-C / dev shutdown) while a job runs: it gets the graceful timeout, is then
    aborted and put back in the queue; the next worker resumes the onboarding where it stopped."""
    await onboarding.reserve(platform, name="PT Jeda", subdomain="pt-jeda", admin_email="o@jeda.co.id")
    job_id, _ = await jobs.defer_onboarding(settings, "pt-jeda", requested_by="test")
    gate = Gate()
    async with worker(settings, graceful_timeout=0.2, context={"onboarding_hook": gate}):
        assert await gate.next() == "role"  # held inside the job; now the worker is stopped
    assert await job_rows(platform, "pt-jeda") == [(job_id, "todo", 1)]
    assert (await tenant_row(platform, "pt-jeda")).onboarding_step == "role"
    async with worker(settings):
        await eventually(lambda: _all_finished(platform, "pt-jeda"))
    assert await job_rows(platform, "pt-jeda") == [(job_id, "succeeded", 2)]
    tenant = await tenant_row(platform, "pt-jeda")
    assert tenant.status == "active" and tenant.onboarding_attempts == 2


async def test_spare_databases_claimed_by_jobs_are_refilled_by_a_job(settings, platform, pg_admin):
    from polyflow.platform import migrate
    from polyflow.platform.templates import SPARE_PREFIX

    def spares(pattern: str = f"{SPARE_PREFIX}{migrate.head('tenant')}_%") -> set[str]:
        with psycopg.connect(pg_admin.url("postgresql"), autocommit=True) as conn:
            return {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (pattern,))}

    platform.settings.spare_databases = settings.spare_databases = 1
    try:
        for sub in ("pt-cadang-a", "pt-cadang-b"):
            await onboarding.reserve(platform, name=sub, subdomain=sub, admin_email=f"o@{sub}.co.id")
            await jobs.defer_onboarding(settings, sub, requested_by="test")
        # One job at a time: a refill beside a clone finds the template busy and makes nothing (it is
        # topped up next time), which would make this test's count depend on timing.
        async with worker(settings, concurrency=1):
            for sub in ("pt-cadang-a", "pt-cadang-b"):
                await eventually(lambda: _all_finished(platform, sub))
            await eventually(lambda: len(spares()) == 1)
        async with platform.main_engine.connect() as conn:
            refills = (await conn.execute(text("SELECT status::text FROM procrastinate_jobs WHERE task_name = :t"),
                                          {"t": jobs.REFILL_TASK})).scalars().all()
        assert refills == ["succeeded"]  # the second onboarding found one refill already waiting
    finally:  # spares are cluster-wide: leave none for other tests
        for name in spares(SPARE_PREFIX + "%"):
            with psycopg.connect(pg_admin.url("postgresql"), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_one_platform_per_worker_process_disposed_at_exit(settings, platform, monkeypatch):
    built, stopped, used = [], [], set()

    class CountingPlatform(jobs.Platform):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            built.append(self)

        async def stop(self):
            stopped.append(self)
            await super().stop()

    monkeypatch.setattr(jobs, "Platform", CountingPlatform)
    original = onboarding.run

    async def spy_run(p, subdomain, **kw):
        used.add(id(p))
        return await original(p, subdomain, **kw)

    monkeypatch.setattr(onboarding, "run", spy_run)
    for sub in ("pt-tiga-a", "pt-tiga-b", "pt-tiga-c"):
        await onboarding.reserve(platform, name=sub, subdomain=sub, admin_email=f"o@{sub}.co.id")
        await jobs.defer_onboarding(settings, sub, requested_by="test")
    async with worker(settings, concurrency=3, wait=False) as w:
        await asyncio.wait_for(asyncio.shield(w), 30)
    assert len(built) == 1 and stopped == built and used == {id(built[0])}
    for sub in ("pt-tiga-a", "pt-tiga-b", "pt-tiga-c"):
        assert (await tenant_row(platform, sub)).status == "active"


def test_polyflow_worker_runs_jobs_and_stops_on_sigterm(settings):
    async def reserve_and_defer():
        p = jobs.Platform(settings)
        try:
            await onboarding.reserve(p, name="PT Proses", subdomain="pt-proses", admin_email="o@proses.co.id")
            await jobs.defer_onboarding(settings, "pt-proses", requested_by="test")
        finally:
            await p.stop()

    asyncio.run(reserve_and_defer())
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYFLOW_")}
    env.update({"POLYFLOW_DATABASE_URL": settings.database_url, "POLYFLOW_ENV": "test", "POLYFLOW_SPARE_DATABASES": "0",
                "POLYFLOW_SECRET_KEY": settings.secret_key.get_secret_value(),
                "POLYFLOW_REDIS_URL": settings.redis_url, "POLYFLOW_REDIS_NAMESPACE": settings.redis_namespace})
    proc = subprocess.Popen([sys.executable, "-c", "from polyflow.cli import main; main()", "worker", "--concurrency", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        with psycopg.connect(PgDsn.parse(settings.database_url).url("postgresql"), autocommit=True) as conn:
            while conn.execute("SELECT status FROM tenants WHERE subdomain = 'pt-proses'").fetchone()[0] != "active":
                assert proc.poll() is None and time.monotonic() < deadline, "worker did not onboard the tenant"
                time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "worker: 2 concurrent job(s)" in out and "worker stopped" in out
    assert "onboarding pt-proses: step active done" in out  # the worker's log is its output
    assert "Traceback" not in out


async def test_a_job_left_running_by_a_dead_worker_is_retried_and_resumes(settings, platform):
    """A worker killed mid-onboarding leaves its job `doing` (holding the tenant's lock). The
    every-minute `jobs.retry_stalled` task of any live worker puts it back; the onboarding resumes."""
    await onboarding.reserve(platform, name="PT Yatim", subdomain="pt-yatim", admin_email="o@yatim.co.id")
    job_id, _ = await jobs.defer_onboarding(settings, "pt-yatim", requested_by="test")
    async with platform.main_engine.begin() as conn:  # what the killed worker left behind
        dead = await conn.scalar(text("INSERT INTO procrastinate_workers (last_heartbeat) "
                                      "VALUES (now() - interval '10 minutes') RETURNING id"))
        await conn.execute(text("UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w WHERE id = :j"),
                           {"w": dead, "j": job_id})
    async with worker(settings):
        await eventually(lambda: _all_finished(platform, "pt-yatim"), timeout=20)
    assert await job_rows(platform, "pt-yatim") == [(job_id, "succeeded", 2)]  # put back once, then done
    assert (await tenant_row(platform, "pt-yatim")).status == "active"


async def test_overdue_tenants_are_suspended_by_the_daily_billing_task(settings, platform, make_tenant, live):
    from datetime import date
    from decimal import Decimal

    from polyflow.platform.models import Invoice

    app = jobs.worker_app(settings)
    assert ("billing.suspend_overdue", "billing.suspend_overdue") in app.periodic_registry.periodic_tasks
    assert app.periodic_registry.periodic_tasks[("billing.suspend_overdue",) * 2].cron == "30 0 * * *"

    tenant = await make_tenant("pt-telat")
    async with AsyncSession(platform.main_engine) as session:
        session.add(Invoice(tenant_id=tenant.id, number="INV/2026/00001", period_start=date(2026, 1, 1),
                            period_end=date(2026, 1, 31), plan="basic", amount=Decimal("1500000.00"),
                            due_date=date(2026, 2, 14)))
        await session.commit()
    async with live.tenant_client("pt-telat") as c:
        assert (await c.get("/api/v1/tenant")).status_code == 200
        # The tick the periodic deferrer would defer, for a day well past the due date + grace.
        tick = int(datetime_utc(2026, 3, 2, 0, 30).timestamp())
        async with await psycopg.AsyncConnection.connect(jobs.conninfo(settings), autocommit=True) as conn:
            await jobs._client.configure_task("billing.suspend_overdue", queue=jobs.MAINTENANCE_QUEUE,
                                              connection=conn).defer_async(timestamp=tick)
        async with worker(settings, queues=[jobs.MAINTENANCE_QUEUE], wait=False) as w:
            await asyncio.wait_for(asyncio.shield(w), 20)
        row = await tenant_row(platform, "pt-telat")
        assert row.status == "suspended" and row.status_reason == "overdue invoice INV/2026/00001"
        await eventually(lambda: _status_is(c, 403), timeout=2)


def datetime_utc(*args):
    from datetime import datetime, timezone

    return datetime(*args, tzinfo=timezone.utc)


async def _status_is(client, status: int) -> bool:
    return (await client.get("/api/v1/tenant")).status_code == status


def test_polyflow_worker_without_a_main_database_is_one_error_line():
    from typer.testing import CliRunner

    from polyflow.cli import app

    env = {k: None for k in os.environ if k.startswith("POLYFLOW_")}
    env.update({"POLYFLOW_ENV": "test", "POLYFLOW_DATABASE_URL": f"postgresql://postgres:x@127.0.0.1:{free_port()}/main"})
    started = time.monotonic()
    result = CliRunner().invoke(app, ["worker"], env=env)
    assert result.exit_code == 1 and time.monotonic() - started < 10
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: the job queue (main database) is unavailable")
    assert "Traceback" not in result.output
