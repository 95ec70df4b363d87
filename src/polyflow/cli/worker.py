"""`polyflow worker`: job workers (API-started onboarding, scheduled tasks) on the main database."""

from __future__ import annotations

import asyncio
import logging
import os

import psycopg
import psycopg_pool
import typer
from procrastinate import exceptions as pq_exceptions
from rich.markup import escape

from polyflow.cli.common import console, err, fail, platform_settings
from polyflow.kit.db import PgDsn
from polyflow.kit.errors import PolyflowError
from polyflow.platform import jobs


def _job_logging() -> None:
    """The worker's own log is its output: job starts/ends and onboarding steps at INFO."""
    if "POLYFLOW_LOG_LEVEL" in os.environ:
        return  # the operator chose a level (see `quiet_logging`)
    for name in ("procrastinate", "polyflow"):
        logging.getLogger(name).setLevel(logging.INFO)


def worker(
    concurrency: int = typer.Option(1, "--concurrency", "-c", min=1, max=200,
                                    help="Jobs run at the same time in this process"),
    queue: list[str] = typer.Option([], "--queue", "-q",
                                    help="Only these queues (repeatable): onboarding, maintenance, default"),
    graceful_timeout: float = typer.Option(30.0, "--graceful-timeout", min=0,
                                           help="Seconds running jobs get to finish on Ctrl-C/SIGTERM "
                                                "before they are aborted (and retried later)"),
) -> None:
    """Run job workers against the main database until Ctrl-C or SIGTERM."""
    _job_logging()
    with platform_settings() as (settings, _):
        where = PgDsn.parse(settings.database_url).redacted()
        console.print(f"worker: {concurrency} concurrent job(s) on {', '.join(queue) or 'all queues'}; "
                      f"main database {escape(where)}", highlight=False)
        try:
            asyncio.run(jobs.run_worker(settings, concurrency=concurrency, queues=queue or None,
                                        graceful_timeout=graceful_timeout))
        except KeyboardInterrupt:  # a second Ctrl-C while jobs were finishing
            err.print("interrupted")
            raise typer.Exit(130)
        except PolyflowError as exc:
            fail(exc.message)
        except (psycopg.Error, psycopg_pool.PoolTimeout, pq_exceptions.ConnectorException, OSError) as exc:
            cause = exc.__cause__ or exc
            hint = " (run `polyflow migrate`)" if "does not exist" in str(cause) else ""
            fail(f"job queue on {where}: {cause}{hint}".replace("\n", " "))
    console.print("worker stopped")
