"""Test fixtures: a real PostgreSQL cluster and Redis, a fresh main database per test (cloned from a
migrated template), tenants provisioned by the real code, and live HTTP servers."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest

from polyflow.config import Settings
from polyflow.kit.db import PgDsn, quote_ident
from polyflow.platform import migrate, provisioning
from polyflow.platform.servers import ensure_default_server
from polyflow.platform.localpg import LocalCluster, free_port
from polyflow.platform.runtime import Platform
from tests.fixtures.live import LiveServer
from tests.fixtures.services import RedisServer

TEST_SECRET = "test-secret-key-0123456789abcdef"
MAIN_TEMPLATE = "pf_main_template"


@pytest.fixture(scope="session")
def pg_admin() -> PgDsn:
    """Superuser DSN of the test cluster: POLYFLOW_TEST_PG_URL, or a cluster started for this run."""
    url = os.environ.get("POLYFLOW_TEST_PG_URL")
    if url:
        yield PgDsn.parse(url)
        return
    root = Path(tempfile.mkdtemp(prefix="pf-pg-"))
    cluster = LocalCluster(root, free_port(), fast=True)
    cluster.start()
    try:
        yield cluster.dsn()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> RedisServer:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.remove()


def _admin_exec(dsn: PgDsn, *statements: str) -> None:
    """Run admin statements synchronously (usable from sync and async tests alike)."""
    with psycopg.connect(dsn.url("postgresql"), autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql)


@pytest.fixture(scope="session")
def main_template(pg_admin: PgDsn) -> str:
    """A migrated main database with the test cluster registered as the default server."""

    async def build():
        _admin_exec(pg_admin, f"DROP DATABASE IF EXISTS {MAIN_TEMPLATE}", f"CREATE DATABASE {MAIN_TEMPLATE}")
        settings = Settings(env="test", database_url=pg_admin.with_database(MAIN_TEMPLATE).url("postgresql"),
                            secret_key=TEST_SECRET)
        platform = Platform(settings)
        try:
            await migrate.upgrade(platform.main_engine, "main")
            await ensure_default_server(platform.main_engine, platform.secrets, pg_admin)
        finally:
            await platform.stop()

    asyncio.run(build())
    return MAIN_TEMPLATE


@pytest.fixture
def make_settings(pg_admin, main_template, redis_server):
    """Settings for a brand-new main database cloned from the template (cheap: CREATE DATABASE ... TEMPLATE)."""
    created: list[str] = []
    namespace = f"t{uuid.uuid4().hex[:10]}"

    def make(**overrides) -> Settings:
        if "database_url" not in overrides:
            name = f"pf_main_{uuid.uuid4().hex[:12]}"
            _admin_exec(pg_admin, f"CREATE DATABASE {name} TEMPLATE {main_template}")
            created.append(name)
            overrides["database_url"] = pg_admin.with_database(name).url("postgresql")
        values = dict(env="test", secret_key=TEST_SECRET, redis_url=redis_server.url, redis_namespace=namespace)
        # Many tests change users, tokens and sessions by hand (SQL, to travel in time): the app cannot see that,
        # so the verified-credential cache is off unless a test (tests/platform/tenancy/test_credentials.py) or
        # POLYFLOW_CREDENTIAL_CACHE_SECONDS asks for it.
        if "POLYFLOW_CREDENTIAL_CACHE_SECONDS" not in os.environ:
            values["credential_cache_seconds"] = 0
        values.update(overrides)
        return Settings(**values)

    yield make
    _drop_main_databases(pg_admin, created)


def _drop_main_databases(pg_admin: PgDsn, names: list[str]) -> None:
    """Drop test main databases and every tenant database/role they registered."""
    for name in names:
        with psycopg.connect(pg_admin.with_database(name).url("postgresql"), autocommit=True) as conn:
            rows = conn.execute("SELECT db_name, db_user FROM tenants").fetchall()
        statements = []
        for db_name, db_user in rows:
            statements += [f"DROP DATABASE IF EXISTS {quote_ident(db_name)} WITH (FORCE)",
                           f"DROP ROLE IF EXISTS {quote_ident(db_user)}"]
        _admin_exec(pg_admin, *statements, f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")


@pytest.fixture
def settings(make_settings) -> Settings:
    return make_settings()


@pytest.fixture
async def platform(settings):
    """A Platform (main DB, Redis, caches) for calling services directly; not serving HTTP."""
    p = Platform(settings)
    yield p
    await p.stop()


@pytest.fixture
def make_tenant(platform):
    """Provision tenants with the real code (own role + database, migrated, active)."""

    async def make(subdomain: str, name: str | None = None):
        return await provisioning.create_tenant(platform, name=name or subdomain.upper(), subdomain=subdomain)

    return make


@pytest.fixture
def make_tenant_sync(settings):
    """make_tenant for sync tests (CLI and subprocess tests)."""

    def make(subdomain: str, name: str | None = None):
        async def go():
            p = Platform(settings)
            try:
                return await provisioning.create_tenant(p, name=name or subdomain.upper(), subdomain=subdomain)
            finally:
                await p.stop()

        return asyncio.run(go())

    return make


@pytest.fixture
def live(settings):
    """The app served over real HTTP on 127.0.0.1 (same main database as `platform`)."""
    server = LiveServer(settings).start()
    yield server
    server.stop()


@pytest.fixture
def make_live():
    servers: list[LiveServer] = []

    def make(settings: Settings) -> LiveServer:
        server = LiveServer(settings).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
