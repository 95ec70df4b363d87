"""FastAPI dependencies: the current tenant and its database session (the ERP's only way in)."""

from __future__ import annotations

from typing import Annotated, AsyncIterator

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.platform.tenancy.route import TenantRoute


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
