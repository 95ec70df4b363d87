"""Shared CLI plumbing: settings (embedded or configured), one clear error line, exit codes."""

from __future__ import annotations

import asyncio
import sys
from contextlib import contextmanager
from typing import Awaitable, Callable, Iterator, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from polyflow.config import Settings
from polyflow.kit.errors import PolyflowError
from polyflow.platform.localpg import LocalCluster, LocalPgError

console = Console()
err = Console(stderr=True)
T = TypeVar("T")


def fail(message: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def load_settings(**overrides) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        fail(f"invalid configuration ({field}): {first.get('msg')}")
        raise  # unreachable


@contextmanager
def platform_settings(**overrides) -> Iterator[tuple[Settings, LocalCluster | None]]:
    """Configured settings, or the embedded cluster (started for the command, left as it was after)."""
    settings = load_settings(**overrides)
    if settings.database_url:
        yield settings, None
        return
    from polyflow.platform.embedded import start_embedded

    try:
        probe = LocalCluster(settings.data_dir.absolute() / "pg", settings.dev_pg_port)
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


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine; PolyflowErrors become one red line and exit code 1."""
    try:
        return asyncio.run(coro_fn())
    except PolyflowError as exc:
        fail(exc.message)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    raise AssertionError("unreachable")
