"""FastAPI dependencies: the current tenant and its database session (the ERP's only way in).

Who may do what (sign-in, roles, the plan's modules) is `polyflow.erp.identity.auth`."""

from __future__ import annotations

from typing import Annotated, AsyncIterator

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.platform.entitlement_rules import check_user_limit
from polyflow.platform.tenancy.route import TenantRoute

# check_user_limit is re-exported: ERP services (identity) import their tenant checks from here.
__all__ = ["CurrentTenant", "TenantSession", "check_user_limit", "get_current_tenant", "get_tenant_session"]


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


CurrentTenant = Annotated[TenantRoute, Depends(get_current_tenant)]
# scope="function": commit before the response is sent, so a failed commit is never reported as success.
TenantSession = Annotated[AsyncSession, Depends(get_tenant_session, scope="function")]
