"""After the fleet reaches a new head: the onboarding template and the warm spares follow it. Its own module
so that both ways a rollout ends (the in-process runner and the job queue) call it without importing each
other."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.platform import onboarding, templates
from polyflow.platform.models import DatabaseServer

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform


async def refresh_templates(platform: "Platform") -> list[str]:
    """The onboarding template and warm spares follow the head (built once per head, then cheap)."""
    warnings = []
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        servers = (await session.execute(select(DatabaseServer).where(DatabaseServer.is_active))).scalars().all()
    for server in servers:
        if await templates.ensure_template(server, platform.secrets) is None:
            warnings.append(f"the onboarding template on server '{server.name}' could not be rebuilt (see the log)")
    await onboarding.refill_spares(platform)
    return warnings
