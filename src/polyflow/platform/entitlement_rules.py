"""The pure rules of entitlements: which ERP modules exist, what a plan and grants entitle a tenant to, why a
module is refused, the user limit. No database and no platform: the registry computes a route's
entitlements with these on every route load, and `platform.entitlements` (the services that change plans
and grants) builds on them."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable

from polyflow.kit.errors import Forbidden

if TYPE_CHECKING:
    from polyflow.platform.tenancy.route import TenantRoute

# Every ERP module that can be entitled. A router gated on a name not listed here is a programming error.
MODULES = ("catalog", "inventory", "purchasing", "sales", "production", "accounting")


class PlanLimitReached(Forbidden):
    """A plan limit (e.g. the number of users) would be exceeded."""


def _ts(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def compute_entitlements(
    plan_modules: Iterable[str], plan_is_trial: bool, trial_ends_at: datetime | None,
    grants: Iterable[tuple[str, datetime | None]],
) -> tuple[tuple[str, float | None], ...]:
    """(module, usable until as Unix time or None) for every module from the plan or a grant, sorted.

    A module both in the plan and granted gets the later of the two ends (None, no end, wins).
    Ends already past are kept: the check compares them with the clock, and the refusal can say when
    access ended.
    """
    until: dict[str, float | None] = {}

    def add(module: str, end: float | None) -> None:
        if module in until:
            old = until[module]
            until[module] = None if old is None or end is None else max(old, end)
        else:
            until[module] = end

    plan_end = _ts(trial_ends_at) if plan_is_trial else None
    for module in plan_modules or ():
        add(module, plan_end)
    for module, expires_at in grants:
        add(module, _ts(expires_at))
    return tuple(sorted(until.items()))


def denial(route: "TenantRoute", module: str, now: float) -> str | None:
    """Why `module` is refused to this tenant now (a message for the 403), or None if it is allowed."""
    listed, until = route.module_until(module)
    if listed and (until is None or now < until):
        return None
    message = f"module '{module}' is not in your plan"
    if listed:
        ended = datetime.fromtimestamp(until, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        message += f" (access ended {ended})"
    return message


def check_user_limit(route: "TenantRoute", current_count: int) -> None:
    """Raise 403 if the tenant's plan allows no more users (call before creating one; `current_count`
    is the number of active users now)."""
    if route.max_users is not None and current_count >= route.max_users:
        raise PlanLimitReached(
            f"your plan '{route.plan}' allows at most {route.max_users} users and you have {current_count}; "
            "deactivate a user or upgrade the plan"
        )
