"""Admin JSON API for tenants (admin host only): onboarding through the job queue, status, suspend/resume.

    POST   /admin/api/tenants                          reserve + queue onboarding -> 202, status URL
    GET    /admin/api/tenants[?status=...]             list
    GET    /admin/api/tenants/{subdomain}              status, onboarding progress (step, attempts, error, job)
    POST   /admin/api/tenants/{subdomain}/onboarding   resume an unfinished onboarding -> 202
    DELETE /admin/api/tenants/{subdomain}/onboarding   abandon it: stop its job, drop database and role
    POST   /admin/api/tenants/{subdomain}/suspend      {"reason": ...} optional
    POST   /admin/api/tenants/{subdomain}/resume

Every route needs the operator token or a super-admin's session (admin/auth.py); every change is
recorded in `platform_events` with the actor. No owner password is produced here: an API-created
owner is mailed an invitation to choose one (``admin_email``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from polyflow.kit.errors import Conflict, InvalidInput, NotFound, Unavailable
from polyflow.kit.pagination import Page, PageParams, page_params
from polyflow.platform import jobs, onboarding
from polyflow.platform.admin.auth import Operator, require_operator
from polyflow.platform.models import TENANT_STATUSES, DatabaseServer, PlatformEvent, Tenant
from polyflow.platform.runtime import Platform
from polyflow.platform.servers import admin_connect

router = APIRouter(prefix="/admin/api/tenants", tags=["admin: tenants"], dependencies=[Depends(require_operator)])

# Any name a tenant could ever have had (looser than the rules for new ones: reserved names change).
_SUBDOMAIN_SYNTAX = re.compile(r"^[a-z0-9-]{1,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# --- schemas ---------------------------------------------------------------------------------------


class TenantCreate(BaseModel):
    """A new tenant; the rules for each field are `onboarding.validate`'s (422 with the reason)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=1000)
    subdomain: str = Field(max_length=1000)
    admin_email: str = Field(max_length=1000)
    plan: str = Field("trial", max_length=40)
    server: str | None = Field(None, max_length=63)

    @field_validator("name", "subdomain", "admin_email", "plan", "server")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        # PostgreSQL text cannot hold NUL; other control characters have no business in these either.
        if v is not None and _CONTROL.search(v):
            raise ValueError("control characters are not allowed")
        return v


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500)

    @field_validator("reason")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        if v is not None and "\x00" in v:
            raise ValueError("NUL characters are not allowed")
        return v


class Accepted(BaseModel):
    subdomain: str
    status: str
    job_id: int
    status_url: str


class JobOut(BaseModel):
    id: int
    status: str
    attempts: int
    scheduled_at: datetime | None


class OnboardingOut(BaseModel):
    step: str | None  # last step completed: reserved, role, database, migrated, seeded, verified, active
    attempts: int
    error: str | None
    job: JobOut | None  # the newest onboarding job (queue status), if the API started one


class TenantOut(BaseModel):
    subdomain: str
    name: str
    status: str
    plan: str
    server: str
    created_at: datetime
    activated_at: datetime | None
    onboarding_step: str | None


class TenantDetail(TenantOut):
    status_reason: str | None
    admin_email: str | None  # the owner; sets a password through invite / password reset
    domains: list[str]
    schema_revision: str | None
    trial_ends_at: datetime | None
    archived_at: datetime | None
    onboarding: OnboardingOut


class Abandoned(BaseModel):
    subdomain: str
    abandoned: bool = True


# --- service (reads and the events this API records) -----------------------------------------------


def _out(t: Tenant) -> dict:
    return dict(subdomain=t.subdomain, name=t.name, status=t.status, plan=t.plan, server=t.server.name,
                created_at=t.created_at, activated_at=t.activated_at, onboarding_step=t.onboarding_step)


def _check_name(subdomain: str) -> None:
    if not _SUBDOMAIN_SYNTAX.fullmatch(subdomain):
        raise NotFound(f"no tenant '{subdomain[:63]}'")


async def get_tenant(session: AsyncSession, subdomain: str) -> Tenant:
    """The live (not deleted) tenant with this subdomain, or 404."""
    _check_name(subdomain)
    tenant = (await session.execute(
        select(Tenant).where(Tenant.subdomain == subdomain, Tenant.status != "deleted")
        .options(selectinload(Tenant.domains))
    )).scalar_one_or_none()
    if tenant is None:
        raise NotFound(f"no tenant '{subdomain}'")
    return tenant


