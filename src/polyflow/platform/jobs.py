"""Durable jobs on the main database (procrastinate): onboarding started from the API, scheduled tasks.

- **Queue.** procrastinate's tables live in the main database (Alembic revision 0003). Deferring
  needs no worker and no pool: `defer_onboarding` opens one psycopg connection, defers inside a
  transaction and closes it (an admin action, not a hot path).
- **Workers.** `run_worker` builds the process's one `Platform` (main engine, Redis invalidation),
  opens a procrastinate App on the main database and runs until SIGINT/SIGTERM or cancellation;
  tasks get that Platform from the job context. `polyflow worker` runs it; `polyflow dev` runs one
  in-process next to uvicorn.
- **Onboarding jobs.** `onboard_tenant(subdomain)` runs the resumable state machine
  (`onboarding.run`). Per subdomain, ``lock`` keeps two jobs from running at once and
  ``queueing_lock`` keeps a second one from waiting; `defer_onboarding` also refuses to add one while
  another is running. Failures are retried with backoff (the state machine is idempotent); a job
  whose tenant is no longer being onboarded (activated, suspended, abandoned) ends cleanly.
- **Secrets.** The one-time owner password that `onboarding.run` produces is never returned,
  stored or logged by a job: API-started tenants get their owner's password through the identity
  flow (invite / password reset). Job arguments are only the subdomain and who asked.
- **Scheduled tasks.** `periodic(name, cron)` registers ``fn(platform, timestamp)``; each tick runs
  once across all workers (procrastinate dedupes ticks in the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Awaitable, Callable

import psycopg
from procrastinate import App, JobContext, PsycopgConnector, RetryDecision, RetryStrategy
from procrastinate import exceptions as pq_exceptions
from procrastinate.job_context import AbortReason
from procrastinate.jobs import Status
from procrastinate.retry import RetryValue
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.config import Settings
from polyflow.kit.db import PgDsn
from polyflow.kit.errors import Conflict, NotFound, PolyflowError, Unavailable
from polyflow.platform import onboarding
from polyflow.platform.models import PlatformEvent, Tenant
from polyflow.platform.runtime import Platform
from polyflow.platform.servers import admin_connect

log = logging.getLogger(__name__)

ONBOARD_TASK = "tenants.onboard"
ONBOARDING_QUEUE = "onboarding"
MAINTENANCE_QUEUE = "maintenance"
# Retries of a failed onboarding: waits of 2, 4, 8, 16 s (five runs in all, about 30 s), then the
# tenant stays `failed` for an operator (resume or abandon through the admin API).
ONBOARDING_RETRIES = 4
ONBOARDING_BACKOFF = 2
UNFINISHED = ("provisioning", "failed")


def tenant_lock(subdomain: str) -> str:
    """procrastinate ``lock`` for jobs that change one tenant: they never run at the same time."""
    return f"tenant:{subdomain}"


def onboarding_queueing_lock(subdomain: str) -> str:
    """At most one onboarding job per tenant waits in the queue."""
    return f"onboard:{subdomain}"


def conninfo(settings: Settings) -> str:
    """libpq connection string of the main database (procrastinate speaks psycopg, not asyncpg)."""
    if not settings.database_url:
        raise RuntimeError("POLYFLOW_DATABASE_URL is not set (run `polyflow dev` for the embedded default)")
    return PgDsn.parse(settings.database_url).url("postgresql")


# --- registry of tasks -----------------------------------------------------------------------------
# Tasks are plain functions registered here; every worker builds its own procrastinate App from the
# registry (`worker_app`), so several apps (one per main database, e.g. in tests) never share state.


@dataclass(frozen=True)
class _TaskSpec:
    name: str
    func: Callable[..., Awaitable[Any]]
    queue: str
    retry: RetryValue
    cron: str | None = None


_TASKS: dict[str, _TaskSpec] = {}


def task(name: str, *, queue: str = "default", retry: RetryValue = False, cron: str | None = None):
    """Register ``async fn(context: JobContext, **kwargs)`` as a job task named ``name``; with
    ``cron`` it is also deferred on that schedule (UTC) and receives ``timestamp``."""

    def register(func):
        if name in _TASKS and _TASKS[name].func is not func:
            raise ValueError(f"job task '{name}' is already registered")
        _TASKS[name] = _TaskSpec(name, func, queue, retry, cron)
        return func

    return register


def periodic(name: str, cron: str, *, queue: str = MAINTENANCE_QUEUE):
    """Register ``async fn(platform, timestamp)`` to run on a cron schedule (UTC), once per tick
    across all workers. ``timestamp`` is the tick's Unix time. Import the registering module before
    `worker_app` builds an app (list it in `TASK_MODULES`)."""

    def register(func):
        async def run(context: JobContext, timestamp: int) -> Any:
            return await func(platform_of(context), timestamp)

        run.__name__ = run.__qualname__ = f"periodic_{func.__name__}"
        task(name, queue=queue, cron=cron)(run)
        return func

    return register


def platform_of(context: JobContext) -> Platform:
    """The worker process's Platform (built once by `run_worker`)."""
    try:
        return context.additional_context["platform"]
    except KeyError:
        raise RuntimeError("job run outside `polyflow worker`: no Platform in the job context") from None


