"""Roles and what they may do: ``<module>.<action>`` permissions, checked on every endpoint and page.

Reading is ``read``; anything that changes data is ``write``. Two permissions are not tied to a plan
module: ``users.manage`` (people, roles, invites) and ``audit.read`` (the tenant's audit log).
A role grants permissions; a user's permissions are the union over their roles. An API token carries
a subset of its user's roles, re-checked against the user's current roles on every use.
"""

from __future__ import annotations

from typing import Iterable

from polyflow.erp.models.user import ROLES
from polyflow.platform.entitlement_rules import MODULES

ACTIONS = ("read", "write")
ADMIN_PERMISSIONS = ("users.manage", "audit.read")
PERMISSIONS: frozenset[str] = frozenset(
    [f"{m}.{a}" for m in MODULES for a in ACTIONS] + list(ADMIN_PERMISSIONS)
)


def _read(*modules: str) -> set[str]:
    return {f"{m}.read" for m in modules}


def _write(*modules: str) -> set[str]:
    return {f"{m}.{a}" for m in modules for a in ACTIONS}


ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": PERMISSIONS,
    "admin": PERMISSIONS,
    "finance": frozenset(_write("accounting") | _read(*MODULES) | {"audit.read"}),
    "sales": frozenset(_write("sales") | _read("catalog", "inventory")),
    "purchasing": frozenset(_write("purchasing", "catalog") | _read("inventory", "accounting")),
    "warehouse": frozenset(_write("inventory") | _read("catalog", "purchasing", "sales", "production")),
    "production": frozenset(_write("production", "inventory") | _read("catalog")),
    "viewer": frozenset(_read(*MODULES)),
}
assert set(ROLE_PERMISSIONS) == set(ROLES), "every role needs a permission set"
assert all(p <= PERMISSIONS for p in ROLE_PERMISSIONS.values())


def permissions_for(roles: Iterable[str]) -> frozenset[str]:
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)


def module_of(permission: str) -> str | None:
    """The plan module a permission belongs to (None for users.manage / audit.read)."""
    module = permission.split(".", 1)[0]
    return module if module in MODULES else None


def valid_roles(roles: Iterable[str]) -> list[str]:
    """The roles, deduplicated in canonical order; ValueError naming any unknown one."""
    roles = list(roles)
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown role(s) {', '.join(unknown)}; roles are {', '.join(ROLES)}")
    return [r for r in ROLES if r in roles]


def covered_roles(wanted: Iterable[str], held: Iterable[str]) -> frozenset[str]:
    """The roles of `wanted` that a user holding `held` may delegate to an API token: a role they
    have, or one whose permissions are all theirs, except "owner", which only an owner can delegate
    (it carries powers beyond permissions: making owners). An owner can so issue a "viewer" token;
    a user demoted since a token was made loses the token's roles they no longer cover."""
    held = frozenset(held)
    have = permissions_for(held)
    return frozenset(r for r in wanted if r in held or (r != "owner" and ROLE_PERMISSIONS.get(r, PERMISSIONS) <= have))
