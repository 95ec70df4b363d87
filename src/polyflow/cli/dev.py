"""`polyflow dev` (the embedded default) and `polyflow serve` (production)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import typer
import uvicorn
from rich.markup import escape
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyflow.cli.common import console, fail, load_settings, platform_settings, run
from polyflow.kit.db import PgDsn
from polyflow.platform import fleet, jobs, provisioning
from polyflow.platform.models import Tenant
from polyflow.platform.runtime import Platform
from polyflow.platform.servers import ensure_default_server

# (sku, name, type, unit, buy price, sell price, min stock, extra fields)
DEMO_TENANTS = (
    ("pt-abc", "PT ABC Plastik", [
        ("PP-GRN-NAT", "PP granules, natural (virgin, raffia grade)", "raw_material", "KG", "21500", None, "3000",
         {"attributes": {"material": "PP", "mfi": 3, "grade": "raffia"}, "sales_unit": "ZAK", "sales_unit_factor": "25"}),
        ("CACO3-FILLER", "CaCO3 filler masterbatch", "raw_material", "KG", "6800", None, "500",
         {"attributes": {"material": "CaCO3/PE", "loading": "80%"}}),
        ("MB-BLUE-01", "Masterbatch blue", "raw_material", "KG", "48000", None, "50",
         {"attributes": {"colour": "blue"}}),
        ("LINER-LDPE", "LDPE inner liner 60x100 cm", "packaging", "PCS", "350", None, "2000",
         {"attributes": {"material": "LDPE", "thickness_micron": 30}}),
        ("RAF-1200-WH", "Raffia yarn 1200 denier, white", "intermediate", "KG", None, "27500", "0",
         {"attributes": {"denier": 1200, "colour": "white"}}),
        ("WB-50KG-WH", "Woven bag 50 kg, white, 55x90 cm", "finished_good", "PCS", None, "2350", "5000",
         {"attributes": {"size": "55x90 cm", "colour": "white", "gsm": 70}, "sales_unit": "BAL",
          "sales_unit_factor": "500"}),
        ("SCRAP-PP", "PP scrap, regrind", "scrap", "KG", None, "6500", "0", {"attributes": {"material": "PP"}}),
    ]),
    ("pt-xyz", "PT XYZ Rafia", [
        ("HDPE-GRN-BLK", "HDPE granules, black (recycled)", "raw_material", "KG", "14800", None, "2000",
         {"attributes": {"material": "HDPE", "source": "recycled"}}),
        ("FLM-LDPE-40", "LDPE film roll 40 micron", "finished_good", "ROLL", None, "385000", "20",
         {"attributes": {"thickness_micron": 40, "width_mm": 1000, "material": "LDPE"}}),
        ("SCRAP-PP", "PP scrap, regrind", "scrap", "KG", None, "6500", "0", {}),
    ]),
)

DEMO_DAYS = 21


def _demo_movements(sub: str, start):
    """A few weeks of a plant's life as (day, kind, sku, qty, from, to, unit_cost, reason, reference)."""
    from datetime import timedelta

    out = []
    if sub == "pt-abc":
        out += [(0, "IN", "PP-GRN-NAT", 8000, None, "RM-WH", "21200", "opening", "Saldo awal"),
                (0, "IN", "CACO3-FILLER", 1500, None, "RM-WH", "6800", "opening", "Saldo awal"),
                (0, "IN", "MB-BLUE-01", 120, None, "RM-WH", "47500", "opening", "Saldo awal"),
                (0, "IN", "LINER-LDPE", 10000, None, "FG-WH", "340", "opening", "Saldo awal"),
                (0, "IN", "WB-50KG-WH", 20000, None, "FG-WH", "1950", "opening", "Saldo awal")]
        for week, cost in enumerate(("21500", "21900", "22300")):
            out.append((week * 7 + 2, "IN", "PP-GRN-NAT", 5000, None, "RM-WH", cost, "purchase", f"PO/ABC/{week + 1:03d}"))
        for day in range(1, DEMO_DAYS):
            if day % 7 in (0, 6):
                continue  # weekend
            out += [(day, "TRANSFER", "PP-GRN-NAT", 1000, "RM-WH", "MIXING", None, None, f"Mixing batch {day}"),
                    (day, "OUT", "PP-GRN-NAT", 950, "MIXING", None, None, "consumption", f"Batch {day}"),
                    (day, "OUT", "CACO3-FILLER", 60, "RM-WH", None, None, "consumption", f"Batch {day}"),
                    (day, "IN", "RAF-1200-WH", 980, None, "EXTRUSION", "21400", "production", f"Batch {day}"),
                    (day, "IN", "SCRAP-PP", 30, None, "SCRAP-WH", "5000", "production", f"Batch {day}"),
                    (day, "OUT", "RAF-1200-WH", 900, "EXTRUSION", None, None, "consumption", f"Weaving {day}"),
                    (day, "IN", "WB-50KG-WH", 11000, None, "FG-WH", "1980", "production", f"Weaving {day}"),
                    (day, "OUT", "WB-50KG-WH", 10000, "FG-WH", None, None, "sale", f"SJ/ABC/{day:03d}")]
            if day % 5 == 0:
                out.append((day, "OUT", "SCRAP-PP", 100, "SCRAP-WH", None, None, "sale", f"Jual scrap {day}"))
        out.append((DEMO_DAYS - 1, "ADJUSTMENT", "MB-BLUE-01", 2, "RM-WH", None, None, "count", "Stock opname"))
    else:
        out += [(0, "IN", "HDPE-GRN-BLK", 6000, None, "RM-WH", "14500", "opening", "Saldo awal"),
                (0, "IN", "FLM-LDPE-40", 40, None, "FG-WH", "350000", "opening", "Saldo awal")]
        for day in range(1, DEMO_DAYS, 2):
            out += [(day, "OUT", "HDPE-GRN-BLK", 300, "RM-WH", None, None, "consumption", f"Extrusion {day}"),
                    (day, "IN", "FLM-LDPE-40", 6, None, "FG-WH", "352000", "production", f"Extrusion {day}"),
                    (day, "IN", "SCRAP-PP", 12, None, "SCRAP-WH", "5000", "production", f"Extrusion {day}"),
                    (day, "OUT", "FLM-LDPE-40", 5, "FG-WH", None, None, "sale", f"SJ/XYZ/{day:03d}")]
        out.append((9, "IN", "HDPE-GRN-BLK", 3000, None, "RM-WH", "14900", "purchase", "PO/XYZ/001"))
    return [(start + timedelta(days=m[0]), *m[1:]) for m in sorted(out, key=lambda m: m[0])]


