"""Seed registry: what every new tenant database starts with.

ERP modules register seed functions here. ``reference`` seeds (units, locations, chart of accounts...)
are the same for every tenant: they run once into the template database and are cloned with it (or
run per tenant when onboarding migrates from scratch). ``tenant`` seeds depend on the tenant (its
first admin user) and run for each tenant. Every seed must be idempotent: onboarding may run it
again after a crash.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Literal

from sqlalchemy.ext.asyncio import AsyncSession

Scope = Literal["reference", "tenant"]
SeedFn = Callable[[AsyncSession, "SeedContext"], Awaitable[None]]

# Modules whose import registers seeds (a new ERP module adds its seeds module here).
SEED_MODULES = ("polyflow.erp.inventory.seeds", "polyflow.erp.accounting.seeds", "polyflow.erp.identity.seeds",
                "polyflow.erp.tax.seeds")


@dataclass
class SeedContext:
    tenant_name: str = ""
    subdomain: str = ""
    admin_email: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Seed:
    name: str
    scope: Scope
    fn: SeedFn


_REGISTRY: dict[str, Seed] = {}


def register(name: str, scope: Scope = "reference") -> Callable[[SeedFn], SeedFn]:
    """Decorator: add an idempotent seed function to the registry."""

    def decorate(fn: SeedFn) -> SeedFn:
        _REGISTRY[name] = Seed(name, scope, fn)
        return fn

    return decorate


def registered(scope: Scope) -> list[Seed]:
    for module in SEED_MODULES:
        importlib.import_module(module)
    return [s for s in _REGISTRY.values() if s.scope == scope]


async def run_seeds(session: AsyncSession, scope: Scope, ctx: SeedContext) -> list[str]:
    """Run every seed of a scope in the session's transaction; returns their names."""
    names = []
    for seed in registered(scope):
        await seed.fn(session, ctx)
        names.append(seed.name)
    return names