async def tenant_detail(session: AsyncSession, subdomain: str) -> TenantDetail:
    """A tenant's status and onboarding progress."""
    t = await get_tenant(session, subdomain)
    job = await jobs.latest_onboarding_job(session, subdomain)
    return TenantDetail(
        **_out(t), status_reason=t.status_reason, admin_email=t.admin_email,
        domains=sorted(d.domain for d in t.domains), schema_revision=t.schema_revision,
        trial_ends_at=t.trial_ends_at, archived_at=t.archived_at,
        onboarding=OnboardingOut(step=t.onboarding_step, attempts=t.onboarding_attempts, error=t.onboarding_error,
                                 job=JobOut(**vars(job)) if job else None),
    )


async def list_tenants(session: AsyncSession, *, status: str | None, limit: int, offset: int) -> tuple[list[TenantOut], int]:
    """Tenants by subdomain; deleted ones only when asked for by status."""
    where = [Tenant.status == status] if status else [Tenant.status != "deleted"]
    total = await session.scalar(select(func.count()).select_from(Tenant).where(*where))
    rows = (await session.execute(
        select(Tenant).where(*where).order_by(Tenant.subdomain, Tenant.created_at).limit(limit).offset(offset)
    )).scalars().all()
    return [TenantOut(**_out(t)) for t in rows], total or 0


# --- the console's tenants table ------------------------------------------------------------------


@dataclass
class TenantRow:
    """One line of the console's tenants table: the registry's facts and the database's live ones."""

    subdomain: str
    name: str
    status: str
    plan: str
    server: str
    schema_revision: str | None
    created_at: datetime
    db_size: int | None = None  # bytes; None: no database (archived) or its server did not answer
    connections: int | None = None  # open sessions on the tenant's database (the app's pool included)
    last_activity: datetime | None = None  # newest of: a session's last state change, a platform event


# Sorts the registry can do in SQL; the live figures are sorted after they were read.
TABLE_SORTS = {"subdomain": Tenant.subdomain, "name": Tenant.name, "status": Tenant.status, "plan": Tenant.plan,
               "server": DatabaseServer.name, "revision": Tenant.schema_revision, "created": Tenant.created_at}
LIVE_SORTS = ("size", "connections", "activity")
_LIVE_KEY = {"size": "db_size", "connections": "connections", "activity": "last_activity"}
_DB_STATS = """
SELECT d.datname, pg_database_size(d.oid) AS size, count(a.pid) AS connections, max(a.state_change) AS active_at
FROM pg_database d LEFT JOIN pg_stat_activity a ON a.datid = d.oid
WHERE d.datname = ANY($1::text[])
GROUP BY d.datname, d.oid
"""


async def database_stats(platform: Platform, wanted: dict[uuid.UUID, tuple[DatabaseServer, list[str]]]
                         ) -> tuple[dict[tuple[uuid.UUID, str], tuple[int, int, datetime | None]], list[str]]:
    """Size, open connections and last activity of these databases: one query per server (never one per
    tenant). A server that does not answer is a warning, and its tenants' figures stay unknown."""
    stats: dict[tuple[uuid.UUID, str], tuple[int, int, datetime | None]] = {}
    warnings: list[str] = []
    for server_id, (server, names) in wanted.items():
        try:
            conn = await admin_connect(server, platform.secrets)
        except Unavailable as exc:
            warnings.append(exc.message)
            continue
        try:
            for row in await conn.fetch(_DB_STATS, names):
                stats[(server_id, row["datname"])] = (row["size"], row["connections"], row["active_at"])
        except asyncpg.PostgresError as exc:
            warnings.append(f"database server '{server.name}' could not report its databases: {exc}")
        finally:
            await conn.close()
    return stats, warnings


def _search(q: str):
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(Tenant.subdomain.ilike(pattern), Tenant.name.ilike(pattern), Tenant.admin_email.ilike(pattern))


