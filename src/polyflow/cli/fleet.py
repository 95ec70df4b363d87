"""`polyflow migrate`: the main database, then every tenant database (in parallel, recorded);
`polyflow migrate status`: where the fleet stands, from the main database alone."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich import box
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from polyflow.cli.common import console, err, fail, platform_settings, run
from polyflow.kit.db import PgDsn
from polyflow.platform import fleet, migrate
from polyflow.platform.fleet import queue as _queue  # noqa: F401  (registers the job task)
from polyflow.platform.fleet.records import who
from polyflow.platform.runtime import Platform
from polyflow.platform.servers import ensure_default_server, lock_down

app = typer.Typer(add_completion=False, help="Upgrade the main database, then every tenant database (exit 1 if any "
                  "tenant failed or was left behind); `migrate status` shows where the fleet stands.")


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _canary(value: str | None) -> int | list[str] | None:
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    names = _split([value])
    if not names:
        fail("--canary takes a number or a comma-separated list of subdomains")
    return names


def _extra_locations(settings, paths: list[Path]) -> None:
    try:
        migrate.configure(settings)
        if paths:
            migrate.use_extra_locations("tenant", paths)
    except ValueError as exc:
        fail(str(exc))


class _Live(fleet.Progress):
    """A Rich progress bar on a terminal; one line per tenant that was worked on otherwise."""

    def __init__(self, bar: bool):
        self.bar = bar
        self.counts = {"migrated": 0, "failed": 0, "skipped": 0}
        self._progress: Progress | None = None
        self._task = None

    def start(self, *, work: int, skipped: int, run_id: int | None) -> None:
        console.print(f"run {run_id}: {work} tenant(s) to migrate to {migrate.head('tenant')}; "
                      f"{skipped} at the head or ahead of it (not connected to)", highlight=False)
        if self.bar and work:
            self._progress = Progress(
                TextColumn("tenants"), BarColumn(), MofNCompleteColumn(),
                TextColumn("[green]{task.fields[migrated]} migrated[/] [red]{task.fields[failed]} failed[/] "
                           "{task.fields[skipped]} skipped"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console)
            self._task = self._progress.add_task("tenants", total=work, **self.counts)
            self._progress.start()

    def tenant_done(self, o: fleet.Outcome) -> None:
        self.counts[o.status] = self.counts.get(o.status, 0) + 1
        if self._progress is not None:
            self._progress.update(self._task, advance=1, **self.counts)
            if o.status == "failed":
                self._progress.console.print(f"  [red]FAILED[/] {o.subdomain}: {escape(o.error or '')}",
                                             highlight=False)
            return
        if o.status == "migrated":
            console.print(f"  {o.subdomain}: {o.from_revision} -> {o.to_revision} ({o.seconds:.2f}s)",
                          highlight=False)
        elif o.status == "failed":
            console.print(f"  [red]FAILED[/] {o.subdomain}: {escape(o.error or '')}", highlight=False)
        else:
            console.print(f"  {o.subdomain}: skipped ({escape(o.note or 'nothing to do')})", highlight=False)

    def note(self, message: str) -> None:
        (self._progress.console if self._progress else console).print(escape(message), highlight=False)

    def finished(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _summary(report: fleet.RunReport) -> None:
    how = f"{report.concurrency} worker(s)" if report.concurrency else "via jobs"
    table = Table(title=f"Run {report.run_id}: tenants to {report.target} ({how}, {report.seconds:.1f} s)", box=box.SIMPLE_HEAD, pad_edge=False,
                  caption="at head: known from the registry, not connected to; ahead: newer code's revision")
    for col in ("tenants", "at head", "ahead", "migrated", "skipped", "failed", "left behind"):
        table.add_column(col, justify="right", no_wrap=True)
    s = report.summary()
    table.add_row(str(s["tenants"]), str(s["at_target"]), str(s["ahead"]), str(s["migrated"]), str(s["skipped"]),
                  f"[red]{s['failed']}[/]" if s["failed"] else "0",
                  f"[red]{s['left_behind']}[/]" if s["left_behind"] else "0")
    console.print(table)
    if report.failed:
        failures = Table("tenant", "at revision", "error", title="Failed (each rolled back: at its old revision)")
        for o in report.failed:
            failures.add_row(o.subdomain, o.from_revision or "-", escape(o.error or ""))
        console.print(failures)
    for sub, before, after in report.repaired:
        console.print(f"  registry repaired: {sub} {before} -> {after}", highlight=False)
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)


def _dry_run(plan: fleet.Plan, as_json: bool) -> None:
    if as_json:
        print(json.dumps({
            "target": plan.target, "tenants": len(plan.tenants), "at_target": len(plan.at_target),
            "ahead": [t.subdomain for t in plan.ahead],
            "pending": [{"subdomain": t.subdomain, "from": t.registry_revision, "revisions": plan.pending(t)}
                        for t in plan.work],
            "repaired": [{"subdomain": s, "registry": a, "actual": b} for s, a, b in plan.repaired],
            "unreachable": [{"subdomain": t.subdomain, "error": e} for t, e in plan.unreachable],
        }, indent=2))
        return
    console.print(f"{len(plan.tenants)} tenant(s) with a database; {len(plan.at_target)} at {plan.target}; "
                  f"{len(plan.work)} to migrate (dry run: nothing was changed)", highlight=False)
    groups: dict[str | None, list[str]] = {}
    for t in plan.work:
        groups.setdefault(t.registry_revision, []).append(t.subdomain)
    if groups:
        table = Table("from", "tenants", "pending revisions", "tenant names")
        for rev, subs in sorted(groups.items(), key=lambda kv: kv[0] or ""):
            table.add_row(rev or "(unrecorded)", str(len(subs)), " ".join(migrate.pending("tenant", rev, plan.target)),
                          ", ".join(subs[:8]) + (f" +{len(subs) - 8}" if len(subs) > 8 else ""))
        console.print(table)
    for t in plan.ahead:
        console.print(f"  {t.subdomain}: at {t.registry_revision}, newer than this code (left alone)", highlight=False)
    for sub, before, after in plan.repaired:
        console.print(f"  registry says {sub} is at {before}, its database is at {after}", highlight=False)
    for t, error in plan.unreachable:
        console.print(f"  [red]{t.subdomain}[/]: {escape(error)}", highlight=False)


@app.callback(invoke_without_command=True)
def migrate_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON (for CI)"),
    concurrency: int = typer.Option(None, "--concurrency", "-c", min=1, max=64,
                                    help="Tenants migrated at once (default: two per core)"),
    canary: str = typer.Option(None, "--canary", metavar="N|SUB,...",
                               help="Migrate these first (the first N, or the named tenants); stop if any fails"),
    max_failures: int = typer.Option(None, "--max-failures", min=1, help="Halt the rollout after K failed tenants"),
    only: list[str] = typer.Option([], "--only", metavar="SUB", help="Only these tenants (repeatable or a,b,c)"),
    retry_failed: bool = typer.Option(False, "--retry-failed",
                                      help="Resume: only tenants that failed or are still behind (no canary)"),
    verify: bool = typer.Option(False, "--verify",
                                help="Read alembic_version in every database and repair the registry first"),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the pending revisions per tenant; change nothing"),
    sql: bool = typer.Option(False, "--sql", help="Print the offline SQL for the tenants behind; change nothing"),
    via_jobs: bool = typer.Option(False, "--via-jobs", help="One durable job per tenant (run `polyflow worker`s)"),
    wait: bool = typer.Option(False, "--wait", help="With --via-jobs: follow the jobs until every tenant is done"),
    tenant_migrations: list[Path] = typer.Option([], "--tenant-migrations", hidden=True,
                                                 help="Extra folder of tenant revisions (tests, benchmarks)"),
) -> None:
    """Upgrade the main database, then every tenant database; exit 1 if any tenant failed or was left behind."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"tenant_migrations": tenant_migrations}
        return
    if sql and (dry_run or via_jobs):
        fail("--sql prints SQL only; it does not combine with --dry-run or --via-jobs")
    if wait and not via_jobs:
        fail("--wait goes with --via-jobs")
    options = fleet.RunOptions(
        concurrency=concurrency, canary=_canary(canary), max_failures=max_failures, only=_split(only) or None,
        retry_failed=retry_failed, verify=verify, via_jobs=via_jobs, wait=wait or not via_jobs,
        actor=f"cli {who()}")
    progress = _Live(bar=console.is_terminal and not as_json)
    with platform_settings() as (settings, cluster):
        _extra_locations(settings, tenant_migrations)

        async def go():
            platform = Platform(settings)
            try:
                if dry_run or sql:
                    main_rev = await fleet.main_revision(platform)
                    plan = await fleet.make_plan(platform, options, repair=False)
                    return main_rev, plan
                main_rev = await fleet.migrate_main(platform)
                await ensure_default_server(platform.main_engine, platform.secrets,
                                            PgDsn.parse(settings.database_url), refresh=cluster is not None)
                # Tenant roles may connect to their own database only: not to the main one, nor to any
                # server's `postgres` (idempotent, every run: servers added since are covered too).
                for warning in await lock_down(platform.main_engine, platform.secrets):
                    err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
                if not as_json:
                    console.print(f"main database at {main_rev}", highlight=False)
                try:
                    return main_rev, await fleet.run(platform, options, None if as_json else progress,
                                                     main_revision=main_rev)
                finally:
                    progress.stop()
            finally:
                await platform.stop()

        main_rev, result = run(go)
    if sql:
        if main_rev != migrate.head("main"):
            err.print(f"[yellow]note:[/] the main database is at {main_rev}, the code's head is "
                      f"{migrate.head('main')} (`polyflow migrate` upgrades it first)", highlight=False)
        sys.stdout.write(fleet.offline_sql(result))
        return
    if dry_run:
        if not as_json:
            console.print(f"main database at {main_rev} (head {migrate.head('main')})", highlight=False)
        _dry_run(result, as_json)
        return
    report: fleet.RunReport = result
    if as_json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        if report.status == "queued":
            console.print(f"run {report.run_id}: jobs queued; follow it with `polyflow migrate status`",
                          highlight=False)
        _summary(report)
    if report.halt_reason:
        err.print(f"[red]{escape(report.halt_reason)}[/]", highlight=False)
    if not report.ok:
        bad = len(report.failed)
        err.print(f"[red]{bad} tenant(s) failed, {len(report.left_behind)} left behind[/]", highlight=False)
        raise typer.Exit(1)


