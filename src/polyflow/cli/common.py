"""Shared CLI plumbing: settings (embedded or configured), one clear error line, exit codes.

Where the main database is, in order: POLYFLOW_DATABASE_URL; else the cluster `polyflow dev` keeps in
its data folder (``.polyflow/`` here, or POLYFLOW_DATA_DIR), whose port, superuser password and secret
key are read from the folder (and env=dev), started for the command if it is not running; else a
clear error saying what to set. Only `polyflow dev` creates a new data folder.
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Awaitable, Callable, Iterator, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from polyflow.config import Settings
from polyflow.kit.errors import PolyflowError
from polyflow.platform.localpg import LocalCluster, LocalPgError, WheelCluster

# soft_wrap: an error stays one line in logs and pipes (no wrapping at 80 columns).
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def fail(message: str, code: int = 1) -> None:
    """One red error line on stderr, then exit (user input in the message is printed literally)."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def quiet_logging() -> None:
    """CLI output is the command's own lines; library warnings only when POLYFLOW_LOG_LEVEL asks."""
    import logging
    import os

    level = os.environ.get("POLYFLOW_LOG_LEVEL", "ERROR").upper()
    logging.basicConfig(level=getattr(logging, level, logging.ERROR), format="%(levelname)s %(name)s: %(message)s")


def _data_dir(overrides: dict) -> Path:
    return Path(overrides.get("data_dir") or os.environ.get("POLYFLOW_DATA_DIR") or Settings.model_fields["data_dir"].default)


def dev_folder_overrides(overrides: dict) -> dict:
    """With no database URL configured, next to `polyflow dev`'s data folder: env=dev and the folder's
    secret key, unless POLYFLOW_ENV / POLYFLOW_SECRET_KEY (or the caller) say otherwise."""
    if overrides.get("database_url") or os.environ.get("POLYFLOW_DATABASE_URL"):
        return {}
    from polyflow.platform.embedded import dev_settings_defaults

    found = dev_settings_defaults(_data_dir(overrides).absolute())
    if os.environ.get("POLYFLOW_ENV"):
        found.pop("env", None)
    if os.environ.get("POLYFLOW_SECRET_KEY"):
        found.pop("secret_key", None)
    return found


def load_settings(**overrides) -> Settings:
    try:
        return Settings(**{**dev_folder_overrides(overrides), **overrides})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        msg = str(first.get("msg", "")).removeprefix("Value error, ")
        fail(f"invalid configuration ({field}): {msg}")
        raise  # unreachable


@contextmanager
def platform_settings(*, create: bool = False, **overrides) -> Iterator[tuple[Settings, LocalCluster | WheelCluster | None]]:
    """Configured settings, or the embedded cluster (started for the command, left as it was after).
    ``create``: `polyflow dev` may make a new data folder; other commands need one that exists."""
    from polyflow.platform.embedded import dev_cluster, is_dev_folder, start_embedded

    configured = overrides.get("database_url") or os.environ.get("POLYFLOW_DATABASE_URL")
    folder = _data_dir(overrides).absolute()
    if not configured and not create and not is_dev_folder(folder):
        # Said before the settings are checked: the missing URL is the problem, not the default secret.
        fail(f"no database configured: set POLYFLOW_DATABASE_URL (and POLYFLOW_SECRET_KEY), or run this in the "
             f"folder where `polyflow dev` keeps its data (there is none at {folder}; POLYFLOW_DATA_DIR "
             "names another)")
    settings = load_settings(**overrides)
    if settings.database_url:
        yield settings, None
        return

    try:
        probe = dev_cluster(settings)
        was_running = probe.initialized and probe.running
        settings, cluster = start_embedded(settings)
    except LocalPgError as exc:
        fail(str(exc))
        raise
    try:
        yield settings, cluster
    finally:
        if not was_running:
            cluster.stop()


def unreachable(exc: BaseException) -> str | None:
    """One line for a database that cannot be reached (wrong host, port or password), else None."""
    import asyncpg
    from sqlalchemy.exc import InterfaceError, OperationalError

    orig = getattr(exc, "orig", None) or exc
    if not isinstance(exc, (OSError, TimeoutError, OperationalError, InterfaceError, asyncpg.PostgresConnectionError,
                            asyncpg.InvalidAuthorizationSpecificationError, asyncpg.InvalidPasswordError)):
        return None
    target = "the main database"
    url = os.environ.get("POLYFLOW_DATABASE_URL")
    if url:
        from polyflow.kit.db import PgDsn

        try:
            target = f"the main database at {PgDsn.parse(url).redacted()}"
        except Exception:  # a URL that does not even parse: name the variable only
            target = "the main database (POLYFLOW_DATABASE_URL)"
    reason = " ".join(str(orig).split()) or type(orig).__name__
    return (f"cannot connect to {target}: {reason}; check POLYFLOW_DATABASE_URL (host, port, password) and that "
            "PostgreSQL is running there")


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine; PolyflowErrors become one red line and exit code 1."""
    try:
        return asyncio.run(coro_fn())
    except PolyflowError as exc:
        fail(exc.message)
    except Exception as exc:
        message = unreachable(exc)
        if message is None:
            raise
        fail(message)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    raise AssertionError("unreachable")
