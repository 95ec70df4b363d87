"""The embedded default: with POLYFLOW_DATABASE_URL unset, a local PostgreSQL cluster under data_dir.

The data folder (``.polyflow/`` or POLYFLOW_DATA_DIR) holds everything another command needs to find
the cluster `polyflow dev` runs: ``pg/`` (the cluster, its superuser password, the port it last
started on) and ``secret_key``. `dev_settings_defaults` reads them for the CLI.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path

import asyncpg

from polyflow.config import Settings
from polyflow.kit.db import PgDsn, quote_ident
from polyflow.platform.localpg import LocalCluster, LocalPgError, WheelCluster, local_cluster

MAIN_DB = "polyflow_main"


def _secret_key(data_dir: Path) -> str:
    """A random secret generated once and kept beside the data (it decrypts the tenants' passwords)."""
    path = data_dir / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        os.chmod(path, 0o600)  # before the secret is in it
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def is_dev_folder(data_dir: Path) -> bool:
    """`polyflow dev` has run here (its cluster or its secret key is in the folder)."""
    return (data_dir / "pg" / "data" / "PG_VERSION").exists() or (data_dir / "secret_key").exists()


def dev_settings_defaults(data_dir: Path) -> dict:
    """What a command run next to `polyflow dev`'s data folder takes from it when nothing else is
    configured: env=dev and the folder's secret key (the one that encrypted the tenants' passwords)."""
    if not is_dev_folder(data_dir):
        return {}
    values: dict = {"env": "dev"}
    key = data_dir / "secret_key"
    if key.exists():
        values["secret_key"] = key.read_text().strip()
    return values


async def ensure_database(admin: PgDsn, name: str) -> None:
    try:
        conn = await asyncpg.connect(**admin.asyncpg_kwargs(), timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise LocalPgError(
            f"cannot connect to the local PostgreSQL at {admin.host}:{admin.port} as {admin.user} ({exc}); "
            "is another server on that port? Stop it or choose another with POLYFLOW_DEV_PG_PORT"
        ) from None
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f"CREATE DATABASE {quote_ident(name)}")
    finally:
        await conn.close()


def dev_cluster(base: Settings) -> LocalCluster | WheelCluster:
    """The data folder's cluster, on the port it really uses: the running server's; else
    POLYFLOW_DEV_PG_PORT when set; else the port of its last start; else the default."""
    cluster = local_cluster(base.data_dir.absolute() / "pg", base.dev_pg_port)
    if isinstance(cluster, LocalCluster):
        port = cluster.running_port()
        if port is None and "dev_pg_port" not in base.model_fields_set:
            port = cluster.recorded_port()
        if port is not None:
            cluster.port = port
    return cluster


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
