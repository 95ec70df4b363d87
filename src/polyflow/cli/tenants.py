"""`polyflow tenants ...`"""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.markup import escape
from rich.table import Table

from polyflow.cli.common import console, platform_settings, run
from polyflow.platform import onboarding, provisioning, reconcile
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
    admin_email: str = typer.Option(..., "--admin-email", help="The owner's email: the tenant's first user"),
    plan: str = typer.Option("trial", "--plan", help="Subscription plan (see `polyflow plans list`)"),
    server: str | None = typer.Option(None, "--server", help="Database server name (default: most free capacity)"),
    no_template: bool = typer.Option(False, "--no-template", help="Migrate from scratch instead of cloning"),
) -> None:
    """Onboard a tenant: own role and database (cloned from the template), seeded, verified, active.

    Running the same command again after an interruption resumes where it stopped.
    """
    with platform_settings() as (settings, cluster):
        async def go(platform: Platform):
            await ensure_default_server(platform.main_engine, platform.secrets, PgDsn.parse(settings.database_url),
                                        refresh=cluster is not None)
            with console.status(f"onboarding {escape(subdomain)}...") as status:
                def hook(step: str, phase: str) -> None:
                    if phase == "start":
                        status.update(f"onboarding {escape(subdomain)}: {step}...")

                return await onboarding.onboard(platform, name=name, subdomain=subdomain, admin_email=admin_email,
                                                plan=plan, server_name=server, hook=hook,
                                                use_template=not no_template)

        result = run(lambda: _with_platform(settings, go))
    tenant = result.tenant
    if result.resumed:
        console.print(f"[bold]{escape(tenant.subdomain)}[/] ({escape(tenant.name)}) was already active; its owner "
                      "has never signed in, so a new one-time password was issued (the earlier one no longer works)")
    else:
        how = "cloned from the template" if result.from_template else "migrated from scratch"
        console.print(f"created [bold]{escape(tenant.subdomain)}[/] ({escape(tenant.name)}) in {result.seconds:.2f}s, "
                      f"{how}, revision {tenant.schema_revision}")
    console.print(f"  http://{tenant.subdomain}.{settings.root_domain}" + (":8000" if settings.env == "dev" else ""))
    if result.admin_password:
        console.print(f"  owner: {escape(result.admin_email)}  one-time password: [bold]{result.admin_password}[/] "
                      "(shown once; it must be changed at first sign-in)")
    with platform_settings() as (settings, _):
        # Ready a spare database for the next onboarding (after the answer: not on its critical path).
        run(lambda: _with_platform(settings, lambda p: onboarding.refill_spares(p, tenant.server.name)))


@app.command("reset-owner")
def reset_owner(
    subdomain: str,
    email: str | None = typer.Option(None, "--email", help="Which owner (default: the onboarding's owner, "
                                                            "else the oldest active owner)"),
) -> None:
    """Send a tenant's owner a fresh one-time link to choose a password (also printed here)."""
    with platform_settings() as (settings, _):
        done = run(lambda: _with_platform(settings, lambda p: onboarding.reset_owner(p, subdomain, email=email)))
    console.print(f"{escape(done.subdomain)}: a new invitation link for {escape(done.email)} (works once, for "
                  f"{settings.invite_link_days} days; mailed too; earlier links no longer work):")
    print(done.link)


@app.command("show")
def show(subdomain: str, as_json: bool = typer.Option(False, "--json", help="Machine-readable output")) -> None:
    """Everything the registry knows about one tenant, including onboarding progress."""
    with platform_settings() as (settings, _):
        info = run(lambda: _with_platform(settings, lambda p: provisioning.describe(p.main_engine, subdomain)))
    if as_json:
        print(json.dumps(info, default=str, indent=2))
        return
    table = Table(show_header=False, box=None)
    for key, value in info.items():
        table.add_row(f"[dim]{key}[/]", escape(str(value if value is not None else "-")))
    console.print(table)


@app.command("abandon")
def abandon(subdomain: str) -> None:
    """Remove an unfinished onboarding (its database, role and registry row)."""
    with platform_settings() as (settings, _):
        run(lambda: _with_platform(settings, lambda p: onboarding.abandon(p, subdomain)))
    console.print(f"{escape(subdomain)}: removed")


@app.command("reconcile")
def reconcile_(
    fix: bool = typer.Option(False, "--fix", help="Drop orphans, resume or remove unfinished onboardings"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """Compare the registry with every database server: orphans, unfinished onboardings, missing databases."""
    with platform_settings() as (settings, _):
        findings = run(lambda: _with_platform(settings, lambda p: reconcile.reconcile(p, fix=fix)))
    if as_json:
        print(json.dumps([f.as_dict() for f in findings], indent=2))
    elif not findings:
        console.print("registry and servers agree: nothing to do")
    else:
        table = Table("server", "finding", "name", "fixed" if fix else "--fix would")
        for f in findings:
            table.add_row(escape(f.server), f.kind, escape(f.name), escape(f.action))
        console.print(table)
    unresolved = [f for f in findings if not fix or f.kind == "missing_database"]
    if unresolved:
        raise typer.Exit(1)


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
