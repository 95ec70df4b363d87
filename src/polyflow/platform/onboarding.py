"""Onboarding a tenant: a persisted, resumable state machine in the main database.

    reserved -> role -> database -> migrated -> seeded -> verified -> active

``tenants.onboarding_step`` is the last step completed. Each step is idempotent, so a process killed
anywhere can simply run the same onboarding again (the CLI command, or the job worker's retry):
it picks up after the last recorded step and redoes at most one. There is never an ``active``
tenant without a complete, verified database, and a database or role always has its registry row
first (``reserved`` is committed before anything is created on a server), so nothing is orphaned
that `polyflow tenants reconcile` cannot see.

The owner's credential (the hash of a one-time password, or an invitation link in the outbox) is
written in the ``active`` step, before the registry says active: an active tenant always has an
owner who can get in. Only the one-time password shown on the terminal can be lost (the process
killed after the commit, before printing it): running the same `tenants create` again issues a
fresh one while the owner has never signed in, and `tenants reset-owner` mails (and prints) a new
invitation link for any live tenant's owner.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets as pysecrets
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Awaitable, Callable

import asyncpg
from sqlalchemy import any_, func, literal, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from polyflow.kit.passwords import hash_password, one_time_password
from polyflow.erp.models import User
from polyflow.erp.seeds import SeedContext, run_seeds
from polyflow.kit.crypto import new_password
from polyflow.kit.db import PgDsn, TenantBase, quote_ident
from polyflow.kit.errors import Conflict, InvalidInput, NotFound, PolyflowError
from polyflow.platform import migrate, templates
from polyflow.platform.models import ONBOARDING_STEPS, DatabaseServer, Plan, PlatformEvent, Tenant
from polyflow.platform.servers import admin_connect, pick_server
from polyflow.platform.tenancy.hosts import subdomain_problem
from polyflow.platform.tenancy.engines import role_limits_sql

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform

log = logging.getLogger(__name__)

StepHook = Callable[[str, str], Awaitable[None] | None]  # (step, "start" | "did" | "done")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


class OnboardingError(PolyflowError):
    status_code = 503


class OnboardingInProgress(Conflict):
    """Another process is running this tenant's onboarding right now (retry later)."""


@dataclass
class OnboardingResult:
    tenant: Tenant
    admin_email: str | None
    admin_password: str | None  # one-time: shown once, only its hash is stored
    from_template: bool
    seconds: float
    resumed: bool = False  # the tenant was already active: only the owner's password was issued again


