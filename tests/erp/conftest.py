"""ERP test helpers: a direct engine on a tenant's own database (as its own role) for checks the API
cannot express (database-level constraints, concurrent sessions)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from polyflow.platform import provisioning


@pytest.fixture
async def tenant_engine(platform):
    """make(tenant) -> an AsyncEngine on that tenant's database as its role (disposed after the test)."""
    engines = []

    def make(tenant, pool_size: int = 5):
        engine = create_async_engine(provisioning.tenant_dsn(tenant, platform.secrets).url(), pool_size=pool_size,
                                     max_overflow=0)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        await engine.dispose()