class _Retry(RetryStrategy):
    """Retry with exponential backoff, except errors of the request itself (4xx): those stay as they
    are. A job cut short by a worker shutdown is not at fault: it goes back in the queue at once."""

    def get_retry_decision(self, *, exception, job):
        if isinstance(exception, asyncio.CancelledError):
            return RetryDecision()
        if isinstance(exception, PolyflowError) and exception.status_code < 500:
            return None
        return super().get_retry_decision(exception=exception, job=job)


# --- the App ---------------------------------------------------------------------------------------

# Modules that register tasks with `task` / `periodic`, imported before a worker starts.
TASK_MODULES: tuple[str, ...] = ("polyflow.platform.fleet.queue",)


def worker_app(settings: Settings, *, pool_size: int = 4) -> App:
    """A procrastinate App on the main database with every registered task (open it before use)."""
    import importlib

    for module in TASK_MODULES:
        importlib.import_module(module)
    connector = PsycopgConnector(conninfo=conninfo(settings), min_size=1, max_size=pool_size, timeout=10,
                                 kwargs={"connect_timeout": 10})
    app = App(connector=connector)
    for spec in _TASKS.values():
        job_task = app.task(name=spec.name, queue=spec.queue, retry=spec.retry, pass_context=True)(spec.func)
        if spec.cron is not None:
            # The queueing lock keeps ticks from piling up while the workers are busy or down.
            app.periodic(cron=spec.cron, periodic_id=spec.name, queueing_lock=spec.name)(job_task)
    return app


# An App used only with explicit connections (deferring, cancelling from the web process): it is
# never opened, so it holds no pool and belongs to no event loop.
_client = App(connector=PsycopgConnector())


@asynccontextmanager
async def _main_connection(settings: Settings) -> AsyncIterator[psycopg.AsyncConnection]:
    try:
        conn = await psycopg.AsyncConnection.connect(conninfo(settings), connect_timeout=5)
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split())
        raise Unavailable(f"the job queue (main database) is unavailable: {reason}", retry_after=5) from None
    try:
        yield conn
    finally:
        await conn.close()


# --- onboarding ------------------------------------------------------------------------------------


