"""The routing record of one tenant: what a request needs to reach its database, and what it may use."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass

from polyflow.kit.db import PgDsn

# Statuses that are served (the rest are refused in the middleware).
SERVED_STATUSES = frozenset({"active"})


@dataclass(frozen=True, slots=True)
class TenantRoute:
    id: uuid.UUID
    subdomain: str
    name: str
    status: str
    db_host: str
    db_port: int
    db_name: str
    db_user: str
    db_password_enc: str
    schema_revision: str | None = None
    plan: str | None = None
    max_users: int | None = None
    # (module, usable until as a Unix timestamp or None for no end), sorted by module. Computed by the
    # registry from the plan (a trial plan ends at the trial end), plus grants not expired at load time.
    # Carrying the end times lets every request check them against the clock, so a cached route can never
    # serve an expired grant or an ended trial, whatever the cache TTLs are. Absent module: denied.
    entitlements: tuple[tuple[str, float | None], ...] = ()
    # Unix time until which a fleet migration holds the tenant's database (a lease it renews while it
    # runs, so a migrator that died stops refusing requests by itself); None: not being migrated.
    migrating_until: float | None = None
    # The server has a PgBouncer (transaction mode) and db_host/db_port are its address: connections are
    # opened with pooler-safe settings (tenancy/pooler.py).
    pooled: bool = False
    # The registry row's updated_at (Unix time): a copy older than what this process has seen from the main
    # database is ignored (a status change always wins over a cache). None: written by an older version.
    version: float | None = None

    @property
    def fingerprint(self) -> tuple:
        """Changes whenever the tenant's database location or credentials change (move, restore, rotation)."""
        return (self.db_host, self.db_port, self.db_name, self.db_user, self.db_password_enc, self.pooled)

    def dsn(self, password: str) -> PgDsn:
        return PgDsn(self.db_host, self.db_port, self.db_user, password, self.db_name)

    # -- entitlements (pure, no I/O: this runs on every gated request) -----------------------------
    def module_until(self, module: str) -> tuple[bool, float | None]:
        """(listed, until): whether the module is entitled at all, and until when (None: no end)."""
        for name, until in self.entitlements:
            if name == module:
                return True, until
        return False, None

    def allows(self, module: str, now: float | None = None) -> bool:
        """Whether the tenant may use `module` now (denied unless listed and not past its end)."""
        listed, until = self.module_until(module)
        return listed and (until is None or (time.time() if now is None else now) < until)

    def modules(self, now: float | None = None) -> tuple[str, ...]:
        """The modules usable now."""
        now = time.time() if now is None else now
        return tuple(name for name, until in self.entitlements if until is None or now < until)

    @property
    def entitlements_expire_at(self) -> float | None:
        """The earliest end of any entitlement (Unix time), or None if nothing ends."""
        ends = [until for _, until in self.entitlements if until is not None]
        return min(ends) if ends else None

    # -- cache serialisation ----------------------------------------------------------------------
    def to_json(self) -> str:
        data = asdict(self)
        data["id"] = str(self.id)
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> "TenantRoute":
        data = json.loads(raw)
        data["id"] = uuid.UUID(data["id"])
        # Required on purpose: a route cached by an older version has no entitlements and would deny
        # every module; the KeyError makes the cache reload it from the main database instead.
        data["entitlements"] = tuple((str(m), None if u is None else float(u)) for m, u in data["entitlements"])
        return cls(**data)
