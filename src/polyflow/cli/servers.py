"""`polyflow servers add | list`: the PostgreSQL servers that hold tenant databases."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.markup import escape
from rich.table import Table

from polyflow.cli.common import console
from polyflow.cli.lifecycle import warn, call
from polyflow.platform import lifecycle
from polyflow.platform.servers import lock_down

app = typer.Typer(no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="A short name, e.g. db2"),
    dsn: str = typer.Argument(..., help="Admin login: postgresql://user:password@host:port/postgres"),
    max_tenants: int | None = typer.Option(None, "--max-tenants", help="Tenant limit (default: none)"),
) -> None:
    """Register a server (its admin login is checked, and its password stored encrypted)."""
    async def add_and_lock_down(p, _):
        info, warnings = await lifecycle.add_server(p, name, dsn, max_tenants=max_tenants)
        # Its `postgres` database: no CONNECT for tenant roles (PUBLIC's default).
        return info, warnings + await lock_down(p.main_engine, p.secrets, only=info.name)

    info, warnings = call(add_and_lock_down)
    limit = "no limit" if info.max_tenants is None else f"{info.free} of {info.max_tenants} free"
    console.print(f"server {escape(info.name)}: {escape(info.host)}:{info.port} as {escape(info.admin_user)}, "
                  f"{info.tenants} tenant(s), {limit}", highlight=False)
    warn(warnings)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Machine-readable output")) -> None:
    """Servers with their tenant counts and free capacity."""
    rows = call(lambda p, _: lifecycle.list_servers(p))
    if as_json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return
    table = Table("name", "address", "admin", "active", "tenants", "max", "free")
    for r in rows:
        table.add_row(escape(r.name), escape(f"{r.host}:{r.port}"), escape(r.admin_user), "yes" if r.is_active else "no",
                      str(r.tenants), "-" if r.max_tenants is None else str(r.max_tenants),
                      "unlimited" if r.free is None else str(r.free))
    console.print(table)


@app.command("pooler")
def pooler(
    name: str = typer.Argument(..., help="The server, e.g. db2"),
    address: str | None = typer.Argument(None, help="The PgBouncer in front of it (transaction mode): host:port"),
    off: bool = typer.Option(False, "--off", help="Connect requests to the server directly again"),
) -> None:
    """Send the server's tenant requests through a PgBouncer (checked to lead to this server), or not (--off)."""
    from polyflow.platform.servers import set_pooler

    if bool(address) == off:
        raise typer.BadParameter("give either HOST:PORT or --off")
    host, port = call(lambda p, _: set_pooler(p, name, None if off else address))
    where = f"through the pooler at {host}:{port}" if host else "directly"
    console.print(f"server {escape(name)}: tenant requests connect {escape(where)}", highlight=False)