def validate(name: str, subdomain: str, admin_email: str | None) -> tuple[str, str, str | None]:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput("tenant name must be 1-200 characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name + (admin_email or "")):
        raise InvalidInput("tenant name and admin email must not contain control characters")
    sub = (subdomain or "").strip()
    problem = subdomain_problem(sub)
    if problem:
        raise InvalidInput(f"invalid subdomain '{sub}': {problem}")
    if admin_email is not None:
        admin_email = admin_email.strip()
        if len(admin_email) > 254 or not _EMAIL.fullmatch(admin_email):
            raise InvalidInput(f"invalid admin email '{admin_email}'")
    return name, sub, admin_email


async def _event(session: AsyncSession, tenant_id, action: str, actor: str, **detail) -> None:
    session.add(PlatformEvent(tenant_id=tenant_id, actor=actor, action=action, detail=detail))


async def reserve(platform: "Platform", *, name: str, subdomain: str, admin_email: str | None,
                  plan: str = "trial", server_name: str | None = None, actor: str = "cli") -> Tenant:
    """Step 1: the registry row (status provisioning). Re-reserving an unfinished onboarding resumes it."""
    name, subdomain, admin_email = validate(name, subdomain, admin_email)
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        existing = (
            await session.execute(select(Tenant).where(Tenant.subdomain == subdomain, Tenant.status != "deleted"))
        ).scalar_one_or_none()
        if existing is not None:
            if existing.status in ("provisioning", "failed") and existing.name == name:
                return existing  # the same onboarding, interrupted: carry on
            raise Conflict(f"subdomain '{subdomain}' is already taken")
        plan_row = await session.get(Plan, plan)
        if plan_row is None or not plan_row.is_active:
            raise InvalidInput(f"unknown plan '{plan}'")
        server = await pick_server(session, server_name)
        ident = f"t_{subdomain.replace('-', '_')}_{pysecrets.token_hex(3)}"
        now = datetime.now(timezone.utc)
        tenant = Tenant(
            name=name, subdomain=subdomain, status="provisioning", plan=plan, server=server,
            db_name=ident, db_user=ident, db_password_enc=platform.secrets.encrypt(new_password()),
            admin_email=admin_email, onboarding_step="reserved",
            trial_ends_at=now + timedelta(days=plan_row.trial_days) if plan_row.trial_days else None,
        )
        session.add(tenant)
        try:
            await session.flush()
        except IntegrityError:
            raise Conflict(f"subdomain '{subdomain}' is already taken") from None
        await _event(session, tenant.id, "tenant.reserved", actor, plan=plan, server=server.name)
        await session.commit()
    # A request may have cached "no such tenant" for this name: now it is "being set up" (503).
    await platform.tenant_changed(subdomain)
    return tenant


async def _load(session: AsyncSession, subdomain: str) -> Tenant:
    tenant = (
        await session.execute(select(Tenant).where(Tenant.subdomain == subdomain, Tenant.status != "deleted"))
    ).scalar_one_or_none()
    if tenant is None:
        raise NotFound(f"no tenant '{subdomain}'")
    return tenant


class _Run:
    """One attempt at finishing a reserved tenant. Holds one admin connection to the server and one
    small engine on the tenant's database for all its steps (each new PostgreSQL login costs a
    SCRAM handshake); `close()` releases them."""

    def __init__(self, platform: "Platform", tenant: Tenant, hook: StepHook | None, use_template: bool,
                 issue_password: bool = True):
        self.platform = platform
        self.tenant = tenant
        self.server: DatabaseServer = tenant.server
        self.password = platform.secrets.decrypt(tenant.db_password_enc)
        self.hook = hook
        self.use_template = use_template
        self.issue_password = issue_password
        self.from_template = False
        self.admin_password: str | None = None
        self.invited = False
        self._admin: asyncpg.Connection | None = None
        self._tenant_engine: AsyncEngine | None = None
        self._hashing: tuple[str, asyncio.Future] | None = None

    def start_hashing(self) -> None:
        """Hash the owner's one-time password in a thread while the database is being made: argon2id
        costs ~50 ms of CPU that need not wait for the database."""
        if self.issue_password and self.tenant.admin_email and self._hashing is None:
            password = one_time_password()
            self._hashing = (password, asyncio.ensure_future(asyncio.to_thread(hash_password, password)))

    @property
    def tenant_dsn(self) -> PgDsn:
        return PgDsn(self.server.host, self.server.port, self.tenant.db_user, self.password, self.tenant.db_name)

    async def admin(self) -> asyncpg.Connection:
        if self._admin is None or self._admin.is_closed():
            self._admin = await admin_connect(self.server, self.platform.secrets)
        return self._admin

    def tenant_engine(self) -> AsyncEngine:
        if self._tenant_engine is None:
            # Migrations and seeds may take longer than a request may: lift the role's limits here.
            self._tenant_engine = create_async_engine(
                self.tenant_dsn.url(), pool_size=1, max_overflow=0,
                connect_args={"server_settings": {"statement_timeout": "0",
                                                  "idle_in_transaction_session_timeout": "0"}})
        return self._tenant_engine

    async def close(self) -> None:
        if self._hashing is not None and not self._hashing[1].done():
            await asyncio.wait([self._hashing[1]])  # never leave a thread's result unobserved
        if self._admin is not None:
            await self._admin.close()
        if self._tenant_engine is not None:
            await self._tenant_engine.dispose()

    async def _fire(self, step: str, phase: str) -> None:
        if self.hook is not None:
            result = self.hook(step, phase)
            if result is not None:
                await result

    # -- steps: each is idempotent ------------------------------------------------------------
    async def role(self) -> None:
        conn = await self.admin()
        role = quote_ident(self.tenant.db_user)
        exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", self.tenant.db_user)
        verb = "ALTER" if exists else "CREATE"
        # DDL takes no bind parameters: the name is generated and quoted, the password is URL-safe.
        await conn.execute(f"{verb} ROLE {role} LOGIN PASSWORD '{self.password}' "
                           "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION")
        for statement in role_limits_sql(role, self.platform.settings):
            await conn.execute(statement)

    async def database(self) -> None:
        conn = await self.admin()
        db, role = quote_ident(self.tenant.db_name), quote_ident(self.tenant.db_user)
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", self.tenant.db_name):
            if self.use_template and await templates.claim_spare(conn, self.tenant.db_name):
                self.from_template = True
            template = None
            if self.use_template and not self.from_template:
                template = await templates.ensure_template(self.server, self.platform.secrets, conn)
            if template is not None:
                try:
                    await conn.execute(f"CREATE DATABASE {db} TEMPLATE {quote_ident(template)} OWNER {role}")
                    self.from_template = True
                except asyncpg.ObjectInUseError:
                    log.warning("template %s is busy; migrating %s from scratch", template, self.tenant.subdomain)
            if not self.from_template:
                await conn.execute(f"CREATE DATABASE {db} OWNER {role}")
        await conn.execute(f"ALTER DATABASE {db} OWNER TO {role}")  # a claimed spare belongs to the admin
        # Only the tenant's own role (and the server admin) may connect.
        await conn.execute(f"REVOKE ALL ON DATABASE {db} FROM PUBLIC")
        await conn.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {role}")

    async def migrated(self) -> None:
        if self.from_template or self.use_template:
            # The tenant role's first login (a SCRAM handshake) overlaps the hand-over below.
            warm = asyncio.ensure_future(self._warm_tenant_engine())
            try:
                # A clone's objects belong to the template role until handed over (a no-op otherwise).
                await templates.adopt_clone(self.server, self.platform.secrets, self.tenant.db_name,
                                            self.tenant.db_user)
            finally:
                await asyncio.wait([warm])
        self.tenant.schema_revision = await migrate.upgrade(self.tenant_engine(), "tenant")

    async def _warm_tenant_engine(self) -> None:
        try:
            async with self.tenant_engine().connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:  # only a head start: the real use reports any problem
            pass

    async def seeded(self) -> None:
        ctx = SeedContext(tenant_name=self.tenant.name, subdomain=self.tenant.subdomain,
                          admin_email=self.tenant.admin_email)
        async with AsyncSession(self.tenant_engine()) as session, session.begin():
            # A clone of a template seeded by this code has them already (and they are idempotent).
            if not await templates.has_reference_seeds(session):
                await run_seeds(session, "reference", ctx)
            await run_seeds(session, "tenant", ctx)

    async def verified(self) -> None:
        async with self.tenant_engine().connect() as conn:
            revision = await migrate.current_revision(conn)
            if revision != migrate.head("tenant"):
                raise OnboardingError(f"database is at revision {revision}, expected {migrate.head('tenant')}")
            tables = set((await conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
            ))).scalars())
            missing = set(TenantBase.metadata.tables) - tables
            if missing:
                raise OnboardingError(f"tables missing or not owned by the tenant role: {sorted(missing)}")
            if not await conn.scalar(text("SELECT count(*) FROM units")):
                raise OnboardingError("reference data missing (units)")
            if self.tenant.admin_email and not await conn.scalar(
                select(func.count()).select_from(User).where(func.lower(User.email) == self.tenant.admin_email.lower())
            ):
                raise OnboardingError("first admin user missing")

    async def active(self) -> None:
        # The owner's credential first, in the tenant's database: if the process dies before the
        # registry commit, the rerun redoes this step (a fresh credential replaces this one).
        await self.owner_credential()
        self.tenant.status = "active"
        self.tenant.activated_at = datetime.now(timezone.utc)

    async def owner_credential(self) -> None:
        """The owner's way in: a one-time password (only its argon2 hash is stored) or, for an
        API-started onboarding, an invitation link queued in the tenant's outbox."""
        if not self.tenant.admin_email:
            return
        if not self.issue_password:
            from polyflow.erp.identity.service import link_base, send_invite

            async with AsyncSession(self.tenant_engine(), expire_on_commit=False) as session, session.begin():
                user = await _owner_user(session, self.tenant.admin_email)
                await send_invite(session, self.platform.settings, user, workspace=self.tenant.name,
                                  base=link_base(self.tenant, self.platform.settings))
            self.invited = True
            return
        self.start_hashing()
        password, hashing = self._hashing
        hashed = await hashing
        async with AsyncSession(self.tenant_engine()) as session, session.begin():
            user = await _owner_user(session, self.tenant.admin_email)
            user.password_hash = hashed
            user.must_change_password = True
        self.admin_password = password
        self._hashing = None  # used: a redone step hashes a new one

    async def deliver_mail(self) -> None:
        """Send the invitation queued by the ``active`` step (after the commit; if this fails or the
        process dies, it waits in the outbox for the housekeeping's retry)."""
        from polyflow.erp.identity import outbox

        try:
            await outbox.deliver(self.tenant_engine(), outbox.sender_for(self.platform.settings))
        except Exception as exc:
            log.warning("mail to the owner of %s stays in its outbox: %s", self.tenant.subdomain, exc)


