"""`polyflow` command line: dev, serve, migrate, tenants."""

from __future__ import annotations

import typer

from polyflow.cli import dev, fleet, tenants
from polyflow.cli import billing, plans
import sys

from rich.markup import escape

from polyflow.cli.common import err, quiet_logging, unreachable
from polyflow.cli import worker
from polyflow.cli import lifecycle, servers
from polyflow.cli import admins

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Polyflow: multi-tenant ERP for plastic converters.")
app.command("dev")(dev.dev)
app.command("serve")(dev.serve)
app.add_typer(fleet.app, name="migrate")
app.command("worker")(worker.worker)
app.add_typer(tenants.app, name="tenants", help="Create and list tenants.")
lifecycle.register(tenants.app)
app.add_typer(servers.app, name="servers", help="Database servers that hold tenant databases.")
plans.register(tenants.app)
app.add_typer(plans.app, name="plans", help="Subscription plans.")
app.add_typer(billing.app, name="billing", help="Invoices, payments, suspension for non-payment.")
app.add_typer(admins.app, name="admins", help="Polyflow super-admins (sign-in on the admin host).")


def main() -> None:
    quiet_logging()
    try:
        app()
    except Exception as exc:
        # A database that cannot be reached is one line saying what was tried and what to do, from
        # whichever command met it (commands with their own handling never get here).
        message = unreachable(exc)
        if message is None:
            raise
        err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        sys.exit(1)