async def _seed_demo(platform: Platform, tenant: Tenant, products: list[tuple]) -> int:
    """Demo products, stock and a few weeks of movements (with their journals), once per tenant."""
    from datetime import timedelta

    from polyflow.erp.catalog import service as catalog
    from polyflow.erp.catalog.schemas import ProductIn
    from polyflow.erp.inventory import service as inventory
    from polyflow.erp.inventory.schemas import MovementIn
    from polyflow.erp.models import Product

    engine = provisioning.maintenance_engine(provisioning.tenant_dsn(tenant, platform.secrets))
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            if (await session.execute(select(func.count()).select_from(Product))).scalar_one():
                return 0
            for sku, name, ptype, unit, buy, sell, min_stock, extra in products:
                await catalog.create_product(session, ProductIn(
                    sku=sku, name=name, product_type=ptype, unit=unit, buy_price=Decimal(buy) if buy else None,
                    sell_price=Decimal(sell) if sell else None, min_stock=Decimal(min_stock), **extra))
            start = inventory.today() - timedelta(days=DEMO_DAYS)
            for on, kind, sku, qty, src, dst, cost, reason, ref in _demo_movements(tenant.subdomain, start):
                await inventory.create_movement(session, MovementIn(
                    kind=kind, sku=sku, quantity=Decimal(qty), from_location=src, to_location=dst,
                    unit_cost=Decimal(cost) if cost else None, reason=reason, reference=ref, posting_date=on))
        return len(products)
    finally:
        await engine.dispose()


def demo_owner_email(sub: str) -> str:
    return f"owner@{sub}.test"


