"""`polyflow admins create | list | deactivate | reset-password | reset-mfa`: Polyflow super-admins (admin
host). A generated one-time password must be replaced at the admin's first sign-in; two-factor sign-in is
set up there too (reset-mfa clears it, to set up again)."""

from __future__ import annotations

import json
import sys
from typing import Awaitable, Callable, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from polyflow.cli.common import console, fail, platform_settings, run, unreachable
from polyflow.kit.errors import PolyflowError
from polyflow.platform.admin import identity, mfa
from polyflow.platform.runtime import Platform

app = typer.Typer(no_args_is_help=True)
T = TypeVar("T")


class _Failed:
    def __init__(self, message: str):
        self.message = message


def _call(fn: Callable[[Platform], Awaitable[T]]) -> T:
    """Run `fn(platform)` on the main database; any expected failure is one error line, exit 1."""
    with platform_settings() as (settings, _):
        async def go():
            platform = Platform(settings)
            try:
                return await fn(platform)
            except PolyflowError as exc:
                return _Failed(exc.message)
            except (OSError, OperationalError, InterfaceError) as exc:
                return _Failed(unreachable(exc) or str(exc))
            finally:
                await platform.stop()

        outcome = run(go)
    if isinstance(outcome, _Failed):
        fail(outcome.message)
    return outcome


def _stdin_password() -> str:
    if sys.stdin is None or sys.stdin.isatty():
        fail("--password-stdin: pipe the password in (e.g. `printf %s \"$PW\" | polyflow admins ...`)", 2)
    password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        fail("--password-stdin: no password on standard input", 2)
    return password


def _show_once(password: str) -> None:
    console.print(f"one-time password: {escape(password)}", highlight=False)
    console.print("It is shown only now; hand it over safely. It must be changed at the first sign-in.",
                  style="dim", highlight=False)


@app.command("create")
def create(
    email: str = typer.Argument(..., help="The admin's email (their sign-in name)"),
    name: str | None = typer.Option(None, "--name", help="Display name (default: the part before @)"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input "
                                        "(default: generate a one-time password and print it)"),
) -> None:
    """Create a super-admin who can sign in on the admin host."""
    password = _stdin_password() if password_stdin else None
    admin, generated = _call(lambda p: identity.create_admin(p, email, name, password, actor="cli"))
    console.print(f"admin {escape(admin.email)} ({escape(admin.name)}) created", highlight=False)
    if generated:
        _show_once(generated)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Machine-readable output")) -> None:
    """Super-admins: active or not, last sign-in, live sessions."""
    async def fetch(platform: Platform):
        async with AsyncSession(platform.main_engine) as session:
            return await identity.list_admins(session)

    admins = _call(fetch)
    if as_json:
        print(json.dumps([{"email": a.email, "name": a.name, "active": a.is_active, "sessions": a.sessions,
                           "two_factor": a.two_factor, "must_change_password": a.must_change_password,
                           "last_login_at": a.last_login_at.isoformat() if a.last_login_at else None,
                           "created_at": a.created_at.isoformat()} for a in admins], indent=2))
        return
    # Two-factor and a pending one-time password are in --json (80 columns hold no more here).
    table = Table("email", "name", "active", "last sign-in (UTC)", "sessions")
    for a in admins:
        table.add_row(escape(a.email), escape(a.name), "yes" if a.is_active else "no",
                      f"{a.last_login_at:%Y-%m-%d %H:%M}" if a.last_login_at else "-", str(a.sessions))
    console.print(table)


@app.command("deactivate")
def deactivate(email: str = typer.Argument(..., help="The admin's email")) -> None:
    """Stop an admin from signing in, and end their sessions now."""
    ended = _call(lambda p: identity.deactivate_admin(p, email, actor="cli"))
    console.print(f"admin {escape(email.strip().lower())} deactivated; {ended} session(s) ended", highlight=False)


@app.command("reset-password")
def reset_password(
    email: str = typer.Argument(..., help="The admin's email"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the new password from standard "
                                        "input (default: generate a one-time password and print it)"),
) -> None:
    """Set a new password (ends the admin's sessions and lifts a lockout)."""
    password = _stdin_password() if password_stdin else None
    generated = _call(lambda p: identity.set_password(p, email, password, actor="cli"))
    console.print(f"admin {escape(email.strip().lower())}: password changed, sessions ended", highlight=False)
    if generated:
        _show_once(generated)


@app.command("reset-mfa")
def reset_mfa(email: str = typer.Argument(..., help="The admin's email")) -> None:
    """Clear an admin's two-factor sign-in (lost phone and recovery codes): they set it up again at their
    next sign-in. Ends their sessions."""
    ended = _call(lambda p: mfa.reset_mfa(p, email, actor="cli"))
    console.print(f"admin {escape(email.strip().lower())}: two-factor cleared, {ended} session(s) ended; "
                  "it is set up again at the next sign-in", highlight=False)
