"""`polyflow admins create | list | deactivate | reset-password`: one-time passwords, clear errors."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from typer.testing import CliRunner

from polyflow.cli import app as cli_app
from polyflow.platform.admin import identity
from polyflow.platform.runtime import Platform
from tests.fixtures.cli import assert_error, cli_env

ONE_TIME = re.compile(r"one-time password: (\S+)")


@pytest.fixture
def polyflow(settings):
    """Run `polyflow ARGS...` (optionally with standard input) against this test's main database."""
    env, runner = cli_env(settings), CliRunner()
    return lambda *args, input=None: runner.invoke(cli_app, list(args), env=env, input=input)


def can_sign_in(settings, email: str, password: str) -> bool:
    async def go():
        platform = Platform(settings)
        try:
            await identity.login(platform, email, password, "127.0.0.1", "cli-test")
            return True
        except identity.LoginFailed:
            return False
        finally:
            await platform.stop()

    return asyncio.run(go())


def test_create_list_deactivate_reset(settings, polyflow):
    r = polyflow("admins", "create", "Ops@Polyflow.Test", "--name", "Ops One")
    assert r.exit_code == 0, r.output
    assert "admin ops@polyflow.test (Ops One) created" in r.stdout
    password = ONE_TIME.search(r.stdout).group(1)
    assert can_sign_in(settings, "ops@polyflow.test", password)

    r = polyflow("admins", "create", "second@polyflow.test", "--password-stdin",
                 input="a-piped-password-123\n")
    assert r.exit_code == 0 and "one-time password" not in r.stdout, r.output
    assert can_sign_in(settings, "second@polyflow.test", "a-piped-password-123")

    r = polyflow("admins", "list")
    assert r.exit_code == 0 and "ops@polyflow.test" in r.stdout and "second@polyflow.test" in r.stdout
    listed = {a["email"]: a for a in json.loads(polyflow("admins", "list", "--json").stdout)}
    assert listed["ops@polyflow.test"]["active"] is True and listed["ops@polyflow.test"]["sessions"] == 1
    assert listed["second@polyflow.test"]["name"] == "second"

    r = polyflow("admins", "deactivate", "OPS@polyflow.test")
    assert r.exit_code == 0 and "deactivated; 1 session(s) ended" in r.stdout, r.output
    listed = {a["email"]: a for a in json.loads(polyflow("admins", "list", "--json").stdout)}
    assert listed["ops@polyflow.test"]["active"] is False and listed["ops@polyflow.test"]["sessions"] == 0
    assert not can_sign_in(settings, "ops@polyflow.test", password)

    r = polyflow("admins", "reset-password", "second@polyflow.test")
    assert r.exit_code == 0, r.output
    new = ONE_TIME.search(r.stdout).group(1)
    assert can_sign_in(settings, "second@polyflow.test", new)
    assert not can_sign_in(settings, "second@polyflow.test", "a-piped-password-123")


def test_errors_are_one_line(settings, polyflow):
    assert polyflow("admins", "create", "ops@polyflow.test").exit_code == 0
    assert_error(polyflow("admins", "create", "OPS@polyflow.test"), "already exists")
    assert_error(polyflow("admins", "create", "not-an-email"), "invalid email")
    assert_error(polyflow("admins", "create", "x@polyflow.test", "--password-stdin", input="short\n"),
                 "12-1000 characters")
    assert_error(polyflow("admins", "create", "x@polyflow.test", "--name", "   "), "name")
    assert_error(polyflow("admins", "deactivate", "nobody@polyflow.test"), "no admin 'nobody@polyflow.test'")
    assert_error(polyflow("admins", "reset-password", "nobody@polyflow.test"), "no admin")
    r = polyflow("admins", "create", "y@polyflow.test", "--password-stdin", input="")
    assert r.exit_code == 2 and r.stderr.strip().startswith("error: --password-stdin") and "Traceback" not in r.output
    r = polyflow("admins", "create")  # usage error: Click's message, exit 2
    assert r.exit_code == 2 and "Traceback" not in r.output