async def _owner_user(session: AsyncSession, email: str) -> User:
    user = await session.scalar(select(User).where(func.lower(User.email) == email.lower()))
    if user is None:
        raise OnboardingError(f"the owner {email} is missing from the tenant's database")
    return user


async def _record_failure(platform: "Platform", session: AsyncSession, tenant_id, step: str, exc: Exception,
                          actor: str) -> None:
    """A failed step: the tenant stays, `failed`, with the error, to be resumed (same command, job
    retry) or abandoned. (`onboard` forgets a reservation that never reached its server.)"""
    tenant = await session.get(Tenant, tenant_id)
    tenant.status = "failed"
    tenant.onboarding_error = f"{step}: {type(exc).__name__}: {exc}"[:2000]
    await _event(session, tenant.id, "tenant.onboarding_failed", actor, step=step, error=str(exc)[:500])
    await session.commit()
    await platform.tenant_changed(tenant.subdomain)


@asynccontextmanager
async def onboarding_lock(platform: "Platform", subdomain: str):
    """One onboarding run per tenant at a time, across processes (a session advisory lock on the
    main database, released by PostgreSQL if the process dies)."""
    key = "polyflow-onboard:" + subdomain
    async with platform.main_engine.connect() as conn:
        got = await conn.scalar(text("SELECT pg_try_advisory_lock(hashtext(:k))"), {"k": key})
        await conn.commit()
        if not got:
            raise OnboardingInProgress(f"onboarding of '{subdomain}' is already running")
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": key})
            await conn.commit()


