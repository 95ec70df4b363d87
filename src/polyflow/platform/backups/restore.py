"""Restoring a backup: into a new database beside the tenant's (verified, then switched to), or as a
brand-new tenant (``--as``). Nothing is written to the tenant's live database; it is frozen and dumped
(kind pre_restore) just before the switch, so the state a restore replaces can always be got back.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.kit.crypto import new_password
from polyflow.kit.errors import Conflict, InvalidInput, NotFound
from polyflow.platform import pgtools
from polyflow.platform.backups.copies import (
    HAS_DATABASE, NewDatabase, Progress, create_database, discard, drop_database, event, freeze, load_dump,
    locked_tenant, new_ident, quietly, record_event, require_database, retire, say, switch, thaw, verify,
)
from polyflow.platform.backups.files import take_backup
from polyflow.platform.models import Backup, Tenant
from polyflow.platform.servers import pick_server

if TYPE_CHECKING:
    from polyflow.platform.runtime import Platform


@dataclass
class RestoreResult:
    subdomain: str
    source: str  # the tenant the backup was taken from
    file: str
    server: str
    db_name: str
    schema_revision: str
    cloned: bool
    pre_restore_backup: str | None
    seconds: float
    warnings: list[str]


async def _check_file(platform: "Platform", file: str | Path, progress: Progress) -> tuple[Path, Backup | None, str | None]:
    """The file, resolved; its backups row and tenant subdomain if it is one of ours (checksum verified)."""
    path = Path(file).expanduser().resolve()
    if not path.is_file():
        raise NotFound(f"no such backup file: {file}")
    if not os.access(path, os.R_OK):
        raise InvalidInput(f"cannot read {file}")
    async with AsyncSession(platform.main_engine) as session:
        known = (await session.execute(
            select(Backup, Tenant.subdomain).join(Tenant, Tenant.id == Backup.tenant_id)
            .where(Backup.path == str(path)).order_by(Backup.started_at.desc()).limit(1))).first()
    if known is not None:
        row, subdomain = known
        if row.status != "completed":
            raise InvalidInput(f"backup {file} is not complete (status {row.status})")
        say(progress, "verifying the checksum")
        size, digest = await asyncio.to_thread(pgtools.file_digest, path)
        if (size, digest) != (row.size_bytes, row.sha256):
            raise InvalidInput(f"{file} does not match its recorded sha256 ({row.sha256}): it is damaged or was replaced")
        await pgtools.check_archive(path, pg_bin=platform.settings.pg_bin)
        return path, row, subdomain
    await pgtools.check_archive(path, pg_bin=platform.settings.pg_bin)
    return path, None, None


def _expected(known: Backup | None) -> set[str] | None:
    return {known.schema_revision} if known is not None and known.schema_revision else None


async def restore(platform: "Platform", subdomain: str, file: str | Path, *, as_subdomain: str | None = None,
                  name: str | None = None, server_name: str | None = None, actor: str = "cli",
                  progress: Progress = None) -> RestoreResult:
    """Restore a backup over a tenant (into a new database, then switch), or with ``as_subdomain`` clone it
    into a brand-new, independent tenant."""
    started = time.perf_counter()
    if as_subdomain is None and (server_name is not None or name is not None):
        raise InvalidInput("--server and --name only apply with --as (a restore stays on the tenant's server)")
    path, known, owner = await _check_file(platform, file, progress)
    if as_subdomain is not None:
        result = await _clone(platform, subdomain, path, known, owner, as_subdomain, name, server_name, actor, progress)
    else:
        result = await _restore_in_place(platform, subdomain, path, known, owner, actor, progress)
    result.seconds = time.perf_counter() - started
    return result


async def _restore_in_place(platform: "Platform", subdomain: str, path: Path, known: Backup | None,
                            owner: str | None, actor: str, progress: Progress) -> RestoreResult:
    async with locked_tenant(platform, subdomain) as tenant:
        if known is not None and known.tenant_id != tenant.id:
            raise InvalidInput(f"{path} is a backup of '{owner}', not of '{subdomain}'; "
                               "use --as NEWSUB to clone it into a new tenant")
        if tenant.status not in (*HAS_DATABASE, "archived"):
            require_database(tenant)
        server, archived = tenant.server, tenant.status == "archived"
        if archived:  # its role went with its database: a new one
            ident = new_ident(subdomain)
            new = await create_database(platform, server, db_name=ident, role=ident, password=new_password(),
                                        create_role=True)
        else:
            new = await create_database(platform, server, db_name=new_ident(subdomain), role=tenant.db_user,
                                        password=platform.secrets.decrypt(tenant.db_password_enc), create_role=False)
        frozen, pre = False, None
        try:
            say(progress, f"restoring into {new.db_name}")
            await load_dump(platform, new, path)
            say(progress, "verifying the restored database")
            revision = await verify(new, expected=_expected(known))
            fields = {}
            if archived:
                fields = {"status": "active", "archived_at": None, "status_reason": None}
            else:
                # From here writes to the old database are refused (503, retry), and the pre-restore
                # backup holds everything it had: a restore loses nothing that cannot be got back.
                await freeze(platform, server, tenant.db_name)
                frozen = True
                pre = await take_backup(platform, tenant, "pre_restore", actor, progress)
            await switch(platform, tenant, new, revision, action="tenant.restored", actor=actor, set_fields=fields,
                         file=str(path), backup_id=str(known.id) if known else None,
                         pre_restore_backup=pre.path if pre else None)
        except BaseException as exc:
            await discard(platform, new)
            if frozen:
                await quietly(thaw(platform, server, tenant.db_name))
            await record_event(platform, tenant.id, "tenant.restore_failed", actor, file=str(path),
                               error=(getattr(exc, "message", None) or repr(exc))[:500])
            raise
        warnings = [] if archived else await retire(platform, tenant, server, tenant.db_name, None, actor,
                                                    successor=new)
    return RestoreResult(subdomain, owner or subdomain, str(path), server.name, new.db_name, revision, False,
                         pre.path if pre else None, 0.0, warnings)


async def _source_tenant(platform: "Platform", subdomain: str) -> Tenant:
    """The live tenant with this subdomain, else the most recently deleted one."""
    async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
        rows = (await session.execute(select(Tenant).where(Tenant.subdomain == subdomain)
                                      .order_by((Tenant.status == "deleted"), Tenant.deleted_at.desc()))).scalars().all()
    if not rows:
        raise NotFound(f"no tenant '{subdomain}'")
    return rows[0]


async def _clone(platform: "Platform", subdomain: str, path: Path, known: Backup | None, owner: str | None,
                 new_sub: str, name: str | None, server_name: str | None, actor: str,
                 progress: Progress) -> RestoreResult:
    from polyflow.platform import onboarding

    source = await _source_tenant(platform, subdomain)
    if known is not None and owner != subdomain:
        raise InvalidInput(f"{path} is a backup of '{owner}', not of '{subdomain}'")
    name, new_sub, _ = onboarding.validate(name if name is not None else f"{source.name} (copy)"[:200], new_sub, None)
    ident, password = new_ident(new_sub), new_password()
    # The onboarding lock of the new subdomain: nothing may "resume" this half-made tenant meanwhile.
    async with onboarding.onboarding_lock(platform, new_sub):
        async with AsyncSession(platform.main_engine, expire_on_commit=False) as session:
            if (await session.execute(select(Tenant.id).where(Tenant.subdomain == new_sub, Tenant.status != "deleted"))).first():
                raise Conflict(f"subdomain '{new_sub}' is already taken")
            server = await pick_server(session, server_name)
            # Reserved like an onboarding: a crash leaves a `provisioning` row that `abandon` removes.
            tenant = Tenant(name=name, subdomain=new_sub, status="provisioning", plan=source.plan, server=server,
                            db_name=ident, db_user=ident, db_password_enc=platform.secrets.encrypt(password),
                            admin_email=source.admin_email, trial_ends_at=source.trial_ends_at, onboarding_step="reserved")
            session.add(tenant)
            try:
                await session.flush()
            except IntegrityError:
                raise Conflict(f"subdomain '{new_sub}' is already taken") from None
            event(session, tenant.id, "tenant.reserved", actor, clone_of=source.subdomain, file=str(path), server=server.name)
            await session.commit()
        await platform.tenant_changed(new_sub)
        new = None
        try:
            new = await create_database(platform, server, db_name=ident, role=ident, password=password, create_role=True)
            say(progress, f"restoring into {ident} on server '{server.name}'")
            await load_dump(platform, new, path)
            say(progress, "verifying the copy")
            revision = await verify(new, expected=_expected(known))
            async with AsyncSession(platform.main_engine) as session:
                row = await session.get(Tenant, tenant.id)
                row.status, row.onboarding_step, row.schema_revision = "active", "active", revision
                row.activated_at = datetime.now(timezone.utc)
                event(session, tenant.id, "tenant.cloned", actor, source=source.subdomain, file=str(path),
                      backup_id=str(known.id) if known else None)
                await session.commit()
        except BaseException:
            await quietly(_forget_clone(platform, tenant.id, new))
            await platform.tenant_changed(new_sub)
            raise
        await platform.tenant_changed(new_sub, tenant_id=tenant.id)
    return RestoreResult(new_sub, source.subdomain, str(path), server.name, ident, revision, True, None, 0.0, [])


async def _forget_clone(platform: "Platform", tenant_id, new: NewDatabase | None) -> None:
    """Undo a clone that did not become active: its database, role and registry row."""
    async with AsyncSession(platform.main_engine) as session:
        row = await session.get(Tenant, tenant_id)
        if row is not None and row.status == "active":
            return  # it did finish (the error came after the commit): keep it
        if new is not None:
            await drop_database(platform, new.server, new.db_name, new.role)
        if row is not None:
            await session.delete(row)
            await session.commit()
