"""Shared CLI plumbing: settings (embedded or configured), one clear error line, exit codes."""

from __future__ import annotations

import asyncio
import sys
from contextlib import contextmanager
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


def load_settings(**overrides) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "settings"
        msg = str(first.get("msg", "")).removeprefix("Value error, ")
        fail(f"invalid configuration ({field}): {msg}")
        raise  # unreachable


@contextmanager
def platform_settings(**overrides) -> Iterator[tuple[Settings, LocalCluster | WheelCluster | None]]:
    """Configured settings, or the embedded cluster (started for the command, left as it was after)."""
    settings = load_settings(**overrides)
    if settings.database_url:
        yield settings, None
        return
    from polyflow.platform.embedded import dev_cluster, start_embedded

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