async def defer_onboarding(settings: Settings, subdomain: str, *, requested_by: str) -> tuple[int, bool]:
    """Queue onboarding for a reserved tenant. Returns (job id, queued now); an already queued or
    running job's id if there is one, so a repeated request never starts a second run."""
    lock, qlock = tenant_lock(subdomain), onboarding_queueing_lock(subdomain)
    async with _main_connection(settings) as conn:
        try:
            async with conn.transaction():
                # Two requests for one tenant take turns here; the second finds the first's job.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (qlock,))
                cur = await conn.execute(
                    "SELECT id FROM procrastinate_jobs WHERE task_name = %s AND queueing_lock = %s "
                    "AND status IN ('todo', 'doing') ORDER BY id LIMIT 1",
                    (ONBOARD_TASK, qlock),
                )
                row = await cur.fetchone()
                if row is not None:
                    return row[0], False
                job_id = await _client.configure_task(
                    ONBOARD_TASK, lock=lock, queueing_lock=qlock, queue=ONBOARDING_QUEUE, connection=conn,
                ).defer_async(subdomain=subdomain, requested_by=requested_by)
                return job_id, True
        except (psycopg.Error, pq_exceptions.ConnectorException) as exc:
            raise Unavailable(f"could not queue the onboarding of '{subdomain}': {exc}", retry_after=5) from None


@dataclass
class JobInfo:
    id: int
    status: str  # todo, doing, succeeded, failed, cancelled, aborted
    attempts: int
    scheduled_at: datetime | None


async def latest_onboarding_job(session: AsyncSession, subdomain: str) -> JobInfo | None:
    """The newest onboarding job for a subdomain (its queue status), if any."""
    row = (await session.execute(
        text("SELECT id, status::text AS status, attempts, scheduled_at FROM procrastinate_jobs "
             "WHERE task_name = :task AND queueing_lock = :qlock ORDER BY id DESC LIMIT 1"),
        {"task": ONBOARD_TASK, "qlock": onboarding_queueing_lock(subdomain)},
    )).first()
    return JobInfo(row.id, row.status, row.attempts, row.scheduled_at) if row else None


async def stop_onboarding_jobs(settings: Settings, subdomain: str, *, wait: float = 5.0) -> None:
    """Cancel queued onboarding jobs of a tenant and abort a running one, waiting up to ``wait``
    seconds for it to stop (then 409: try again)."""
    qlock = onboarding_queueing_lock(subdomain)
    deadline = asyncio.get_running_loop().time() + wait
    async with _main_connection(settings) as conn:
        try:
            await conn.set_autocommit(True)
            while True:
                cur = await conn.execute(
                    "SELECT id, status::text FROM procrastinate_jobs WHERE task_name = %s AND queueing_lock = %s "
                    "AND status IN ('todo', 'doing')", (ONBOARD_TASK, qlock))
                rows = await cur.fetchall()
                if not rows:
                    return
                for job_id, status in rows:
                    # todo -> cancelled; doing -> abort requested (the worker cancels the run at once).
                    await _client.job_manager.cancel_job_by_id_async(job_id, abort=status == "doing",
                                                                     connection=conn)
                if asyncio.get_running_loop().time() >= deadline:
                    raise Conflict(f"the onboarding of '{subdomain}' is still running (job {rows[0][0]}); "
                                   "it was asked to stop, try again in a few seconds",
                                   headers={"Retry-After": "5"})
                await asyncio.sleep(0.1)
        except (psycopg.Error, pq_exceptions.ConnectorException) as exc:
            raise Unavailable(f"could not stop the onboarding jobs of '{subdomain}': {exc}", retry_after=5) from None


async def _load_unfinished(platform: Platform, subdomain: str) -> Tenant | None:
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        return (await session.execute(
            select(Tenant).where(Tenant.subdomain == subdomain, Tenant.status != "deleted")
        )).scalar_one_or_none()