async def run(platform: "Platform", subdomain: str, *, hook: StepHook | None = None, use_template: bool = True,
              actor: str = "cli", issue_password: bool = True) -> OnboardingResult:
    """Finish onboarding a reserved tenant from its last completed step.

    ``issue_password=False`` (API-started onboarding): the owner gets in through the invite/reset
    flow instead, and no password that nobody will ever see is hashed and stored.
    """
    async with onboarding_lock(platform, subdomain):
        return await _run_locked(platform, subdomain, hook, use_template, actor, issue_password)


async def _run_locked(platform: "Platform", subdomain: str, hook: StepHook | None, use_template: bool,
                      actor: str, issue_password: bool) -> OnboardingResult:
    started = time.perf_counter()
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        tenant = await _load(session, subdomain)
        if tenant.status == "active":
            raise Conflict(f"tenant '{subdomain}' is already active")
        if tenant.status not in ("provisioning", "failed"):
            raise Conflict(f"tenant '{subdomain}' is {tenant.status}, not being onboarded")
        tenant.onboarding_attempts += 1
        tenant.status = "provisioning"
        await session.commit()

        attempt = _Run(platform, tenant, hook, use_template, issue_password)
        attempt.start_hashing()
        try:
            done = ONBOARDING_STEPS.index(tenant.onboarding_step or "reserved")
            for step in ONBOARDING_STEPS[done + 1:]:
                await attempt._fire(step, "start")
                try:
                    await getattr(attempt, step)()
                    await attempt._fire(step, "did")  # work done, not yet recorded (tests crash here)
                except Exception as exc:
                    await session.rollback()
                    await _record_failure(platform, session, tenant.id, step, exc, actor)
                    if isinstance(exc, PolyflowError):
                        raise
                    raise OnboardingError(f"onboarding '{subdomain}' failed at step '{step}': {exc}") from exc
                tenant.onboarding_step = step
                tenant.onboarding_error = None
                if step == "active":
                    await _event(session, tenant.id, "tenant.activated", actor, from_template=attempt.from_template)
                await session.commit()
                await attempt._fire(step, "done")
            await platform.tenant_changed(subdomain, tenant_id=tenant.id)
            if attempt.invited:
                await attempt.deliver_mail()
        finally:
            await attempt.close()
    return OnboardingResult(tenant, tenant.admin_email, attempt.admin_password, attempt.from_template,
                            time.perf_counter() - started)


