"""Fixtures of the tenant security tests (tests/security/test_tenant_*.py): the tenant FastAPI app the live
server dispatches to and its routes with the permission each one demands, sign-in through the real login
endpoint, clients that carry exactly one credential, and SQL on a tenant's own database (as its own role).

Names start with ``tenant_`` so they never shadow a fixture of the admin security tests next door.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi import FastAPI, routing

from polyflow.erp.identity.permissions import PERMISSIONS
from polyflow.platform.tenancy.middleware import TenancyMiddleware
from tests.fixtures.auth import TEST_PASSWORD
from tests.fixtures.auth import tenant_sql as run_tenant_sql

SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class TenantRouteInfo:
    """One (method, path) of the tenant app and what it demands."""

    method: str
    path: str  # the template, e.g. /api/v1/products/{product_id}
    params: tuple[str, ...]  # path parameter names
    permission: str | None  # e.g. "catalog.write", "users.manage"; None: any signed-in user (or public)
    # Routes of two modules (partners: sales or purchasing) read "sales.write or purchasing.write".

    @property
    def alternatives(self) -> tuple[str, ...]:
        """The permissions any one of which lets a user through."""
        return tuple(self.permission.split(" or ")) if self.permission else ()

    def granted(self, permissions) -> bool:
        return any(p in permissions for p in self.alternatives)


def _route_contexts(app: FastAPI):
    # FastAPI >= 0.16x keeps included routers unflattened; iter_route_contexts yields the effective routes
    # (prefix and router-level dependencies applied). Older versions flatten them into app.routes.
    iterate = getattr(routing, "iter_route_contexts", None)
    return list(iterate(app.routes)) if iterate is not None else list(app.routes)


def _permission(dependency_names: list[str], method: str) -> str | None:
    by_name = {f"require_{p.replace('.', '_')}": p for p in PERMISSIONS}
    found: set[str] = set()
    for name in dependency_names:
        if name.startswith("authorize_"):  # authorize_<module>, or authorize_<m1>_or_<m2> (either suffices)
            action = "read" if method in SAFE else "write"
            found.add(" or ".join(f"{m}.{action}" for m in name.removeprefix("authorize_").split("_or_")))
        elif name in by_name:
            found.add(by_name[name])
    assert len(found) <= 1, f"{method}: several permission dependencies {sorted(found)}"
    return found.pop() if found else None


def tenant_routes_of(app: FastAPI) -> list[TenantRouteInfo]:
    out = []
    for r in _route_contexts(app):
        original = getattr(r, "original_route", r)
        if not isinstance(original, routing.APIRoute):
            continue  # /openapi.json, /static
        names = [getattr(d.dependency, "__name__", "") for d in (r.dependencies or [])]
        # Dependencies declared on the endpoint itself (not only on its router) count as well.
        names += [getattr(d.call, "__name__", "") for d in (r.dependant.dependencies if r.dependant else [])]
        params = tuple((getattr(r, "param_convertors", None) or {}).keys())
        for method in sorted(r.methods or ()):
            out.append(TenantRouteInfo(method, r.path, params, _permission(names, method)))
    assert out, "no API routes found in the tenant app"
    return out


@pytest.fixture
def tenant_app(live) -> FastAPI:
    """The tenant FastAPI app the live server dispatches tenant hosts to (the very object serving them)."""
    found = [m.kwargs["tenant_app"] for m in live.app.user_middleware if m.cls is TenancyMiddleware]
    assert len(found) == 1, "TenancyMiddleware not installed exactly once"
    return found[0]


@pytest.fixture
def tenant_routes(tenant_app) -> list[TenantRouteInfo]:
    """Every (method, API route) of the tenant app with the permission it demands."""
    return tenant_routes_of(tenant_app)


@pytest.fixture
def tenant_host(settings):
    return lambda sub: f"{sub}.{settings.root_domain}"


@pytest.fixture
def tenant_sign_in(live, tenant_host):
    """sign_in(sub, email, password=TEST_PASSWORD, **headers) -> the pf_session cookie value, through the
    real login endpoint."""

    async def sign_in(sub: str, email: str, password: str = TEST_PASSWORD, **headers) -> str:
        async with live.client(tenant_host(sub), headers=headers) as c:
            r = await c.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return r.cookies["pf_session"]

    return sign_in


@pytest.fixture
def tenant_as(live, tenant_host):
    """as_(host_or_sub, cookie=None, token=None, **headers) -> a client carrying exactly the given credential
    (explicit headers, so nothing from an earlier response rides along)."""

    def as_(sub_or_host: str, *, cookie: str | None = None, token: str | None = None, **headers):
        host = sub_or_host if "." in sub_or_host or ":" in sub_or_host else tenant_host(sub_or_host)
        if cookie is not None:
            headers["Cookie"] = f"pf_session={cookie}"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return live.client(host, headers=headers)

    return as_


@pytest.fixture
def tenant_sql(settings):
    """sql(sub, statement, params=()) -> rows (if any), run in the tenant's own database as its role."""

    def sql(sub: str, statement: str, params=()) -> list[tuple]:
        rows = run_tenant_sql(settings, statement, *params, sub=sub)
        return rows if isinstance(rows, list) else []

    return sql
