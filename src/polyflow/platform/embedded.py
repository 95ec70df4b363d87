"""The embedded default: with POLYFLOW_DATABASE_URL unset, a local PostgreSQL cluster under data_dir."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

import asyncpg

from polyflow.config import Settings
from polyflow.kit.db import PgDsn, quote_ident
from polyflow.platform.localpg import LocalCluster, WheelCluster, local_cluster

MAIN_DB = "polyflow_main"


def _secret_key(data_dir: Path) -> str:
    """A random secret generated once and kept beside the data (it decrypts the tenants' passwords)."""
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        os.chmod(path, 0o600)
    return path.read_text().strip()


async def ensure_database(admin: PgDsn, name: str) -> None:
    conn = await asyncpg.connect(**admin.asyncpg_kwargs())
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f"CREATE DATABASE {quote_ident(name)}")
    finally:
        await conn.close()


def dev_cluster(base: Settings) -> LocalCluster | WheelCluster:
    return local_cluster(base.data_dir.absolute() / "pg", base.dev_pg_port)


def start_embedded(base: Settings) -> tuple[Settings, LocalCluster | WheelCluster]:
    """Start (or reuse) the local cluster and return settings pointing at it (env=dev)."""
    data_dir = base.data_dir.absolute()
    data_dir.mkdir(parents=True, exist_ok=True)
    cluster = dev_cluster(base)
    cluster.start()
    admin = cluster.dsn()
    asyncio.run(ensure_database(admin, MAIN_DB))
    overrides = {
        "env": "dev",
        "database_url": admin.with_database(MAIN_DB).url("postgresql"),
        "secret_key": _secret_key(data_dir),
    }
    data = base.model_dump()
    data.update(overrides)
    return Settings(**data), cluster
