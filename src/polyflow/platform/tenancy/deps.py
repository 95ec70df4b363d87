"""FastAPI dependencies: the current tenant, its database session (the ERP's only way in), and the
module entitlement check."""

from __future__ import annotations

import time
from typing import Annotated, AsyncIterator

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.errors import Forbidden
from polyflow.platform.entitlements import MODULES, check_user_limit, denial
from polyflow.platform.tenancy.route import TenantRoute

# check_user_limit is re-exported: ERP services (identity) import their tenant checks from here.
__all__ = ["CurrentTenant", "TenantSession", "check_user_limit", "get_current_tenant", "get_tenant_session",
           "require_module"]


def get_current_tenant(request: Request) -> TenantRoute:
    """The tenant resolved from the Host by the middleware."""
    return request.scope["state"]["tenant"]


async def get_tenant_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session on the current tenant's database: commit on success, rollback on any error."""
    route: TenantRoute = request.scope["state"]["tenant"]
    engines = request.app.state.platform.engines
    async with engines.lease(route) as engine:
        session = AsyncSession(engine, expire_on_commit=False, autoflush=True)
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            await session.close()


def require_module(name: str) -> DependsParam:
    """A dependency that refuses (403) a tenant not entitled to module `name` now.

    Use on a router: ``APIRouter(..., dependencies=[require_module("sales")])``. It reads only the route
    the middleware resolved (entitlements and their end times are in it): no query per request. Router
    dependencies run before the endpoint's own, so a refused request never leases a tenant connection.
    """
    if name not in MODULES:
        raise ValueError(f"unknown module {name!r}; add it to polyflow.platform.entitlements.MODULES")

    def check_module(request: Request) -> None:
        message = denial(request.scope["state"]["tenant"], name, time.time())
        if message is not None:
            raise Forbidden(message)

    check_module.__name__ = f"require_module_{name}"
    return Depends(check_module)


CurrentTenant = Annotated[TenantRoute, Depends(get_current_tenant)]
# scope="function": commit before the response is sent, so a failed commit is never reported as success.
TenantSession = Annotated[AsyncSession, Depends(get_tenant_session, scope="function")]
