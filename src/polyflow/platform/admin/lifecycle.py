"""Admin JSON API for backups, restore, archive, delete, move and database servers (admin host only).

The same services as the CLI. A restore names a recorded backup by id, never a path: the API does
not read arbitrary files on the server.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from polyflow.kit.errors import InvalidInput, NotFound
from polyflow.platform import backups, lifecycle
from polyflow.platform.admin.auth import Operator
from polyflow.platform.servers import lock_down

router = APIRouter(prefix="/admin/api", tags=["admin: lifecycle"])


def _platform(request: Request):
    return request.app.state.platform


class RestoreIn(BaseModel):
    backup_id: uuid.UUID
    as_subdomain: str | None = Field(None, description="Clone into a new tenant instead of restoring in place")
    name: str | None = Field(None, max_length=200, description="With as_subdomain: the new tenant's name")
    server: str | None = Field(None, description="With as_subdomain: database server (default: most free capacity)")


class DeleteIn(BaseModel):
    confirm: Annotated[str, Field(description="The subdomain again")]


class MoveIn(BaseModel):
    to: str


class ServerIn(BaseModel):
    name: str
    dsn: str = Field(description="postgresql://admin:password@host:port/postgres")
    max_tenants: int | None = Field(None, ge=0)


@router.get("/tenants/{subdomain}/backups")
async def list_backups(request: Request, subdomain: str, operator: Operator):
    """A tenant's backups, oldest first (a deleted tenant's too)."""
    return [asdict(b) for b in await backups.list_backups(_platform(request), subdomain)]


@router.post("/tenants/{subdomain}/backups", status_code=201)
async def create_backup(request: Request, subdomain: str, operator: Operator):
    """Back up a tenant's database now."""
    return asdict(await backups.backup(_platform(request), subdomain, actor=operator))


@router.post("/tenants/{subdomain}/restore")
async def restore(request: Request, subdomain: str, body: RestoreIn, operator: Operator):
    """Restore a recorded backup over the tenant, or clone it into a new tenant (`as_subdomain`)."""
    platform = _platform(request)
    found = await backups.find_backup(platform, body.backup_id)
    if found is None:
        raise NotFound(f"no backup {body.backup_id}")
    backup, owner = found
    if owner != subdomain:
        raise InvalidInput(f"backup {body.backup_id} belongs to '{owner}', not '{subdomain}'")
    result = await backups.restore(platform, subdomain, backup.path, as_subdomain=body.as_subdomain, name=body.name,
                                   server_name=body.server, actor=operator)
    return asdict(result)


@router.post("/tenants/{subdomain}/archive")
async def archive(request: Request, subdomain: str, operator: Operator):
    """Back up, then drop the tenant's database and role (the tenant answers 403)."""
    return asdict(await lifecycle.archive(_platform(request), subdomain, actor=operator))


@router.post("/tenants/{subdomain}/delete")
async def delete(request: Request, subdomain: str, body: DeleteIn, operator: Operator):
    """Back up, drop database and role, tombstone the tenant (`confirm` must repeat the subdomain)."""
    return asdict(await lifecycle.delete(_platform(request), subdomain, confirm=body.confirm, actor=operator))


@router.post("/tenants/{subdomain}/move")
async def move(request: Request, subdomain: str, body: MoveIn, operator: Operator):
    """Move the tenant's database to another server."""
    return asdict(await lifecycle.move(_platform(request), subdomain, to=body.to, actor=operator))


@router.get("/servers")
async def list_servers(request: Request, operator: Operator):
    """Database servers with tenant counts and free capacity."""
    return [asdict(s) for s in await lifecycle.list_servers(_platform(request))]


@router.post("/servers", status_code=201)
async def add_server(request: Request, body: ServerIn, operator: Operator):
    """Register (or update) a database server after checking its admin login."""
    platform = _platform(request)
    info, warnings = await lifecycle.add_server(platform, body.name, body.dsn,
                                                max_tenants=body.max_tenants, actor=operator)
    # Its `postgres` database: no CONNECT for tenant roles (PUBLIC's default).
    warnings += await lock_down(platform.main_engine, platform.secrets, only=info.name)
    return {**asdict(info), "warnings": warnings}