async def _wait_for_server(platform: Platform, tenant: Tenant, actor: str) -> None:
    """Before anything exists on the server: make sure it answers. `onboarding.run` forgets a
    tenant whose first step fails, which is right for the CLI but would turn a server that is down
    for a minute into a tenant that silently vanished; here the job fails and is retried instead."""
    try:
        conn = await admin_connect(tenant.server, platform.secrets)
    except Unavailable as exc:
        async with AsyncSession(platform.main_engine) as session:
            row = await session.get(Tenant, tenant.id)
            if row is not None:
                row.onboarding_error = f"waiting for the database server: {exc.message}"[:2000]
                session.add(PlatformEvent(tenant_id=tenant.id, actor=actor[:200], action="tenant.onboarding_waiting",
                                          detail={"server": tenant.server.name, "error": exc.message[:500]}))
                await session.commit()
        raise
    await conn.close()


async def _superseded(platform: Platform, context: JobContext, subdomain: str) -> bool:
    """Another onboarding job for this tenant is already waiting (it will resume from here)."""
    async with AsyncSession(platform.main_engine) as session:
        return bool(await session.scalar(
            text("SELECT 1 FROM procrastinate_jobs WHERE task_name = :task AND queueing_lock = :qlock "
                 "AND status = 'todo' AND id <> :id LIMIT 1"),
            {"task": ONBOARD_TASK, "qlock": onboarding_queueing_lock(subdomain), "id": context.job.id},
        ))


_NO_LIMIT = contextlib.nullcontext()


