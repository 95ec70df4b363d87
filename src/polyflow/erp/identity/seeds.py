"""The tenant's first user: its owner, created without a password (onboarding issues a one-time one)."""

from __future__ import annotations

from sqlalchemy import func, select

from polyflow.erp.models import User
from polyflow.erp.seeds import SeedContext, register


@register("owner", scope="tenant")
async def seed_owner(session, ctx: SeedContext) -> None:
    if not ctx.admin_email:
        return
    exists = await session.scalar(select(User.id).where(func.lower(User.email) == ctx.admin_email.lower()))
    if exists is None:
        session.add(User(email=ctx.admin_email, name=ctx.admin_email.split("@")[0], roles=["owner"],
                         password_hash=None, must_change_password=True))
        await session.flush()