@app.command("status")
def status_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON"),
) -> None:
    """Tenants per revision, tenants behind, failed ones with their last error (main database only)."""
    with platform_settings() as (settings, _):
        _extra_locations(settings, (ctx.obj or {}).get("tenant_migrations", []))

        async def go():
            platform = Platform(settings)
            try:
                return await fleet.status(platform)
            finally:
                await platform.stop()

        report = run(go)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return
    main = report["main"]
    console.print(f"main database at {main['revision']} (head {main['head']}); tenant head {report['target']}: "
                  f"{report['at_head']} of {report['tenants']} tenant(s) there", highlight=False)
    table = Table("revision", "tenants", "", title="Tenants per revision")
    for r in report["revisions"]:
        table.add_row(r["revision"] or "(unrecorded)", str(r["tenants"]), r["state"])
    console.print(table)
    if report["behind"]:
        names = [b["subdomain"] for b in report["behind"]]
        console.print(f"behind ({len(names)}): " + ", ".join(names[:30]) + (" ..." if len(names) > 30 else ""),
                      highlight=False)
    if report["failed"]:
        failed = Table("tenant", "at revision", "last error", "when", "run", title="Failed")
        for f in report["failed"]:
            error = f["error"] or ""
            failed.add_row(f["subdomain"], f["revision"] or "-", escape(error[:160] + ("..." if len(error) > 160 else "")),
                           (f["at"] or "-")[:19], str(f["run_id"]))
        console.print(failed)
    if report["migrating"]:
        console.print("being migrated now: " + ", ".join(m["subdomain"] for m in report["migrating"]), highlight=False)
    last = report["last_run"]
    if last:
        s = last["summary"] or {}
        console.print(f"last run {last['id']}: {last['status']} to {last['target']} by {last['actor']}, started "
                      f"{last['started_at']}; migrated {s.get('migrated', '?')}, failed {s.get('failed', '?')}, "
                      f"left behind {s.get('left_behind', '?')}"
                      + (f" ({last['halt_reason']})" if last["halt_reason"] else ""), highlight=False)