def onboarding_capacity(platform: Platform) -> int:
    """Onboarding runs one worker process can do at once: each holds two main-database connections
    (its advisory-lock connection and its session), so more runs than half the main pool would wait
    on the pool (and time out) instead of working. Other jobs are not limited by this."""
    pool = platform.main_engine.pool
    size = pool.size() + max(0, getattr(pool, "_max_overflow", 0))
    return max(1, size // 2 - 1)


def _progress_hook(subdomain: str, extra: onboarding.StepHook | None) -> onboarding.StepHook:
    async def hook(step: str, phase: str) -> None:
        if phase == "done":
            log.info("onboarding %s: step %s done", subdomain, step)
        if extra is not None:
            result = extra(step, phase)
            if inspect.isawaitable(result):
                await result

    return hook


@task(ONBOARD_TASK, queue=ONBOARDING_QUEUE,
      retry=_Retry(max_attempts=ONBOARDING_RETRIES, exponential_wait=ONBOARDING_BACKOFF))
async def onboard_tenant(context: JobContext, subdomain: str, requested_by: str = "api") -> dict:
    """Finish onboarding a reserved tenant. The result never holds the owner's password."""
    platform = platform_of(context)
    actor = f"job {context.job.id} ({requested_by})"
    tenant = await _load_unfinished(platform, subdomain)
    # Status is enforced here: a tenant abandoned, finished by the CLI, suspended... is not ours.
    if tenant is None:
        log.info("onboarding %s: no such tenant any more; nothing to do", subdomain)
        return {"subdomain": subdomain, "outcome": "gone"}
    if tenant.status not in UNFINISHED:
        log.info("onboarding %s: tenant is %s; nothing to do", subdomain, tenant.status)
        return {"subdomain": subdomain, "outcome": "skipped", "status": tenant.status}
    if tenant.onboarding_step in (None, "reserved"):
        await _wait_for_server(platform, tenant, actor)
    hook = _progress_hook(subdomain, context.additional_context.get("onboarding_hook"))
    slots = context.additional_context.get("onboarding_slots") or _NO_LIMIT
    try:
        async with slots:
            result = await onboarding.run(platform, subdomain, hook=hook, actor=actor, issue_password=False)
    except asyncio.CancelledError:
        if context.abort_reason() is AbortReason.USER_REQUEST:
            # An operator abandons the onboarding: end as `aborted`, not as a failure to retry.
            raise pq_exceptions.JobAborted(f"onboarding of '{subdomain}' stopped by an operator") from None
        raise  # worker shutdown: procrastinate retries the job later and it resumes
    except (Conflict, NotFound) as exc:
        now = await _load_unfinished(platform, subdomain)
        if isinstance(exc, Conflict) and now is not None and now.status in UNFINISHED:
            # Still unfinished: another process (the CLI) holds its onboarding lock. Try again later;
            # by then it is finished (the retry ends cleanly) or failed (the retry resumes it).
            if await _superseded(platform, context, subdomain):
                return {"subdomain": subdomain, "outcome": "superseded"}
            raise Unavailable(f"{exc.message}; this job retries later") from None
        # Raced with the CLI or an operator (activated or abandoned meanwhile): nothing left to do.
        log.info("onboarding %s: %s", subdomain, exc.message)
        return {"subdomain": subdomain, "outcome": "skipped", "reason": exc.message}
    except Exception:
        if await _superseded(platform, context, subdomain):
            # Retrying would collide with the waiting job's queueing lock; that job resumes instead.
            log.warning("onboarding %s failed; a newer job for it is queued and will resume", subdomain)
            return {"subdomain": subdomain, "outcome": "superseded"}
        raise
    # No password was issued (issue_password=False): the owner gets in through invite/reset.
    await _defer_refill(context, platform, result.tenant.server.name)
    return {"subdomain": subdomain, "outcome": "active", "from_template": result.from_template,
            "seconds": round(result.seconds, 3)}


REFILL_TASK = "tenants.refill_spares"


@task(REFILL_TASK, queue=MAINTENANCE_QUEUE)
async def refill_spare_databases(context: JobContext, server: str) -> dict:
    """Top up a server's warm spare databases after onboardings claimed some (off the critical path)."""
    return {"server": server, "made": await onboarding.refill_spares(platform_of(context), server)}


async def _defer_refill(context: JobContext, platform: Platform, server: str) -> None:
    if platform.settings.spare_databases <= 0:
        return
    try:
        await context.app.configure_task(REFILL_TASK, queueing_lock=f"refill-spares:{server}",
                                         queue=MAINTENANCE_QUEUE).defer_async(server=server)
    except pq_exceptions.AlreadyEnqueued:
        pass  # one refill is waiting already; it tops up to the full count
    except Exception as exc:  # the tenant is active: a missing refill only makes the next one slower
        log.warning("could not queue a spare-database refill for %s: %s", server, exc)


# --- housekeeping ----------------------------------------------------------------------------------

STALLED_AFTER_SECONDS = 60  # a worker without a heartbeat this long is dead; its jobs are retried
KEEP_JOBS_HOURS = 24 * 30
KEEP_MAINTENANCE_JOBS_HOURS = 24


@task("jobs.retry_stalled", queue=MAINTENANCE_QUEUE, cron="* * * * *")
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> dict:
    """Jobs left `doing` by a worker that died (SIGKILL, lost machine) run again; for onboarding
    that resumes the state machine. Without this, a tenant's lock would stay held forever."""
    manager = context.app.job_manager
    retried = failed = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS):
        try:
            await manager.retry_job(job)
            retried += 1
        except pq_exceptions.ConnectorException:
            # Another job with its queueing lock is already waiting and will do the work.
            await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            failed += 1
    if retried or failed:
        log.warning("jobs of dead workers: %d put back in the queue, %d closed (a newer job was waiting)",
                    retried, failed)
    return {"retried": retried, "closed": failed}


@task("jobs.prune", queue=MAINTENANCE_QUEUE, cron="40 2 * * *")
async def prune_jobs(context: JobContext, timestamp: int) -> None:
    """Finished jobs are kept 30 days (maintenance ticks one day)."""
    manager = context.app.job_manager
    await manager.delete_old_jobs(nb_hours=KEEP_MAINTENANCE_JOBS_HOURS, queue=MAINTENANCE_QUEUE,
                                  include_failed=True, include_cancelled=True, include_aborted=True)
    await manager.delete_old_jobs(nb_hours=KEEP_JOBS_HOURS, include_failed=True, include_cancelled=True,
                                  include_aborted=True)


