"""`polyflow dev` (the embedded default) and `polyflow serve` (production)."""

from __future__ import annotations

import asyncio

import typer
import uvicorn
from rich.markup import escape
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from polyflow.cli.common import console, fail, load_settings, platform_settings, run
from polyflow.erp import demo
from polyflow.erp.demo import DEMO_TENANTS
from polyflow.kit.db import PgDsn
from polyflow.kit.logs import configure_logging
from polyflow.platform import fleet, jobs, provisioning
from polyflow.platform.models import Tenant
from polyflow.platform.runtime import Platform
from polyflow.platform.servers import ensure_default_server


async def _seed_demo(platform: Platform, tenant: Tenant) -> int:
    """The demo plant's products, partners and three weeks of trade (erp/demo), once per tenant."""
    engine = provisioning.maintenance_engine(provisioning.tenant_dsn(tenant, platform.secrets))
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            return await demo.seed_tenant(session, tenant.subdomain)
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
        for sub, name, _ in DEMO_TENANTS:
            async with Session() as session:
                tenant = (await session.execute(select(Tenant).where(Tenant.subdomain == sub))).scalar_one_or_none()
            if tenant is None:
                tenant = await provisioning.create_tenant(platform, name=name, subdomain=sub, plan="pro")
                lines.append(f"created demo tenant {sub} ({name})")
            if tenant.status == "active":
                added = await _seed_demo(platform, tenant)
                if added:
                    lines.append(f"  {sub}: {added} demo products, three weeks of trade")
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
        # Our log lines (text in dev, POLYFLOW_LOG_FORMAT overrides) and our access line (with the tenant):
        # uvicorn keeps its hands off logging and writes no access line of its own.
        configure_logging(settings)
        config = uvicorn.Config(create_app(settings), host=host, port=port, proxy_headers=False, log_config=None,
                                access_log=False)
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
    # The supervisor's lines in our format too; each worker configures its own in app_from_env.
    configure_logging(settings)
    # The workers' shared metrics folder, emptied before they start (platform/observability/metrics.py).
    from polyflow.platform.observability.metrics import prepare_node

    prepare_node(settings, workers)
    # Forwarded headers are trusted by our own middleware (POLYFLOW_TRUSTED_PROXIES), not by uvicorn. The access
    # line is ours (kit/logs.py: it names the tenant), so uvicorn writes none.
    # uvicorn's default 5 s worker health check kills a worker still importing the app on a busy node, and
    # restarts it forever: give start-up a minute.
    uvicorn.run("polyflow.main:app_from_env", factory=True, host=host, port=port, workers=workers,
                proxy_headers=False, log_config=None, access_log=False, timeout_worker_healthcheck=60)
