"""Plans and module entitlements (main database).

A tenant may use a module only if it is entitled to it (**denied by default**):

    entitled = plan.modules (while the plan is usable)  ∪  tenant_modules not expired

A plan with ``trial_days > 0`` is a trial plan: its modules are usable until ``tenants.trial_ends_at``
(no end date set means no end). Other plans have no end. Grants (``tenant_modules``) add modules on top
of the plan, each until its ``expires_at`` (null: no end).

The result is computed when the route is loaded (`tenancy.registry`) and carried in the cached
`TenantRoute` with the end time of each module, so a request checks it against the clock without any
query (`erp.identity.auth.check_permission`). Every change here calls `Platform.tenant_changed`, so all
processes reload the route within a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import selectinload

from polyflow.kit.errors import InvalidInput, NotFound
from polyflow.platform.models import Plan, PlatformEvent, Tenant, TenantModule

# The pure rules live in entitlement_rules (the registry needs them without these services); re-exported
# so that callers keep importing them from here.
from polyflow.platform.entitlement_rules import (  # noqa: F401
    MODULES, PlanLimitReached, check_user_limit, compute_entitlements, denial,
)

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform


# -- read models ----------------------------------------------------------------------------------------
@dataclass
class PlanInfo:
    code: str
    name: str
    monthly_price: Decimal
    max_users: int | None
    modules: list[str]
    trial_days: int
    is_active: bool

    @classmethod
    def of(cls, p: Plan) -> "PlanInfo":
        return cls(p.code, p.name, p.monthly_price, p.max_users, list(p.modules or ()), p.trial_days, p.is_active)

    def as_json(self) -> dict:
        return {**self.__dict__, "monthly_price": str(self.monthly_price)}


@dataclass
class ModuleEntitlement:
    module: str
    source: str  # "plan", "grant" or "plan+grant"
    until: datetime | None
    active: bool


@dataclass
class Entitlements:
    subdomain: str
    plan: str
    plan_is_trial: bool
    trial_ends_at: datetime | None
    max_users: int | None
    modules: list[ModuleEntitlement] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "subdomain": self.subdomain, "plan": self.plan, "plan_is_trial": self.plan_is_trial,
            "trial_ends_at": _iso(self.trial_ends_at), "max_users": self.max_users,
            "modules": [{"module": m.module, "source": m.source, "until": _iso(m.until), "active": m.active}
                        for m in self.modules],
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


# -- services -------------------------------------------------------------------------------------------
async def list_plans(main_engine: AsyncEngine) -> list[PlanInfo]:
    """Every plan, cheapest first."""
    async with AsyncSession(main_engine) as session:
        rows = (await session.execute(select(Plan).order_by(Plan.monthly_price, Plan.code))).scalars().all()
        return [PlanInfo.of(p) for p in rows]


async def _tenant(session: AsyncSession, subdomain: str, *, lock: bool = False) -> Tenant:
    stmt = (select(Tenant).where(Tenant.subdomain == subdomain, Tenant.status != "deleted")
            .options(selectinload(Tenant.domains)))
    if lock:
        stmt = stmt.with_for_update(of=Tenant)
    tenant = (await session.execute(stmt)).scalar_one_or_none()
    if tenant is None:
        raise NotFound(f"no tenant '{subdomain}'")
    return tenant


async def _plan(session: AsyncSession, code: str) -> Plan:
    plan = await session.get(Plan, code)
    if plan is None:
        raise InvalidInput(f"unknown plan '{code}'")
    return plan


def _module(name: str) -> str:
    module = (name or "").strip().lower()
    if module not in MODULES:
        raise InvalidInput(f"unknown module '{name}' (modules: {', '.join(MODULES)})")
    return module


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


async def _changed(platform: "Platform", tenant: Tenant) -> None:
    # Plan and modules are not part of the engine fingerprint: no engine eviction, only the routes.
    await platform.tenant_changed(tenant.subdomain, [d.domain for d in tenant.domains])


async def get_entitlements(platform: "Platform", subdomain: str) -> Entitlements:
    """A tenant's plan, limits and modules (with where each comes from and until when)."""
    now = datetime.now(timezone.utc)
    async with AsyncSession(platform.main_engine) as session:
        tenant = await _tenant(session, subdomain)
        plan = await _plan(session, tenant.plan)
        grants = (await session.execute(
            select(TenantModule.module, TenantModule.expires_at).where(TenantModule.tenant_id == tenant.id)
        )).all()
    trial = plan.trial_days > 0
    plan_until = tenant.trial_ends_at if trial else None
    granted = {m: e for m, e in grants}
    result = Entitlements(subdomain, plan.code, trial, tenant.trial_ends_at, plan.max_users)
    for module, end in compute_entitlements(plan.modules, trial, tenant.trial_ends_at, grants):
        in_plan, in_grant = module in (plan.modules or ()), module in granted
        source = "plan+grant" if in_plan and in_grant else "plan" if in_plan else "grant"
        until = None if end is None else datetime.fromtimestamp(end, timezone.utc)
        if in_plan and not in_grant:
            until = plan_until
        elif in_grant and not in_plan:
            until = granted[module]
        result.modules.append(ModuleEntitlement(module, source, until, until is None or until > now))
    return result