# --- scheduled platform tasks ----------------------------------------------------------------------
# Add periodic tasks of other platform modules here (or with `periodic` in the module itself, listed
# in TASK_MODULES). Schedules are UTC.


@periodic("billing.suspend_overdue", "30 0 * * *")  # 07:30 WIB, after midnight UTC has turned the date
async def suspend_overdue_tenants(platform: Platform, timestamp: int) -> dict:
    """Daily: suspend tenants with an invoice unpaid past its due date + grace (billing rules)."""
    from polyflow.platform import billing

    today = datetime.fromtimestamp(timestamp, timezone.utc).date()
    done = await billing.suspend_overdue(platform, today, actor="scheduler")
    return {"date": today.isoformat(), "suspended": [s.tenant for s in done]}


@periodic("identity.housekeeping", "17 * * * *")
async def identity_housekeeping(platform: Platform, timestamp: int) -> dict:
    """Hourly, for every active tenant: ended sessions and old one-time links deleted, pending mail
    sent again (see erp/identity/housekeeping.py). A tenant that fails is logged and skipped."""
    from polyflow.erp.identity.housekeeping import Tidied, tidy

    async with AsyncSession(platform.main_engine) as session:
        subdomains = (await session.scalars(select(Tenant.subdomain).where(Tenant.status == "active")
                                            .order_by(Tenant.subdomain))).all()
    now = datetime.fromtimestamp(timestamp, timezone.utc)
    totals, failed = Tidied(), []
    slots = asyncio.Semaphore(4)  # a few tenants at a time: this is background work

    async def one(subdomain: str) -> None:
        async with slots:
            try:
                route = await platform.routes.get(f"sub:{subdomain}")
                if route is None or route.status != "active":
                    return
                async with platform.engines.lease(route) as engine:
                    done = await tidy(engine, platform.settings, now)
            except Exception as exc:  # one tenant's trouble must not stop the others
                log.warning("identity housekeeping of %s failed: %s", subdomain, exc)
                failed.append(subdomain)
                return
            for key, value in done.as_dict().items():
                setattr(totals, key, getattr(totals, key) + value)

    await asyncio.gather(*(one(sub) for sub in subdomains))
    return {"tenants": len(subdomains), "failed": failed, **totals.as_dict()}


# --- running workers -------------------------------------------------------------------------------


async def run_worker(settings: Settings, *, concurrency: int = 1, queues: list[str] | None = None,
                     name: str = "worker", wait: bool = True, install_signal_handlers: bool = True,
                     graceful_timeout: float | None = 30.0, context: dict | None = None,
                     **options: Any) -> None:
    """Run job workers on the main database until stopped: SIGINT/SIGTERM (when
    ``install_signal_handlers``), cancellation of this coroutine, or, with ``wait=False``, an empty
    queue. Running jobs get ``graceful_timeout`` seconds to finish, then are aborted and retried.

    The process's one Platform is built here, shared by all concurrent jobs and disposed at exit.
    ``context`` adds entries to the job context (tests pass an ``onboarding_hook``).
    """
    async with _main_connection(settings):
        pass  # fail fast with one clear error (the pool would retry for 30 s)
    platform = Platform(settings)
    try:
        await platform.start()
        app = worker_app(settings, pool_size=concurrency + 3)
        async with app.open_async():
            await app.run_worker_async(
                concurrency=concurrency, queues=queues, name=name, wait=wait,
                install_signal_handlers=install_signal_handlers, shutdown_graceful_timeout=graceful_timeout,
                additional_context={"platform": platform,
                                    "onboarding_slots": asyncio.Semaphore(onboarding_capacity(platform)),
                                    **(context or {})}, **options,
            )
    finally:
        await platform.stop()


async def stop_worker(worker: asyncio.Task) -> None:
    """Stop a worker started as a task (graceful: procrastinate lets running jobs finish first)."""
    worker.cancel()
    with suppress(asyncio.CancelledError):
        await worker