async def onboard(platform: "Platform", *, name: str, subdomain: str, admin_email: str | None = None,
                  plan: str = "trial", server_name: str | None = None, hook: StepHook | None = None,
                  use_template: bool = True, actor: str = "cli") -> OnboardingResult:
    """Reserve and finish a tenant in one go (the CLI path; the API defers `run` to a job).

    Run again with the same name, subdomain and owner after the tenant became active, it issues the
    owner a fresh one-time password as long as the owner has never signed in (the first run may have
    died before showing it); otherwise the subdomain is taken.
    """
    try:
        tenant = await reserve(platform, name=name, subdomain=subdomain, admin_email=admin_email, plan=plan,
                               server_name=server_name, actor=actor)
    except Conflict:
        again = await _rerun_of_finished(platform, name, subdomain, admin_email, actor)
        if again is None:
            raise
        return again
    try:
        return await run(platform, subdomain, hook=hook, use_template=use_template, actor=actor)
    except OnboardingInProgress:
        raise
    except Exception:
        # Nothing was created on a server (e.g. it is unreachable): leave nothing behind either.
        async with AsyncSession(platform.main_engine) as session:
            step = await session.scalar(select(Tenant.onboarding_step).where(Tenant.id == tenant.id))
        if step == "reserved":
            await abandon(platform, subdomain, actor=actor, drop=False)
        raise


async def _rerun_of_finished(platform: "Platform", name: str, subdomain: str, admin_email: str | None,
                             actor: str) -> OnboardingResult | None:
    """The same onboarding run again after it finished: a fresh one-time password for an owner who
    has never signed in (None: not the same onboarding, or nothing to finish)."""
    started = time.perf_counter()
    name, subdomain, admin_email = validate(name, subdomain, admin_email)
    if not admin_email:
        return None
    async with onboarding_lock(platform, subdomain):
        async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
            tenant = (await session.execute(
                select(Tenant).where(Tenant.subdomain == subdomain, Tenant.status == "active"))).scalar_one_or_none()
            if (tenant is None or tenant.name != name or (tenant.admin_email or "").lower() != admin_email.lower()):
                return None
            attempt = _Run(platform, tenant, None, True)
            try:
                async with AsyncSession(attempt.tenant_engine()) as tsession:
                    owner = await _owner_user(tsession, admin_email)
                    if owner.last_login_at is not None or not owner.must_change_password:
                        raise Conflict(f"subdomain '{subdomain}' is already taken (its owner has signed in; "
                                       f"`polyflow tenants reset-owner {subdomain}` sends a new link)")
                await attempt.owner_credential()
            finally:
                await attempt.close()
            await _event(session, tenant.id, "tenant.owner_password_reissued", actor, email=admin_email,
                         reason="onboarding run again after it finished")
            await session.commit()
    return OnboardingResult(tenant, admin_email, attempt.admin_password, False, time.perf_counter() - started,
                            resumed=True)


@dataclass
class OwnerReset:
    subdomain: str
    email: str
    link: str  # one-time invitation link (also queued as mail to the owner)


