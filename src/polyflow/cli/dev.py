"""`polyflow dev` (the embedded default) and `polyflow serve` (production)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import typer
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyflow.cli.common import console, fail, load_settings, platform_settings, run
from polyflow.kit.db import PgDsn
from polyflow.platform import fleet, provisioning
from polyflow.platform.models import Tenant
from polyflow.platform.runtime import Platform
from polyflow.platform.servers import ensure_default_server

DEMO_TENANTS = (
    ("pt-abc", "PT ABC Plastik", [
        ("PP-GRN-NAT", "PP granules, natural (virgin)", "KG", "21500"),
        ("MB-BLUE-01", "Masterbatch blue", "KG", "48000"),
        ("RAF-1200-WH", "Raffia yarn 1200 denier, white", "KG", "27500"),
        ("WB-50KG-WH", "Woven bag 50 kg, white, 55x90 cm", "PCS", "2350"),
    ]),
    ("pt-xyz", "PT XYZ Rafia", [
        ("HDPE-GRN-BLK", "HDPE granules, black (recycled)", "KG", "14800"),
        ("FLM-LDPE-40", "LDPE film roll 40 micron", "ROLL", "385000"),
        ("SCRAP-PP", "PP scrap, regrind", "KG", "6500"),
    ]),
)


async def _seed_demo(platform: Platform, tenant: Tenant, products: list[tuple[str, str, str, str]]) -> int:
    from polyflow.erp.models import Product

    engine = provisioning.maintenance_engine(provisioning.tenant_dsn(tenant, platform.secrets))
    try:
        async with AsyncSession(engine) as session, session.begin():
            if (await session.execute(select(func.count()).select_from(Product))).scalar_one():
                return 0
            for sku, name, unit, price in products:
                session.add(Product(sku=sku, name=name, unit=unit, sell_price=Decimal(price)))
        return len(products)
    finally:
        await engine.dispose()


async def prepare_dev(settings, *, embedded: bool) -> list[str]:
    """Migrate, make sure the demo tenants exist with a little data (idempotent). Returns log lines."""
    lines = []
    platform = Platform(settings)
    try:
        main_rev = await fleet.migrate_main(platform)
        await ensure_default_server(platform.main_engine, platform.secrets, PgDsn.parse(settings.database_url),
                                    refresh=embedded)
        lines.append(f"main database at revision {main_rev}")
        for r in await fleet.migrate_tenants(platform):
            if r.error:
                lines.append(f"[red]tenant {r.subdomain} failed to migrate: {r.error}[/]")
        Session = async_sessionmaker(platform.main_engine, expire_on_commit=False)
        for sub, name, products in DEMO_TENANTS:
            async with Session() as session:
                tenant = (await session.execute(select(Tenant).where(Tenant.subdomain == sub))).scalar_one_or_none()
            if tenant is None:
                tenant = await provisioning.create_tenant(platform, name=name, subdomain=sub)
                lines.append(f"created demo tenant {sub} ({name})")
            if tenant.status == "active":
                added = await _seed_demo(platform, tenant, products)
                if added:
                    lines.append(f"  {sub}: {added} demo products")
    finally:
        await platform.stop()
    return lines


def dev(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
) -> None:
    """Run everything locally: PostgreSQL (embedded unless configured), demo tenants, the app on :8000."""
    from polyflow.main import create_app

    with platform_settings(env="dev") as (settings, cluster):
        if cluster is not None:
            console.print(f"PostgreSQL: {cluster.dsn().redacted()} (data in {cluster.data_dir})", highlight=False)
        for line in run(lambda: prepare_dev(settings, embedded=cluster is not None)):
            console.print(line, highlight=False)
        suffix = "" if port == 80 else f":{port}"
        console.print("\n[bold]Polyflow is running:[/]")
        for sub, name, _ in DEMO_TENANTS:
            console.print(f"  {name:<16} http://{sub}.{settings.root_domain}{suffix}/api/v1/tenant", highlight=False)
        console.print(f"  admin            http://{settings.admin_subdomain}.{settings.root_domain}{suffix}/", highlight=False)
        console.print("  Ctrl-C stops the server and the database.\n")
        config = uvicorn.Config(create_app(settings), host=host, port=port, proxy_headers=False, log_level="info")
        try:
            asyncio.run(uvicorn.Server(config).serve())
        except KeyboardInterrupt:
            pass


def serve(
    host: str = typer.Option("0.0.0.0", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
    workers: int = typer.Option(2, min=1, help="Worker processes"),
) -> None:
    """Production server: settings from POLYFLOW_* variables, several worker processes."""
    settings = load_settings()
    if not settings.database_url:
        fail("POLYFLOW_DATABASE_URL is not set (`polyflow dev` runs the embedded default)")
    # Forwarded headers are trusted by our own middleware (POLYFLOW_TRUSTED_PROXIES), not by uvicorn.
    uvicorn.run("polyflow.main:app_from_env", factory=True, host=host, port=port, workers=workers,
                proxy_headers=False, log_level="info")
