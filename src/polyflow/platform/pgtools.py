"""pg_dump and pg_restore: where they are, and running them without blocking the event loop.

The tools are looked up in ``settings.pg_bin`` (``POLYFLOW_PG_BIN``), then the newest
``/usr/lib/postgresql/*/bin``, then ``PATH``. Connection details go through ``PG*`` environment
variables, never the command line (other users can read a process's arguments). Every failure is one
clear `PgToolError` carrying the tool's own last words; a cancelled run kills the child process.
"""

from __future__ import annotations

import asyncio
import glob
import hashlib
import os
import re
import shutil
from pathlib import Path

from polyflow.kit.db import PgDsn
from polyflow.kit.errors import InvalidInput, PolyflowError

_CHUNK = 1 << 20


class PgToolError(PolyflowError):
    """pg_dump/pg_restore is missing or failed (an operations problem, not the caller's input)."""

    status_code = 503


def _major(path: str) -> int:
    name = Path(path).parent.parent.name  # /usr/lib/postgresql/<major>/bin/<tool>
    return int(name) if name.isdigit() else 0


def find_tool(name: str, pg_bin: Path | None = None) -> Path:
    """The path of ``name`` (pg_dump, pg_restore), or a PgToolError saying where we looked."""
    if pg_bin is not None:
        candidate = Path(pg_bin) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
        raise PgToolError(f"{name} not found in POLYFLOW_PG_BIN ({pg_bin})")
    system = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_major)
    if system:
        return Path(system[-1])
    found = shutil.which(name)
    if found:
        return Path(found)
    raise PgToolError(
        f"{name} not found (looked in /usr/lib/postgresql/*/bin and PATH); install the PostgreSQL client "
        "(`apt-get install -y --no-install-recommends postgresql-client`) or set POLYFLOW_PG_BIN"
    )


def _env(dsn: PgDsn) -> dict[str, str]:
    # Inherited PG* variables (a service file, PGOPTIONS...) must not change what we connect to.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(PGHOST=dsn.host, PGPORT=str(dsn.port), PGUSER=dsn.user, PGDATABASE=dsn.database,
               PGCONNECT_TIMEOUT="10", PGAPPNAME="polyflow-maintenance",
               # Tenant roles carry request limits (POLYFLOW_TENANT_STATEMENT_TIMEOUT...): lifted from the first
               # statement on (pg_restore --single-transaction would otherwise be idle in its transaction
               # before its own SETs run).
               PGOPTIONS="-c statement_timeout=0 -c idle_in_transaction_session_timeout=0")
    if dsn.password is not None:
        env["PGPASSWORD"] = dsn.password
    return env


def _last_words(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    text = "; ".join(lines[-3:]) or "no error output"
    return text[:600]


async def run_tool(tool: Path, args: list[str], dsn: PgDsn | None = None, *, what: str) -> str:
    """Run a tool to completion; its stdout on success, a PgToolError naming ``what`` otherwise."""
    try:
        proc = await asyncio.create_subprocess_exec(
            str(tool), *args, env=_env(dsn) if dsn else None, cwd="/",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise PgToolError(f"{what} failed: cannot run {tool}: {exc}") from None
    try:
        out, err = await proc.communicate()
    except BaseException:  # cancelled (Ctrl-C, a timeout): never leave a dump or restore running
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        raise PgToolError(f"{what} failed: {_last_words(err)}")
    return out.decode("utf-8", "replace")


async def dump(dsn: PgDsn, dest: Path, *, pg_bin: Path | None = None) -> None:
    """pg_dump the database of ``dsn`` in custom format to ``dest``.

    ``-f`` rather than a pipe: pg_dump then records data offsets (so `pg_restore -j` can restore in
    parallel) and fsyncs the file before it exits, so a completed backup is on disk before anything
    is dropped.
    """
    await run_tool(find_tool("pg_dump", pg_bin), ["--format=custom", "--file", str(dest)], dsn,
                   what=f"pg_dump of {dsn.database} on {dsn.host}:{dsn.port}")


async def restore(dsn: PgDsn, src: Path, *, pg_bin: Path | None = None) -> None:
    """Load a custom-format dump into the (empty) database of ``dsn``, connected as ``dsn.user``.

    Connected as the tenant's own role with ``--no-owner --no-privileges``, every object ends up
    owned by that role and no grant to the dump's original role is replayed. One transaction: all of
    it, or nothing.
    """
    await run_tool(
        find_tool("pg_restore", pg_bin),
        ["--dbname", dsn.database, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
         str(src)],
        dsn, what=f"pg_restore into {dsn.database} on {dsn.host}:{dsn.port}",
    )


async def check_archive(src: Path, *, pg_bin: Path | None = None) -> str:
    """The archive's table of contents; InvalidInput if the file is not a readable pg_dump archive."""
    tool = find_tool("pg_restore", pg_bin)
    try:
        return await run_tool(tool, ["--list", str(src)], what=f"reading {src}")
    except PgToolError as exc:
        detail = exc.message.removeprefix(f"reading {src} failed: ")
        raise InvalidInput(f"{src} is not a pg_dump custom-format archive ({detail})") from None


async def tool_major(name: str, pg_bin: Path | None = None) -> int:
    """Major version of a tool (``pg_dump (PostgreSQL) 15.4`` -> 15)."""
    out = await run_tool(find_tool(name, pg_bin), ["--version"], what=f"{name} --version")
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else 0


def file_digest(path: Path) -> tuple[int, str]:
    """(size in bytes, sha256 hex) of a file. Blocking: call it through asyncio.to_thread."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