def dev_password(settings) -> str:
    """POLYFLOW_DEV_PASSWORD, else one generated on the first run and kept in the data folder (so it
    stays the same from one `polyflow dev` to the next)."""
    if settings.dev_password is not None:
        return settings.dev_password.get_secret_value()
    from polyflow.kit.passwords import one_time_password

    path = settings.data_dir / "dev-password"
    if path.exists():
        return path.read_text().strip()
    password = one_time_password()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(password + "\n")
    return password


async def _ensure_demo_owner(platform: Platform, tenant: Tenant, email: str, password: str) -> None:
    """The demo tenant's owner signs in with `password` (set again on every start)."""
    from polyflow.kit.passwords import hash_password, verify_password
    from polyflow.erp.models import User

    engine = provisioning.maintenance_engine(provisioning.tenant_dsn(tenant, platform.secrets))
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            user = await session.scalar(select(User).where(func.lower(User.email) == email))
            if user is None:
                user = User(email=email, name="Owner", roles=["owner"])
                session.add(user)
            if not verify_password(user.password_hash, password):
                user.password_hash = await asyncio.to_thread(hash_password, password)
            user.is_active, user.must_change_password = True, False
            if "owner" not in user.roles:
                user.roles = ["owner", *user.roles]
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
                tenant = await provisioning.create_tenant(platform, name=name, subdomain=sub, plan="pro")
                lines.append(f"created demo tenant {sub} ({name})")
            if tenant.status == "active":
                added = await _seed_demo(platform, tenant, products)
                if added:
                    lines.append(f"  {sub}: {added} demo products")
                await _ensure_demo_owner(platform, tenant, demo_owner_email(sub), dev_password(settings))
    finally:
        await platform.stop()
    return lines


def dev(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
) -> None:
    """Run everything locally: PostgreSQL (embedded unless configured), demo tenants, the app on :8000."""
    from polyflow.main import create_app

    # Links in mail (invites, resets) point at this server.
    with platform_settings(create=True, env="dev", public_scheme="http", public_port=port) as (settings, cluster):
        if cluster is not None:
            console.print(f"PostgreSQL: {cluster.dsn().redacted()} (data in {cluster.data_dir})", highlight=False)
        for line in run(lambda: prepare_dev(settings, embedded=cluster is not None)):
            console.print(line, highlight=False)
        suffix = "" if port == 80 else f":{port}"
        console.print("\n[bold]Polyflow is running:[/]")
        for sub, name, _ in DEMO_TENANTS:
            console.print(f"  {name:<16} http://{sub}.{settings.root_domain}{suffix}/  "
                          f"(sign in as {demo_owner_email(sub)})", highlight=False)
        console.print(f"  demo password    {escape(dev_password(settings))}"
                      + ("" if settings.dev_password else f"  (kept in {settings.data_dir / 'dev-password'}; "
                                                            "POLYFLOW_DEV_PASSWORD overrides it)"), highlight=False)
        console.print(f"  admin            http://{settings.admin_subdomain}.{settings.root_domain}{suffix}/", highlight=False)
        console.print("  one job worker runs in this process (API-started onboarding, scheduled tasks)")
        console.print("  Ctrl-C stops the server, the worker and the database.\n")
        config = uvicorn.Config(create_app(settings), host=host, port=port, proxy_headers=False, log_level="info")
        try:
            asyncio.run(serve_with_worker(settings, uvicorn.Server(config)))
        except KeyboardInterrupt:
            pass


async def serve_with_worker(settings, server: uvicorn.Server) -> None:
    """uvicorn and one job worker on one event loop. uvicorn owns the signals; when it has stopped,
    the worker gets a few seconds to finish its job (an unfinished onboarding is resumed next time)."""
    worker = asyncio.create_task(jobs.run_worker(settings, name="dev-worker", install_signal_handlers=False,
                                                 graceful_timeout=10), name="dev-worker")
    worker.add_done_callback(_worker_ended)
    try:
        await server.serve()
    finally:
        await jobs.stop_worker(worker)


def _worker_ended(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        console.print(f"[red]job worker stopped: {type(exc).__name__}: {escape(str(exc))}[/]", highlight=False)


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
