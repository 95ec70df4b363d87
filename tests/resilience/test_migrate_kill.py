"""`polyflow migrate` killed (SIGKILL) mid-run: nothing it started outlives it, the run shows `aborted`
(its tenants' leases released), nothing is half-migrated, and a rerun completes every tenant.

Both ways a tenant is migrated are drilled: the scripted path (x1003, plain SQL: no worker process at
all) and the online path (x1004 asks the database through ``op.get_bind()``: worker processes forked
from a fork server, with multiprocessing's resource tracker). Each revision sleeps two seconds inside
the tenant's transaction, so the kill lands while tenant transactions are open.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select

from typer.testing import CliRunner

from polyflow.cli import app as cli_app
from polyflow.platform import fleet, migrate
from polyflow.platform.models import Tenant
from tests.fixtures.fleet_revisions import SLOW, SLOW_ONLINE
from tests.platform.test_fleet import _POLYFLOW, _env, make_tenants, tenant_exec

DEADLINE = 60  # seconds for the drill (the tenants are made before)


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(ppid, process group, state) from /proc, or None if the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # after "pid (comm) "
    return int(fields[1]), int(fields[2]), fields[0]


def _processes() -> dict[int, tuple[int, int, str]]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None:
            out[int(entry)] = st
    return out


def descendants(root: int) -> set[int]:
    """Every live process whose chain of parents leads to ``root``."""
    procs = _processes()
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, (ppid, _, _) in procs.items() if ppid in frontier and pid not in found}
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    return {pid for pid in pids if (st := _stat(pid)) is not None and st[2] != "Z"}


def in_group(pgid: int) -> set[int]:
    return {pid for pid, (_, group, state) in _processes().items() if group == pgid and state != "Z"}


async def _sleeping_tenants(admin: asyncpg.Connection) -> int:
    return await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                                "AND query LIKE '%pg_sleep(2)%' AND pid <> pg_backend_pid()")


@pytest.mark.parametrize("extra,goal,workers", [(SLOW, "x1003", False), (SLOW_ONLINE, "x1004", True)],
                         ids=["scripted", "worker-processes"])
async def test_killed_migrate_leaves_no_process_run_aborted_and_rerun_completes(platform, settings, pg_admin,
                                                                               extra, goal, workers):
    subs = await make_tenants(platform, "pt-kill", 6)
    env = _env(settings, extra)
    async with asyncio.timeout(DEADLINE):
        # Its own session: the run's process group is its pid, and the test can look for stragglers by group.
        proc = subprocess.Popen([*_POLYFLOW, "migrate", "--json", "--concurrency", "3"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        admin = await asyncpg.connect(**pg_admin.asyncpg_kwargs())
        seen: set[int] = set()
        try:
            # Until tenant transactions are open (sleeping inside the revision), note every process it started.
            while await _sleeping_tenants(admin) == 0:
                assert proc.poll() is None, proc.communicate()
                seen |= descendants(proc.pid)
                await asyncio.sleep(0.05)
            seen |= descendants(proc.pid)
            if workers:  # the drill means something: worker processes were really there
                assert len(seen) >= 3, seen
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=5)

            # Within a few seconds nothing it started is left: not by parentage, not in its process group.
            deadline = time.monotonic() + 5
            while (alive(seen) or in_group(proc.pid)) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert not alive(seen), {pid: _stat(pid) for pid in alive(seen)}
            assert not in_group(proc.pid), in_group(proc.pid)
            # ...and it holds no connection any more (its tenant transactions rolled back).
            deadline = time.monotonic() + 5
            while await _sleeping_tenants(admin) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert await _sleeping_tenants(admin) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            await admin.close()

        # Never half-migrated: every tenant is at the head of the shipped code or at the goal, whole.
        for sub in subs:
            version = (await tenant_exec(platform, sub, "SELECT version_num FROM alembic_version"))[0][0]
            column = await tenant_exec(platform, sub, "SELECT 1 FROM information_schema.columns "
                                                      "WHERE table_name = 'products' AND column_name = 'kill_mark'")
            assert (version == goal) == bool(column), (sub, version, column)

        with migrate.extra_locations_set("tenant", [extra]):
            # `migrate status` shows the run aborted, and no tenant still leased.
            status = await asyncio.to_thread(CliRunner().invoke, cli_app, ["migrate", "status", "--json"], env=env)
            assert status.exit_code == 0, status.output
            report = json.loads(status.stdout)
            assert report["last_run"]["status"] == "aborted", report["last_run"]
            assert "is gone" in report["last_run"]["halt_reason"]
            assert report["migrating"] == []

            # A rerun completes every tenant.
            rerun = await fleet.run(platform, fleet.RunOptions(concurrency=3, refresh_templates=False))
        assert rerun.ok and rerun.status == "completed", rerun.summary()
        async with platform.main_engine.connect() as conn:
            revs = dict((await conn.execute(select(Tenant.subdomain, Tenant.schema_revision)
                                            .where(Tenant.subdomain.in_(subs)))).all())
        assert revs == {sub: goal for sub in subs}
        for sub in subs:
            marks = await tenant_exec(platform, sub, "SELECT DISTINCT kill_mark FROM products")
            assert [r[0] for r in marks] == [goal]