async def tenant_table(platform: Platform, *, q: str = "", status: str = "", plan: str = "", server: str = "",
                       sort: str = "subdomain", desc: bool = False, limit: int = 50, offset: int = 0,
                       ) -> tuple[list[TenantRow], int, list[str]]:
    """One page of the tenants table (filters, search, sort), with each database's size, connections and
    last activity read from its server; returns (rows, total, warnings). Deleted tenants only by status."""
    where = [Tenant.status == status] if status else [Tenant.status != "deleted"]
    if plan:
        where.append(Tenant.plan == plan)
    if server:
        where.append(DatabaseServer.name == server)
    if q:
        where.append(_search(q))
    live = sort in LIVE_SORTS
    async with AsyncSession(platform.main_engine) as session:
        base = select(Tenant).join(DatabaseServer, DatabaseServer.id == Tenant.server_id).where(*where)
        total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0
        column = TABLE_SORTS.get(sort, Tenant.subdomain)
        query = base.order_by(column.desc().nulls_last() if desc else column.asc().nulls_last(), Tenant.subdomain)
        if not live:  # the live figures are not in the registry: those sorts read every matching tenant
            query = query.limit(limit).offset(offset)
        tenants = (await session.execute(query)).scalars().all()
        ids = [t.id for t in tenants]
        events = dict((await session.execute(
            select(PlatformEvent.tenant_id, func.max(PlatformEvent.created_at))
            .where(PlatformEvent.tenant_id.in_(ids)).group_by(PlatformEvent.tenant_id))).all()) if ids else {}
    wanted: dict[uuid.UUID, tuple[DatabaseServer, list[str]]] = {}
    for t in tenants:
        if t.status not in ("archived", "deleted"):
            wanted.setdefault(t.server_id, (t.server, []))[1].append(t.db_name)
    stats, warnings = await database_stats(platform, wanted)
    rows = []
    for t in tenants:
        size, connections, active_at = stats.get((t.server_id, t.db_name), (None, None, None))
        moments = [m for m in (active_at, events.get(t.id)) if m is not None]
        rows.append(TenantRow(t.subdomain, t.name, t.status, t.plan, t.server.name, t.schema_revision, t.created_at,
                              size, connections, max(moments) if moments else None))
    if live:
        key = _LIVE_KEY[sort]
        known = sorted((r for r in rows if getattr(r, key) is not None), key=lambda r: getattr(r, key), reverse=desc)
        rows = (known + [r for r in rows if getattr(r, key) is None])[offset:offset + limit]
    return rows, total, warnings


@dataclass
class EventRow:
    """One line of the platform audit log, as the console lists it."""

    at: datetime
    actor: str
    action: str
    tenant: str | None  # the tenant's subdomain (None: a platform-wide event, or the tenant row is gone)
    detail: dict


async def audit_log(session: AsyncSession, *, actor: str = "", action: str = "", tenant: str = "",
                    since: datetime | None = None, until: datetime | None = None, desc: bool = True,
                    limit: int = 50, offset: int = 0) -> tuple[list[EventRow], int]:
    """Platform events, newest first (or oldest with ``desc=False``), filtered by actor and action (prefixes,
    e.g. ``admin:`` or ``tenant.``), tenant subdomain and a time range; returns (rows, total)."""
    where = []
    if actor:
        where.append(PlatformEvent.actor.startswith(actor, autoescape=True))
    if action:
        where.append(PlatformEvent.action.startswith(action, autoescape=True))
    if tenant:
        where.append(Tenant.subdomain == tenant)
    if since is not None:
        where.append(PlatformEvent.created_at >= since)
    if until is not None:
        where.append(PlatformEvent.created_at < until)
    base = select(PlatformEvent, Tenant.subdomain).outerjoin(Tenant, Tenant.id == PlatformEvent.tenant_id).where(*where)
    total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0
    order = (PlatformEvent.created_at.desc(), PlatformEvent.id.desc()) if desc else \
        (PlatformEvent.created_at, PlatformEvent.id)
    rows = (await session.execute(base.order_by(*order).limit(limit).offset(offset))).all()
    return [EventRow(e.created_at, e.actor, e.action, sub, e.detail or {}) for e, sub in rows], total


async def record_event(platform: Platform, tenant_id, action: str, actor: str, **detail) -> None:
    """One line of the platform audit log, in its own transaction (after the action succeeded)."""
    async with AsyncSession(platform.main_engine) as session:
        session.add(PlatformEvent(tenant_id=tenant_id, actor=actor, action=action, detail=detail))
        await session.commit()


async def change_status(platform: Platform, subdomain: str, actor: str, *, to: str, allowed_from: str,
                        reason: str | None, action: str, rule: str) -> None:
    """Move a live tenant from ``allowed_from`` to ``to`` (already ``to``: nothing to do), with its
    event, in one transaction under the row lock; then every process drops the cached route.

    Not `provisioning.set_status`: that one checks no transition (suspending a tenant being
    onboarded, or one archived a moment ago, would overwrite its status) and fails on a subdomain
    that also has deleted tombstones; the cache invalidation is the same `tenant_changed` call."""
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        _check_name(subdomain)
        tenant = (await session.execute(
            select(Tenant).where(Tenant.subdomain == subdomain, Tenant.status != "deleted")
            .options(selectinload(Tenant.domains)).with_for_update(of=Tenant)
        )).scalar_one_or_none()
        if tenant is None:
            raise NotFound(f"no tenant '{subdomain}'")
        if tenant.status == to:
            return
        if tenant.status != allowed_from:
            raise Conflict(f"tenant '{subdomain}' is {tenant.status}; {rule}")
        tenant.status, tenant.status_reason = to, reason
        session.add(PlatformEvent(tenant_id=tenant.id, actor=actor, action=action, detail={"reason": reason}))
        await session.commit()
    await platform.tenant_changed(subdomain, [d.domain for d in tenant.domains], tenant.id)


# --- routes ----------------------------------------------------------------------------------------


def _platform(request: Request) -> Platform:
    return request.app.state.platform


