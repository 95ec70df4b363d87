"""`polyflow billing ...`: issue invoices, list them, record payments, suspend for non-payment."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Awaitable, Callable, TypeVar

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from polyflow.cli.common import console, fail, platform_settings, run
from polyflow.platform import billing
from polyflow.platform.runtime import Platform

app = typer.Typer(no_args_is_help=True)
T = TypeVar("T")


def with_platform(fn: Callable[[Platform], Awaitable[T]]) -> T:
    """Run `fn(platform)` against the configured (or embedded) main database; errors -> one line, exit 1."""
    with platform_settings() as (settings, _):
        async def go():
            platform = Platform(settings)
            try:
                return await fn(platform)
            finally:
                await platform.stop()

        return run(go)


def parse_day(value: str | None, option: str) -> date | None:
    """YYYY-MM-DD, or a clear error naming the option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        fail(f"invalid date for {option} '{value}': expected YYYY-MM-DD")
        raise  # unreachable


def money(amount) -> str:
    return f"{amount:,.2f}"


def _table(invoices: list[billing.InvoiceView]) -> Table:
    # Fits 80 columns: number, amount and dates never wrap, a long subdomain folds (never cut).
    # Plan, lines, payment details: --json.
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in (("number", "left"), ("tenant", "left"), ("period", "left"), ("amount", "right"),
                          ("status", "left"), ("due", "left")):
        table.add_column(name, justify=justify, no_wrap=name != "tenant", overflow="fold")
    for i in invoices:
        table.add_row(*(escape(str(v)) for v in (
            i.number, i.tenant, f"{i.period_start:%Y-%m}", money(i.amount), i.status, i.due_date)))
    return table


@app.command("run")
def run_(
    on: str | None = typer.Option(None, "--date", help="Run as of this day (YYYY-MM-DD; default today, UTC)"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """Issue the invoices for the previous calendar month (idempotent: safe to run again)."""
    today = parse_day(on, "--date")
    result = with_platform(lambda p: billing.run(p, today, actor="cli"))
    if as_json:
        print(json.dumps(result.as_json(), indent=2))
        return
    console.print(f"period {result.period_start} .. {result.period_end}: "
                  f"{len(result.issued)} invoice(s) issued, {len(result.skipped)} tenant(s) skipped")
    if result.issued:
        console.print(_table(result.issued))


@app.command("list")
def list_(
    tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant (subdomain)"),
    status: str | None = typer.Option(None, "--status", help="issued, paid, void or overdue"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """List invoices, newest first."""
    invoices = with_platform(lambda p: billing.list_invoices(
        p.main_engine, tenant=tenant, status=status, grace_days=p.settings.billing_grace_days))
    if as_json:
        print(json.dumps([i.as_json() for i in invoices], indent=2))
        return
    if not invoices:
        console.print("no invoices")
        return
    console.print(_table(invoices))


@app.command("mark-paid")
def mark_paid(
    number: str = typer.Argument(..., help="Invoice number, e.g. INV/2026/00001"),
    reference: str | None = typer.Option(None, "--reference", help="Bank transfer or gateway reference"),
) -> None:
    """Record an invoice as paid; a tenant suspended for non-payment is resumed when nothing else is overdue."""
    payment = with_platform(lambda p: billing.mark_paid(p, number, reference, actor="cli"))
    console.print(f"{escape(payment.invoice.number)} paid ({escape(payment.invoice.tenant)}, "
                  f"{money(payment.invoice.amount)})", highlight=False)
    if payment.resumed:
        console.print(f"{escape(payment.invoice.tenant)}: active again")
    elif payment.still_overdue:
        console.print(f"{escape(payment.invoice.tenant)}: still suspended, {escape(payment.still_overdue)} is overdue")


@app.command("suspend-overdue")
def suspend_overdue(
    on: str | None = typer.Option(None, "--date", help="Run as of this day (YYYY-MM-DD; default today, UTC)"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """Suspend tenants with an invoice unpaid past its due date plus the grace period."""
    today = parse_day(on, "--date")
    done = with_platform(lambda p: billing.suspend_overdue(p, today, actor="cli"))
    if as_json:
        print(json.dumps([s.as_json() for s in done], indent=2))
        return
    if not done:
        console.print("nothing overdue")
    for s in done:
        console.print(f"{escape(s.tenant)}: suspended (invoice {escape(s.invoice)} due {s.due_date})")


def parse_until(value: str | None, option: str) -> datetime | None:
    """YYYY-MM-DD (through the end of that day, UTC) or an ISO date-time (UTC if no offset)."""
    if value is None:
        return None
    from polyflow.platform.entitlements import end_of_day

    raw = value.strip()
    try:
        if len(raw) == 10:
            return end_of_day(date.fromisoformat(raw))
        moment = datetime.fromisoformat(raw)
    except ValueError:
        fail(f"invalid date for {option} '{value}': expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[+07:00]")
        raise  # unreachable
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
