"""`polyflow migrate`: the main database, then every tenant database."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.markup import escape
from rich.table import Table

from polyflow.cli.common import console, err, platform_settings, run
from polyflow.kit.db import PgDsn
from polyflow.platform import fleet
from polyflow.platform.runtime import Platform
from polyflow.platform.servers import ensure_default_server


def migrate(as_json: bool = typer.Option(False, "--json", help="Print the report as JSON")) -> None:
    """Upgrade the main database, then every tenant database; non-zero exit if any tenant failed."""
    with platform_settings() as (settings, cluster):
        async def go():
            platform = Platform(settings)
            try:
                main_rev = await fleet.migrate_main(platform)
                await ensure_default_server(platform.main_engine, platform.secrets,
                                            PgDsn.parse(settings.database_url), refresh=cluster is not None)
                if not as_json:
                    console.print(f"main database at {main_rev}")
                results = await fleet.migrate_tenants(
                    platform,
                    on_done=None if as_json else lambda r: console.print(
                        f"  {r.subdomain}: " + (f"[red]FAILED[/] {escape(r.error)}" if r.error else f"{r.from_revision} -> {r.to_revision}"),
                        highlight=False,
                    ),
                )
                return main_rev, results
            finally:
                await platform.stop()

        main_rev, results = run(go)
    failed = [r for r in results if r.error]
    if as_json:
        print(json.dumps({"main": main_rev, "tenants": [asdict(r) for r in results], "failed": len(failed)}, indent=2))
    else:
        table = Table("tenants", "upgraded", "failed")
        table.add_row(str(len(results)), str(len(results) - len(failed)), str(len(failed)))
        console.print(table)
    if failed:
        err.print(f"[red]{len(failed)} tenant(s) failed[/]")
        raise typer.Exit(1)