async def set_plan(platform: "Platform", subdomain: str, plan_code: str, *, trial_until: datetime | None = None,
                   actor: str = "cli") -> Tenant:
    """Move a tenant to another plan. Entering a trial plan starts a trial of `plan.trial_days` (or until
    `trial_until`); leaving one ends the trial now (billing starts from the next full month)."""
    now = datetime.now(timezone.utc)
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        plan = await _plan(session, plan_code)
        tenant = await _tenant(session, subdomain, lock=True)
        old = await _plan(session, tenant.plan)
        if not plan.is_active and plan.code != tenant.plan:
            raise InvalidInput(f"plan '{plan.code}' is retired and cannot be chosen")
        if plan.trial_days > 0:
            if trial_until is not None:
                trial_until = _aware(trial_until)
                if trial_until <= now:
                    raise InvalidInput("the trial end must be in the future")
                tenant.trial_ends_at = trial_until
            elif old.trial_days == 0 or tenant.trial_ends_at is None:
                tenant.trial_ends_at = now + timedelta(days=plan.trial_days)
        else:
            if trial_until is not None:
                raise InvalidInput(f"plan '{plan.code}' is not a trial plan; --trial-until does not apply")
            if old.trial_days > 0 and (tenant.trial_ends_at is None or tenant.trial_ends_at > now):
                tenant.trial_ends_at = now  # converted: the trial is over
        before = tenant.plan
        tenant.plan = plan.code
        session.add(PlatformEvent(tenant_id=tenant.id, actor=actor, action="plan.changed", detail={
            "from": before, "to": plan.code, "trial_ends_at": _iso(tenant.trial_ends_at)}))
        await session.commit()
    await _changed(platform, tenant)
    return tenant


async def grant_module(platform: "Platform", subdomain: str, module: str, *, until: datetime | None = None,
                       actor: str = "cli") -> TenantModule:
    """Entitle a tenant to a module beyond its plan, optionally until a moment (re-granting replaces the end)."""
    module = _module(module)
    if until is not None:
        until = _aware(until)
        if until <= datetime.now(timezone.utc):
            raise InvalidInput(f"the grant end {until.isoformat()} is in the past")
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        tenant = await _tenant(session, subdomain)
        stmt = insert(TenantModule).values(tenant_id=tenant.id, module=module, expires_at=until)
        stmt = stmt.on_conflict_do_update(constraint="pk_tenant_modules", set_={"expires_at": until})
        await session.execute(stmt)
        session.add(PlatformEvent(tenant_id=tenant.id, actor=actor, action="module.granted",
                                  detail={"module": module, "until": _iso(until)}))
        await session.commit()
        row = await session.get(TenantModule, (tenant.id, module))
    await _changed(platform, tenant)
    return row


async def revoke_module(platform: "Platform", subdomain: str, module: str, *, actor: str = "cli") -> None:
    """Remove a grant. Modules that come with the plan are changed with the plan, not here."""
    module = _module(module)
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        tenant = await _tenant(session, subdomain)
        deleted = (await session.execute(
            delete(TenantModule).where(TenantModule.tenant_id == tenant.id, TenantModule.module == module)
            .returning(TenantModule.module)
        )).first()
        if deleted is None:
            plan = await _plan(session, tenant.plan)
            hint = f" (it comes with plan '{plan.code}')" if module in (plan.modules or ()) else ""
            raise NotFound(f"module '{module}' is not granted to '{subdomain}'{hint}")
        session.add(PlatformEvent(tenant_id=tenant.id, actor=actor, action="module.revoked", detail={"module": module}))
        await session.commit()
    await _changed(platform, tenant)


def end_of_day(day: date) -> datetime:
    """A grant "until 2026-12-31" lasts through that whole day (UTC)."""
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(days=1)
