"""`polyflow` command line: dev, serve, migrate, tenants."""

from __future__ import annotations

import typer

from polyflow.cli import dev, fleet, tenants
from polyflow.cli.common import quiet_logging

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Polyflow: multi-tenant ERP for plastic converters.")
app.command("dev")(dev.dev)
app.command("serve")(dev.serve)
app.command("migrate")(fleet.migrate)
app.add_typer(tenants.app, name="tenants", help="Create and list tenants.")


def main() -> None:
    quiet_logging()
    app()
