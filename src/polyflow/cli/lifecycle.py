"""`polyflow tenants backup | backups | restore | archive | delete | move` (added to the `tenants` app)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import asdict
from typing import Awaitable, Callable, Iterator, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import InterfaceError, OperationalError

from polyflow.cli.common import console, err, fail, platform_settings, run, unreachable
from polyflow.kit.db import PgDsn
from polyflow.kit.errors import PolyflowError
from polyflow.platform import backups, lifecycle
from polyflow.platform.runtime import Platform
from polyflow.platform.servers import ensure_default_server

T = TypeVar("T")


@contextmanager
def _progress(message: str) -> Iterator[backups.Progress]:
    """A spinner with the current step on a terminal; nothing in pipes and logs."""
    if not console.is_terminal:
        yield None
        return
    with console.status(escape(message)) as status:
        yield lambda text: status.update(escape(f"{message}: {text}"))


class _Failed:
    def __init__(self, message: str):
        self.message = message


def call(fn: Callable[[Platform, backups.Progress], Awaitable[T]], status: str | None = None) -> T:
    """Run one platform operation for a command: settings, Platform, progress, one clear error line."""
    with platform_settings() as (settings, cluster):
        async def go(progress):
            platform = Platform(settings)
            try:
                # As `tenants create` does: the embedded cluster's port may have changed since the last run.
                await ensure_default_server(platform.main_engine, platform.secrets,
                                            PgDsn.parse(settings.database_url), refresh=cluster is not None)
                return await fn(platform, progress)
            except PolyflowError as exc:
                return _Failed(exc.message)  # printed once the spinner is gone
            except (OSError, OperationalError, InterfaceError) as exc:
                return _Failed(unreachable(exc) or str(exc))
            finally:
                await platform.stop()

        if status is None:
            outcome = run(lambda: go(None))
        else:
            with _progress(status) as progress:
                outcome = run(lambda: go(progress))
    if isinstance(outcome, _Failed):
        fail(outcome.message)
    return outcome


def warn(warnings: list[str]) -> None:
    for line in warnings:
        err.print(f"[yellow]warning:[/] {escape(line)}", highlight=False)


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def backup(subdomain: str = typer.Argument(..., help="Tenant subdomain, e.g. pt-abc")) -> None:
    """Dump a tenant's database (pg_dump custom format) into the backup folder; size and sha256 are recorded."""
    info = call(lambda p, progress: backups.backup(p, subdomain, progress=progress), f"backing up {subdomain}")
    console.print(f"backed up {escape(subdomain)}: {escape(info.path)} ({_size(info.size_bytes)}, sha256 {info.sha256})",
                  highlight=False)


def backups_(
    subdomain: str = typer.Argument(..., help="Tenant subdomain (a deleted tenant's backups are listed too)"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """List a tenant's backups, oldest first."""
    rows = call(lambda p, _: backups.list_backups(p, subdomain))
    if as_json:
        print(json.dumps([asdict(r) for r in rows], default=str, indent=2))
        return
    table = Table("started", "kind", "status", "size", "sha256", "file")
    for r in rows:
        table.add_row(f"{r.started_at:%Y-%m-%d %H:%M:%S}", r.kind, r.status, _size(r.size_bytes),
                      (r.sha256 or "-")[:12], escape(r.path))
    console.print(table)


def restore(
    subdomain: str = typer.Argument(..., help="The tenant the backup belongs to"),
    file: str = typer.Argument(..., help="A backup file (.dump)"),
    as_subdomain: str | None = typer.Option(None, "--as", help="Clone into a new tenant with this subdomain instead"),
    name: str | None = typer.Option(None, "--name", help="With --as: the new tenant's name (default: '<name> (copy)')"),
    server: str | None = typer.Option(None, "--server", help="With --as: database server (default: most free capacity)"),
) -> None:
    """Restore a backup into a new database, verify it, switch the tenant to it and drop the old one."""
    what = f"cloning {subdomain} as {as_subdomain}" if as_subdomain else f"restoring {subdomain}"
    r = call(lambda p, progress: backups.restore(p, subdomain, file, as_subdomain=as_subdomain, name=name,
                                                 server_name=server, progress=progress), what)
    if r.cloned:
        console.print(f"created {escape(r.subdomain)} from {escape(r.file)} (a copy of {escape(r.source)}) on server "
                      f"'{escape(r.server)}', database {r.db_name} at revision {r.schema_revision}, in {r.seconds:.1f}s",
                      highlight=False)
    else:
        console.print(f"restored {escape(r.subdomain)} from {escape(r.file)}: database {r.db_name} at revision "
                      f"{r.schema_revision}, in {r.seconds:.1f}s", highlight=False)
        if r.pre_restore_backup:
            console.print(f"  the state before the restore is in {escape(r.pre_restore_backup)}", highlight=False)
    warn(r.warnings)


def archive(subdomain: str = typer.Argument(..., help="Tenant subdomain")) -> None:
    """Back up a tenant, then drop its database and role; it answers 403 until restored."""
    r = call(lambda p, progress: lifecycle.archive(p, subdomain, progress=progress), f"archiving {subdomain}")
    suffix = f", backup {escape(r.backup.path)}" if r.backup else ""
    console.print(f"{escape(subdomain)}: archived (database {r.db_name} dropped{suffix}) in {r.seconds:.1f}s", highlight=False)
    warn(r.warnings)


def delete(
    subdomain: str = typer.Argument(..., help="Tenant subdomain"),
    confirm: str | None = typer.Option(None, "--confirm", help="The subdomain again, to confirm"),
) -> None:
    """Back up a tenant, drop its database and role, and tombstone it (its subdomain becomes free)."""
    if confirm != subdomain:  # checked here too, before anything is started
        fail(f"refusing to delete '{subdomain}' without confirmation: pass --confirm {subdomain}")
    r = call(lambda p, progress: lifecycle.delete(p, subdomain, confirm=confirm, progress=progress),
             f"deleting {subdomain}")
    if r.status == "removed":
        console.print(f"{escape(subdomain)}: unfinished onboarding removed", highlight=False)
        return
    suffix = f", backup {escape(r.backup.path)}" if r.backup else ""
    console.print(f"{escape(subdomain)}: deleted (database and role dropped{suffix}) in {r.seconds:.1f}s", highlight=False)
    warn(r.warnings)


def move(
    subdomain: str = typer.Argument(..., help="Tenant subdomain"),
    to: str = typer.Option(..., "--to", help="Target database server name"),
) -> None:
    """Move a tenant's database to another server; reads go on, writes get 503 for the few seconds it takes."""
    r = call(lambda p, progress: lifecycle.move(p, subdomain, to=to, progress=progress), f"moving {subdomain}")
    console.print(f"moved {escape(subdomain)} to server '{escape(r.server)}' (database {r.db_name}) in {r.seconds:.1f}s",
                  highlight=False)
    warn(r.warnings)


def register(app: typer.Typer) -> None:
    """Add these commands to the `tenants` app."""
    app.command("backup")(backup)
    app.command("backups")(backups_)
    app.command("restore")(restore)
    app.command("archive")(archive)
    app.command("delete")(delete)
    app.command("move")(move)