async def reset_owner(platform: "Platform", subdomain: str, *, email: str | None = None,
                      actor: str = "cli") -> OwnerReset:
    """A fresh one-time link for a live tenant's owner to choose a password (mailed, and returned for
    the operator); an older unused link stops working. Recorded in platform_events."""
    from polyflow.erp.identity.service import link_base, send_invite
    from polyflow.platform.provisioning import maintenance_engine, tenant_dsn

    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        tenant = await _load(session, subdomain)
        if tenant.status in ("provisioning", "failed"):
            raise Conflict(f"tenant '{subdomain}' has not finished onboarding: run the same `polyflow tenants "
                           "create` again (or `polyflow tenants reconcile --fix`)")
        if tenant.status not in ("active", "suspended"):
            raise Conflict(f"tenant '{subdomain}' is {tenant.status}: it has no database to sign in to")
        engine = maintenance_engine(tenant_dsn(tenant, platform.secrets))
        try:
            async with AsyncSession(engine, expire_on_commit=False) as tsession, tsession.begin():
                owner = await _pick_owner(tsession, email or None, tenant.admin_email)
                link = await send_invite(tsession, platform.settings, owner, workspace=tenant.name,
                                         base=link_base(tenant, platform.settings))
            from polyflow.erp.identity import outbox

            try:
                await outbox.deliver(engine, outbox.sender_for(platform.settings))
            except Exception as exc:  # the link is printed anyway; the mail waits in the outbox
                log.warning("mail to the owner of %s stays in its outbox: %s", subdomain, exc)
        finally:
            await engine.dispose()
        await _event(session, tenant.id, "tenant.owner_reset", actor, email=owner.email)
        await session.commit()
    return OwnerReset(subdomain, owner.email, link)


async def _pick_owner(session: AsyncSession, email: str | None, admin_email: str | None) -> User:
    """The named owner, else the onboarding's owner if still an active owner, else the oldest active owner."""
    owners = select(User).where(User.is_active.is_(True), literal("owner") == any_(User.roles))
    if email is not None:
        user = await session.scalar(owners.where(func.lower(User.email) == email.strip().lower()))
        if user is None:
            raise NotFound(f"no active owner with email {email.strip()}")
        return user
    if admin_email:
        user = await session.scalar(owners.where(func.lower(User.email) == admin_email.lower()))
        if user is not None:
            return user
    user = await session.scalar(owners.order_by(User.created_at, User.id).limit(1))
    if user is None:
        raise NotFound("the tenant has no active owner; name one with --email")
    return user


async def refill_spares(platform: "Platform", server_name: str | None = None) -> int:
    """Top up the warm spare databases on one server (default: every active server). Off the
    critical path: call it after an onboarding has answered. Failures are logged, not raised."""
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        stmt = select(DatabaseServer).where(DatabaseServer.is_active)
        if server_name:
            stmt = stmt.where(DatabaseServer.name == server_name)
        servers = (await session.execute(stmt)).scalars().all()
    made = 0
    for server in servers:
        try:
            made += await templates.refill_spares(server, platform.secrets, platform.settings.spare_databases)
        except Exception as exc:
            log.warning("refilling spare databases on %s failed: %s", server.name, exc)
    return made


async def abandon(platform: "Platform", subdomain: str, actor: str = "cli", *, drop: bool = True) -> None:
    """Remove an unfinished onboarding entirely: database, role and registry row.

    ``drop=False``: only the row (nothing was created on the server, which may be unreachable).
    """
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        tenant = await _load(session, subdomain)
        if tenant.status not in ("provisioning", "failed"):
            raise Conflict(f"tenant '{subdomain}' is {tenant.status}; only an unfinished onboarding can be abandoned")
        if drop:
            await drop_database_and_role(platform, tenant.server, tenant.db_name, tenant.db_user)
        await session.delete(tenant)
        await session.commit()
    await platform.tenant_changed(subdomain)


async def drop_database_and_role(platform: "Platform", server: DatabaseServer, db_name: str, role: str) -> None:
    conn = await admin_connect(server, platform.secrets)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(db_name)} WITH (FORCE)")
        await conn.execute(f"DROP ROLE IF EXISTS {quote_ident(role)}")
    finally:
        await conn.close()
