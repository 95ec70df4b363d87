"""`polyflow plans list` and the plan/module commands of `polyflow tenants` (set-plan, grant, revoke,
entitlements)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import typer
from rich.markup import escape
from rich.table import Table

from polyflow.cli.billing import money, parse_until, with_platform
from polyflow.cli.common import console
from polyflow.platform import entitlements

app = typer.Typer(no_args_is_help=True)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Machine-readable output")) -> None:
    """Plans with price, user limit, modules and trial length."""
    plans = with_platform(lambda p: entitlements.list_plans(p.main_engine))
    if as_json:
        print(json.dumps([p.as_json() for p in plans], indent=2))
        return
    table = Table("plan", "per month", "users", "trial days", "modules")
    table.columns[1].no_wrap = True
    for p in plans:
        table.add_row(*(escape(str(v)) for v in (
            p.code + ("" if p.is_active else " (retired)"), money(p.monthly_price),
            p.max_users if p.max_users is not None else "any", p.trial_days or "-", ", ".join(p.modules) or "-")))
    console.print(table)


def set_plan(
    subdomain: str = typer.Argument(..., help="Tenant subdomain"),
    plan: str = typer.Argument(..., help="Plan code (see `polyflow plans list`)"),
    trial_until: str | None = typer.Option(None, "--trial-until", help="Trial plans: end of the trial (YYYY-MM-DD)"),
) -> None:
    """Move a tenant to another plan (every app process sees it within a second)."""
    until = parse_until(trial_until, "--trial-until")
    tenant = with_platform(lambda p: entitlements.set_plan(p, subdomain, plan, trial_until=until, actor="cli"))
    line = f"{escape(tenant.subdomain)}: plan {escape(tenant.plan)}"
    if tenant.trial_ends_at is not None and tenant.trial_ends_at > datetime.now(timezone.utc):
        line += f" (trial ends {tenant.trial_ends_at:%Y-%m-%d %H:%M} UTC)"
    console.print(line, highlight=False)


def grant(
    subdomain: str = typer.Argument(..., help="Tenant subdomain"),
    module: str = typer.Argument(..., help=f"One of: {', '.join(entitlements.MODULES)}"),
    until: str | None = typer.Option(None, "--until", help="Last day of access (YYYY-MM-DD, UTC) or a date-time"),
) -> None:
    """Grant a module beyond the tenant's plan, optionally until a date."""
    end = parse_until(until, "--until")
    row = with_platform(lambda p: entitlements.grant_module(p, subdomain, module, until=end, actor="cli"))
    suffix = f" until {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else ""
    console.print(f"{escape(subdomain)}: module {escape(row.module)} granted{suffix}", highlight=False)


def revoke(
    subdomain: str = typer.Argument(..., help="Tenant subdomain"),
    module: str = typer.Argument(..., help="A module granted with `tenants grant`"),
) -> None:
    """Remove a module grant (modules of the plan change with the plan)."""
    with_platform(lambda p: entitlements.revoke_module(p, subdomain, module, actor="cli"))
    console.print(f"{escape(subdomain)}: module {escape(module.strip().lower())} revoked", highlight=False)


def show_entitlements(
    subdomain: str = typer.Argument(..., help="Tenant subdomain"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """A tenant's plan, user limit and modules (from the plan or granted, until when)."""
    ent = with_platform(lambda p: entitlements.get_entitlements(p, subdomain))
    if as_json:
        print(json.dumps(ent.as_json(), indent=2))
        return
    trial = f", trial ends {ent.trial_ends_at:%Y-%m-%d %H:%M} UTC" if ent.plan_is_trial and ent.trial_ends_at else ""
    users = ent.max_users if ent.max_users is not None else "unlimited"
    console.print(f"{escape(ent.subdomain)}: plan {escape(ent.plan)}{trial}; max users {users}", highlight=False)
    table = Table("module", "from", "until", "usable")
    for m in ent.modules:
        table.add_row(escape(m.module), m.source, f"{m.until:%Y-%m-%d %H:%M} UTC" if m.until else "-",
                      "yes" if m.active else "no")
    console.print(table)


def register(tenants_app: typer.Typer) -> None:
    """Add the plan/module commands to `polyflow tenants`."""
    tenants_app.command("set-plan")(set_plan)
    tenants_app.command("grant")(grant)
    tenants_app.command("revoke")(revoke)
    tenants_app.command("entitlements")(show_entitlements)
