"""`polyflow tenants ...`"""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.markup import escape
from rich.table import Table

from polyflow.cli.common import console, platform_settings, run
from polyflow.platform import provisioning
from polyflow.kit.db import PgDsn
from polyflow.platform.runtime import Platform
from polyflow.platform.servers import ensure_default_server

app = typer.Typer(no_args_is_help=True)


async def _with_platform(settings, fn):
    platform = Platform(settings)
    try:
        return await fn(platform)
    finally:
        await platform.stop()


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="Company name, e.g. 'PT ABC Plastik'"),
    subdomain: str = typer.Option(..., "--subdomain", help="e.g. pt-abc"),
    server: str | None = typer.Option(None, "--server", help="Database server name (default: most free capacity)"),
) -> None:
    """Create a tenant: its own role and database, migrated, registered and active."""
    with platform_settings() as (settings, cluster):
        async def go(platform: Platform):
            await ensure_default_server(platform.main_engine, platform.secrets, PgDsn.parse(settings.database_url),
                                        refresh=cluster is not None)
            return await provisioning.create_tenant(platform, name=name, subdomain=subdomain, server_name=server)

        tenant = run(lambda: _with_platform(settings, go))
        console.print(f"created [bold]{escape(tenant.subdomain)}[/] ({escape(tenant.name)}) at revision {tenant.schema_revision}")
        console.print(f"  http://{tenant.subdomain}.{settings.root_domain}" + (":8000" if settings.env == "dev" else ""))


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Machine-readable output")) -> None:
    """List tenants with status, server, database and schema revision."""
    with platform_settings() as (settings, _):
        rows = run(lambda: _with_platform(settings, lambda p: provisioning.list_tenants(p.main_engine)))
    if as_json:
        print(json.dumps([asdict(r) for r in rows], default=str, indent=2))
        return
    table = Table("subdomain", "name", "status", "plan", "server", "database", "revision")
    for r in rows:
        table.add_row(*(escape(str(v)) for v in (r.subdomain, r.name, r.status, r.plan, r.server, r.db_name,
                                                   r.schema_revision or "-")))
    console.print(table)


def _set_status(subdomain: str, status: str) -> None:
    with platform_settings() as (settings, _):
        tenant = run(lambda: _with_platform(settings, lambda p: provisioning.set_status(p, subdomain, status)))
    console.print(f"{escape(tenant.subdomain)}: {tenant.status}")


@app.command("suspend")
def suspend(subdomain: str) -> None:
    """Refuse all requests to a tenant (every app process within a second)."""
    _set_status(subdomain, "suspended")


@app.command("resume")
def resume(subdomain: str) -> None:
    """Serve a suspended tenant again."""
    _set_status(subdomain, "active")
