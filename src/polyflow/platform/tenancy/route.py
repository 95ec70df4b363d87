"""The routing record of one tenant: what a request needs to reach its database."""

from __future__ import annotations

import json
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

    @property
    def fingerprint(self) -> tuple:
        """Changes whenever the tenant's database location or credentials change (move, restore, rotation)."""
        return (self.db_host, self.db_port, self.db_name, self.db_user, self.db_password_enc)

    def dsn(self, password: str) -> PgDsn:
        return PgDsn(self.db_host, self.db_port, self.db_user, password, self.db_name)

    def to_json(self) -> str:
        data = asdict(self)
        data["id"] = str(self.id)
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> "TenantRoute":
        data = json.loads(raw)
        data["id"] = uuid.UUID(data["id"])
        return cls(**data)
