"""Custom domains of a tenant (main database): add, check where DNS points, make primary, remove.

A domain is a `tenant_domains` row; the request path routes it as soon as it exists (``dom:<domain>`` in the
route cache, invalidated here on every change), so a domain that does not point at Polyflow yet is harmless:
no request for it arrives. Only names the host parser would route as a custom domain are accepted (not an IP,
not under the platform's root domain, punycode for international names).

``check`` is the "verify" step: it resolves the domain and the tenant's own subdomain and says whether they
reach the same addresses (the customer's CNAME or A record is in place). The answer is shown, not stored
(the table has no column for it). Resolution goes through ``resolver`` so tests can stand in for DNS, which
cannot be reached from here.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Awaitable, Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.platform.models import PlatformEvent, Tenant, TenantDomain
from polyflow.platform.tenancy.hosts import HostKind

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform

MAX_DOMAINS = 20  # per tenant: enough for www/erp variants, not a way to park names


async def _addresses(host: str) -> set[str]:
    """The addresses a host name resolves to (empty when it does not)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return set()
    return {info[4][0] for info in infos}


# Replaced by tests (DNS is not reachable from the test machines).
resolver: Callable[[str], Awaitable[set[str]]] = _addresses


@dataclass(frozen=True)
class DomainCheck:
    domain: str
    points_here: bool
    found: tuple[str, ...]  # what the domain resolves to
    expected: tuple[str, ...]  # what the tenant's subdomain resolves to


def normalize(platform: "Platform", domain: str) -> str:
    """A custom domain as stored (lowercase, no trailing dot), or 422 with the reason."""
    name = (domain or "").strip().lower().rstrip(".")
    if not name:
        raise InvalidInput("type the domain, e.g. erp.customer.co.id")
    target = platform.hosts.classify(name)
    if target.kind != HostKind.CUSTOM_DOMAIN:
        why = {HostKind.INVALID: "is not a valid host name (international names in punycode, xn--...)",
               HostKind.PLATFORM: "is the platform's own name or an IP address",
               HostKind.ADMIN: "is the admin host"}.get(target.kind, "is under the platform's domain or not a domain")
        raise InvalidInput(f"'{name[:100]}' {why}")
    return name


async def _tenant(session: AsyncSession, subdomain: str, *, lock: bool = False) -> Tenant:
    query = (select(Tenant).where(Tenant.subdomain == subdomain, Tenant.status != "deleted")
             .options(selectinload(Tenant.domains)))
    tenant = (await session.execute(query.with_for_update(of=Tenant) if lock else query)).scalar_one_or_none()
    if tenant is None:
        raise NotFound(f"no tenant '{subdomain}'")
    return tenant


async def add_domain(platform: "Platform", subdomain: str, domain: str, *, actor: str = "cli") -> str:
    """Route a custom domain to the tenant (the first one becomes its primary domain)."""
    name = normalize(platform, domain)
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        tenant = await _tenant(session, subdomain, lock=True)
        if len(tenant.domains) >= MAX_DOMAINS:
            raise Conflict(f"tenant '{subdomain}' already has {MAX_DOMAINS} domains")
        taken = (await session.execute(select(Tenant.subdomain).join(TenantDomain, TenantDomain.tenant_id == Tenant.id)
                                       .where(TenantDomain.domain == name))).scalar_one_or_none()
        if taken is not None:
            raise Conflict(f"the domain {name} is already routed to '{taken}'")
        session.add(TenantDomain(tenant_id=tenant.id, domain=name, is_primary=not tenant.domains))
        session.add(PlatformEvent(tenant_id=tenant.id, actor=actor, action="domain.added", detail={"domain": name}))
        try:
            await session.commit()
        except IntegrityError:  # added elsewhere between the check and the insert
            raise Conflict(f"the domain {name} is already routed to a tenant") from None
    await platform.tenant_changed(subdomain, [name])  # a cached "no such domain" goes
    return name


async def _own_domain(session: AsyncSession, tenant: Tenant, domain: str) -> TenantDomain:
    name = (domain or "").strip().lower().rstrip(".")
    for d in tenant.domains:
        if d.domain == name:
            return d
    raise InvalidInput(f"'{name[:100]}' is not a domain of '{tenant.subdomain}'")


async def make_primary(platform: "Platform", subdomain: str, domain: str, *, actor: str = "cli") -> None:
    """Make one of the tenant's domains its primary one (the others stay routed)."""
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        tenant = await _tenant(session, subdomain, lock=True)
        row = await _own_domain(session, tenant, domain)
        if row.is_primary:
            return
        # One statement after another in one transaction: the partial unique index allows one primary.
        await session.execute(update(TenantDomain).where(TenantDomain.tenant_id == tenant.id)
                              .values(is_primary=False))
        await session.execute(update(TenantDomain).where(TenantDomain.id == row.id).values(is_primary=True))
        session.add(PlatformEvent(tenant_id=tenant.id, actor=actor, action="domain.primary",
                                  detail={"domain": row.domain}))
        await session.commit()
        names = [d.domain for d in tenant.domains]
    await platform.tenant_changed(subdomain, names)


async def remove_domain(platform: "Platform", subdomain: str, domain: str, *, actor: str = "cli") -> None:
    """Stop routing a custom domain to the tenant."""
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        tenant = await _tenant(session, subdomain, lock=True)
        row = await _own_domain(session, tenant, domain)
        name = row.domain
        await session.delete(row)
        session.add(PlatformEvent(tenant_id=tenant.id, actor=actor, action="domain.removed", detail={"domain": name}))
        await session.commit()
    await platform.tenant_changed(subdomain, [name])


async def check(platform: "Platform", subdomain: str, domain: str) -> DomainCheck:
    """Does the domain resolve to where the tenant's own subdomain does? (Shown to the operator, not stored.)"""
    async with AsyncSession(platform.main_engine) as session:
        tenant = await _tenant(session, subdomain)
        row = await _own_domain(session, tenant, domain)
    found, expected = await asyncio.gather(resolver(row.domain),
                                           resolver(f"{subdomain}.{platform.settings.root_domain}"))
    return DomainCheck(row.domain, bool(found) and bool(found & expected), tuple(sorted(found)),
                       tuple(sorted(expected)))