async def queue_onboarding(platform: Platform, tenant: Tenant, actor: str) -> int:
    """Queue a reserved tenant's onboarding job (or find the one already queued); the event when queued now."""
    job_id, queued = await jobs.defer_onboarding(platform.settings, tenant.subdomain, requested_by=actor)
    if queued:
        await record_event(platform, tenant.id, "tenant.onboarding_queued", actor, job_id=job_id)
    return job_id


async def _queue(request: Request, response: Response, tenant: Tenant, actor: str) -> Accepted:
    job_id = await queue_onboarding(_platform(request), tenant, actor)
    url = str(request.url_for("get_tenant_status", subdomain=tenant.subdomain))
    response.headers["Location"] = url
    return Accepted(subdomain=tenant.subdomain, status=tenant.status, job_id=job_id, status_url=url)


@router.post("", status_code=202, response_model=Accepted)
async def create_tenant(request: Request, response: Response, body: TenantCreate, actor: Operator):
    """Reserve a tenant and queue its onboarding; poll the returned status URL for progress."""
    try:
        tenant = await onboarding.reserve(
            _platform(request), name=body.name, subdomain=body.subdomain, admin_email=body.admin_email,
            plan=body.plan, server_name=body.server, actor=actor,
        )
    except NotFound as exc:  # an unknown server is a mistake in the request, not a missing resource
        raise InvalidInput(exc.message) from None
    return await _queue(request, response, tenant, actor)


@router.get("", response_model=Page[TenantOut])
async def list_tenants_route(
    request: Request,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[Literal[TENANT_STATUSES] | None, Query(description="Only tenants with this status")] = None,
):
    """List tenants (not deleted ones unless ``status=deleted``)."""
    async with AsyncSession(_platform(request).main_engine) as session:
        items, total = await list_tenants(session, status=status, limit=page.limit, offset=page.offset)
    return Page[TenantOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{subdomain}", response_model=TenantDetail)
async def get_tenant_status(request: Request, subdomain: str):
    """A tenant's status and onboarding progress (step, attempts, error, job)."""
    async with AsyncSession(_platform(request).main_engine) as session:
        return await tenant_detail(session, subdomain)


@router.post("/{subdomain}/onboarding", status_code=202, response_model=Accepted)
async def resume_onboarding(request: Request, response: Response, subdomain: str, actor: Operator):
    """Queue an unfinished (provisioning or failed) onboarding again, e.g. after its retries ran out."""
    async with AsyncSession(_platform(request).main_engine) as session:
        tenant = await get_tenant(session, subdomain)
    if tenant.status not in jobs.UNFINISHED:
        raise Conflict(f"tenant '{subdomain}' is {tenant.status}, not being onboarded")
    return await _queue(request, response, tenant, actor)


@router.delete("/{subdomain}/onboarding", response_model=Abandoned)
async def abandon_onboarding(request: Request, subdomain: str, actor: Operator):
    """Abandon an unfinished onboarding: stop its job, drop its database and role, forget the name."""
    platform = _platform(request)
    async with AsyncSession(platform.main_engine) as session:
        tenant = await get_tenant(session, subdomain)
    if tenant.status not in jobs.UNFINISHED:
        raise Conflict(f"tenant '{subdomain}' is {tenant.status}; only an unfinished onboarding can be abandoned")
    await jobs.stop_onboarding_jobs(platform.settings, subdomain)
    await onboarding.abandon(platform, subdomain, actor=actor)
    # The registry row is gone: the event keeps the name and the old id.
    await record_event(platform, None, "tenant.onboarding_abandoned", actor, subdomain=subdomain,
                       former_id=str(tenant.id), step=tenant.onboarding_step)
    return Abandoned(subdomain=subdomain)


async def _change_status(request: Request, subdomain: str, actor: str, **change) -> TenantDetail:
    platform = _platform(request)
    await change_status(platform, subdomain, actor, **change)
    async with AsyncSession(platform.main_engine) as session:
        return await tenant_detail(session, subdomain)


@router.post("/{subdomain}/suspend", response_model=TenantDetail)
async def suspend_tenant(request: Request, subdomain: str, actor: Operator, body: StatusChange | None = None):
    """Refuse all requests to an active tenant (every app process within a second)."""
    return await _change_status(request, subdomain, actor, to="suspended", allowed_from="active",
                                reason=(body.reason if body else None) or "suspended by an operator",
                                action="tenant.suspended", rule="only an active tenant can be suspended")


@router.post("/{subdomain}/resume", response_model=TenantDetail)
async def resume_tenant(request: Request, subdomain: str, actor: Operator):
    """Serve a suspended tenant again."""
    return await _change_status(request, subdomain, actor, to="active", allowed_from="suspended",
                                reason=None, action="tenant.resumed", rule="only a suspended tenant can be resumed")
