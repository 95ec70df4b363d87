"""The `polyflow` command line, run in-process against this test's own main database.

The CLI calls ``asyncio.run`` itself, so these tests are plain sync functions; checks of the
database go through asyncpg under their own ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from typer.testing import CliRunner

from polyflow.cli import app
from polyflow.config import DEV_SECRET_KEY
from polyflow.kit.db import PgDsn
from polyflow.platform import migrate
from polyflow.platform.localpg import free_port
from polyflow.platform.runtime import Platform
from polyflow.platform.servers import ensure_server

# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def cli_env(settings) -> dict[str, str | None]:
    """POLYFLOW_* for this test's main database; any other POLYFLOW_* of the parent process unset."""
    env: dict[str, str | None] = {key: None for key in os.environ if key.startswith("POLYFLOW_")}
    env.update(
        {
            "POLYFLOW_DATABASE_URL": settings.database_url,
            "POLYFLOW_SECRET_KEY": settings.secret_key.get_secret_value(),
            "POLYFLOW_ENV": "test",
            "POLYFLOW_REDIS_URL": settings.redis_url,
            "POLYFLOW_REDIS_NAMESPACE": settings.redis_namespace,
            # Output to a pipe or a CI log: no terminal, rich falls back to 80 columns.
            "COLUMNS": "80",
            "FORCE_COLOR": None,
            "TTY_COMPATIBLE": None,
        }
    )
    return env


@pytest.fixture
def cli(cli_env):
    runner = CliRunner()

    def invoke(*args: str, **env_overrides: str | None):
        args = list(args)
        if args[:2] == ["tenants", "create"] and "--admin-email" not in args:
            args += ["--admin-email", "owner@example.co.id"]  # required; not what these tests are about
        return runner.invoke(app, args, env={**cli_env, **env_overrides})

    return invoke


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def assert_one_error_line(result, *mentions: str) -> None:
    """Exit code 1 and exactly one line on stderr: "error: ..." naming the problem, no traceback."""
    assert not isinstance(result.exception, Exception), f"crashed: {result.exception!r}\n{result.output}"
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = error_lines(result)
    text = " ".join(line.strip() for line in lines)
    assert text.startswith("error: "), result.stderr
    for mention in mentions:
        assert mention in text, f"{mention!r} not in {text!r}"
    assert "Traceback" not in result.output
    # Last, so that a wrapped message still had its content checked above.
    assert len(lines) == 1, f"expected one error line, got {len(lines)}:\n{result.stderr}"


async def _query(dsn: PgDsn, sql: str, *args):
    conn = await asyncpg.connect(**dsn.asyncpg_kwargs())
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def tenant_rows(settings) -> list[dict]:
    rows = asyncio.run(_query(PgDsn.parse(settings.database_url),
                              "SELECT subdomain, name, status, db_name, db_user FROM tenants ORDER BY subdomain"))
    return [dict(r) for r in rows]


def t_objects(pg_admin: PgDsn) -> set[tuple[str, str]]:
    """Every database and role on the cluster whose name starts with ``t_`` (what provisioning creates)."""
    dbs = asyncio.run(_query(pg_admin, r"SELECT datname FROM pg_database WHERE datname LIKE 't\_%'"))
    roles = asyncio.run(_query(pg_admin, r"SELECT rolname FROM pg_roles WHERE rolname LIKE 't\_%'"))
    return {("database", r[0]) for r in dbs} | {("role", r[0]) for r in roles}


def listed(cli) -> dict[str, dict]:
    result = cli("tenants", "list", "--json")
    assert result.exit_code == 0, result.output
    return {row["subdomain"]: row for row in json.loads(result.stdout)}


def register_unreachable_server(settings, name: str) -> int:
    """A database_servers row pointing at a closed port on 127.0.0.1."""
    port = free_port()  # bound and released: nothing listens there

    async def go():
        platform = Platform(settings)
        try:
            async with async_sessionmaker(platform.main_engine)() as session:
                await ensure_server(session, platform.secrets, name, PgDsn("127.0.0.1", port, "postgres", "x", "postgres"))
                await session.commit()
        finally:
            await platform.stop()

    asyncio.run(go())
    return port


# --- tenants create / list ---------------------------------------------------------------------


def test_create_tenant_then_list(cli, settings, pg_admin):
    before = t_objects(pg_admin)

    result = cli("tenants", "create", "--name", "PT ABC Plastik", "--subdomain", "pt-abc")

    assert result.exit_code == 0, (result.output, result.exception)
    assert "created pt-abc (PT ABC Plastik)" in result.stdout
    assert migrate.head("tenant") in result.stdout
    assert "http://pt-abc.localhost" in result.stdout
    assert error_lines(result) == []

    tenants = listed(cli)
    assert set(tenants) == {"pt-abc"}
    row = tenants["pt-abc"]
    assert row["name"] == "PT ABC Plastik"
    assert row["status"] == "active"
    assert row["schema_revision"] == migrate.head("tenant")
    assert row["server"] == "default"
    assert row["db_name"].startswith("t_pt_abc_")

    # Its own database and login role really exist on the cluster, and nothing else was made.
    created = t_objects(pg_admin) - before
    assert created == {("database", row["db_name"]), ("role", row["db_name"])}
    owner = asyncio.run(_query(
        pg_admin,
        "SELECT r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = $1",
        row["db_name"],
    ))
    assert [r[0] for r in owner] == [row["db_name"]]


def test_list_empty(cli):
    result = cli("tenants", "list", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_list_table(cli):
    assert cli("tenants", "create", "--name", "PT ABC Plastik", "--subdomain", "pt-abc").exit_code == 0
    result = cli("tenants", "list")
    assert result.exit_code == 0, result.output
    assert "pt-abc" in result.stdout and "active" in result.stdout


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        pytest.param(["--name", "PT ABC", "--subdomain", "PT_ABC"], ["PT_ABC", "lowercase"], id="uppercase-underscore"),
        pytest.param(["--name", "PT ABC", "--subdomain", "pt_abc"], ["pt_abc", "3-40 characters"], id="underscore"),
        pytest.param(["--name", "PT ABC", "--subdomain", "a"], ["'a'", "3-40 characters"], id="too-short"),
        pytest.param(["--name", "PT ABC", "--subdomain", "-abc"], ["-abc", "3-40 characters"], id="leading-hyphen"),
        pytest.param(["--name", "PT ABC", "--subdomain", "a" * 41], ["3-40 characters"], id="too-long"),
        pytest.param(["--name", "PT ABC", "--subdomain", "xn--bc-uia"], ["punycode"], id="punycode"),
        pytest.param(["--name", "PT ABC", "--subdomain", "admin"], ["'admin' is reserved"], id="reserved-admin"),
        pytest.param(["--name", "PT ABC", "--subdomain", "www"], ["'www' is reserved"], id="reserved-www"),
        pytest.param(["--name", "PT ABC", "--subdomain", "api"], ["'api' is reserved"], id="reserved-api"),
        pytest.param(["--name", "", "--subdomain", "pt-abc"], ["tenant name", "1-200"], id="empty-name"),
        pytest.param(["--name", "   ", "--subdomain", "pt-abc"], ["tenant name", "1-200"], id="blank-name"),
        pytest.param(["--name", "x" * 201, "--subdomain", "pt-abc"], ["tenant name", "1-200"], id="name-too-long"),
        pytest.param(["--name", "PT ABC", "--subdomain", "pt-abc", "--server", "nosuch"],
                     ["no database server named 'nosuch'"], id="unknown-server"),
        # User input is echoed in the message: it must come out as typed, not read as console markup.
        pytest.param(["--name", "PT ABC", "--subdomain", "[red]pt"], ["'[red]pt'"], id="markup-like-subdomain"),
        pytest.param(["--name", "PT ABC", "--subdomain", "[/]"], ["'[/]'"], id="markup-closing-tag-subdomain"),
    ],
)
def test_create_refuses_bad_input_and_creates_nothing(cli, settings, pg_admin, args, mentions):
    before = t_objects(pg_admin)

    result = cli("tenants", "create", *args)

    assert result.exit_code != 0, result.output
    assert tenant_rows(settings) == []
    assert t_objects(pg_admin) == before
    assert_one_error_line(result, *mentions)


def test_create_duplicate_subdomain(cli, settings, pg_admin):
    assert cli("tenants", "create", "--name", "PT ABC Plastik", "--subdomain", "pt-abc").exit_code == 0
    first = tenant_rows(settings)
    before = t_objects(pg_admin)

    result = cli("tenants", "create", "--name", "PT ABC Lain", "--subdomain", "pt-abc")

    assert result.exit_code != 0, result.output
    assert tenant_rows(settings) == first  # still one row, still the first tenant's name and database
    assert t_objects(pg_admin) == before
    assert listed(cli)["pt-abc"]["status"] == "active"
    assert_one_error_line(result, "subdomain 'pt-abc' is already taken")


def test_create_on_unreachable_server(cli, settings, pg_admin):
    port = register_unreachable_server(settings, "offline")
    before = t_objects(pg_admin)

    result = cli("tenants", "create", "--name", "PT ABC Plastik", "--subdomain", "pt-abc", "--server", "offline")

    assert result.exit_code != 0, result.output
    # The registry row written before the server was tried is removed again.
    assert tenant_rows(settings) == []
    assert t_objects(pg_admin) == before
    assert_one_error_line(result, "'offline'", "unreachable", str(port))


def test_create_on_unreachable_server_in_a_real_process(cli_env, settings):
    """As an operator runs it: logging is not captured by pytest here, so whatever the code logs
    reaches the terminal. A wide terminal, so that line wrapping is not what is checked."""
    register_unreachable_server(settings, "offline")
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYFLOW_")}
    env.update({k: v for k, v in cli_env.items() if v is not None})
    env["COLUMNS"] = "500"

    proc = subprocess.run(
        [sys.executable, "-c", "from polyflow.cli import main; main()",
         "tenants", "create", "--name", "PT ABC Plastik", "--subdomain", "pt-abc", "--server", "offline",
         "--admin-email", "owner@example.co.id"],
        env=env, capture_output=True, text=True, timeout=120,
    )

    assert proc.returncode == 1, proc.stderr
    assert tenant_rows(settings) == []
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: database server 'offline'"), proc.stderr
    assert len(lines) == 1, f"expected one error line, got {len(lines)}:\n{proc.stderr}"


def test_create_after_failures_still_works(cli, settings):
    """A refused create leaves nothing that blocks the same subdomain later."""
    register_unreachable_server(settings, "offline")
    assert cli("tenants", "create", "--name", "PT ABC", "--subdomain", "pt-abc", "--server", "offline").exit_code != 0
    assert cli("tenants", "create", "--name", "PT ABC", "--subdomain", "pt-abc", "--server", "nosuch").exit_code != 0

    result = cli("tenants", "create", "--name", "PT ABC", "--subdomain", "pt-abc", "--server", "default")

    assert result.exit_code == 0, result.output
    assert listed(cli)["pt-abc"]["status"] == "active"


@pytest.mark.parametrize(
    "name",
    [pytest.param("PT ABC [plastik]", id="brackets"), pytest.param("PT ABC [/] Plastik", id="closing-tag")],
)
def test_created_message_shows_the_name_as_typed(cli, name):
    """Company names may contain brackets; the success message must echo them, not parse them."""
    result = cli("tenants", "create", "--name", name, "--subdomain", "pt-abc")
    assert listed(cli)["pt-abc"]["name"] == name
    assert not isinstance(result.exception, Exception), f"crashed after creating the tenant: {result.exception!r}"
    assert result.exit_code == 0, result.output
    assert f"created pt-abc ({name})" in result.stdout


# --- migrate -----------------------------------------------------------------------------------


def test_migrate_json_without_tenants(cli):
    result = cli("migrate", "--json")
    assert result.exit_code == 0, (result.output, result.exception)
    report = json.loads(result.stdout)
    assert (report["main"], report["target"], report["status"]) == (migrate.head("main"), migrate.head("tenant"),
                                                                     "completed")
    assert (report["tenants"], report["failed"], report["tenants_attempted"]) == (0, 0, [])


def test_migrate_json_reports_tenants_at_head(cli):
    assert cli("tenants", "create", "--name", "PT ABC Plastik", "--subdomain", "pt-abc").exit_code == 0
    assert cli("tenants", "create", "--name", "PT XYZ Rafia", "--subdomain", "pt-xyz").exit_code == 0
    assert cli("tenants", "suspend", "pt-xyz").exit_code == 0  # suspended tenants are migrated too

    result = cli("migrate", "--json")

    assert result.exit_code == 0, (result.output, result.exception)
    report = json.loads(result.stdout)  # stdout is only the JSON document
    assert report["main"] == migrate.head("main")
    assert report["failed"] == 0
    head = migrate.head("tenant")
    # Both at the head: counted from the registry, nothing connected to or attempted.
    assert (report["tenants"], report["at_target"], report["tenants_attempted"]) == (2, 2, [])
    assert {r["schema_revision"] for r in listed(cli).values()} == {head}


def test_migrate_text(cli):
    assert cli("tenants", "create", "--name", "PT ABC Plastik", "--subdomain", "pt-abc").exit_code == 0
    result = cli("migrate")
    assert result.exit_code == 0, (result.output, result.exception)
    assert f"main database at {migrate.head('main')}" in result.stdout
    assert "0 tenant(s) to migrate" in result.stdout and "FAILED" not in result.stdout


# --- suspend / resume --------------------------------------------------------------------------


def test_suspend_and_resume(cli):
    assert cli("tenants", "create", "--name", "PT ABC Plastik", "--subdomain", "pt-abc").exit_code == 0

    result = cli("tenants", "suspend", "pt-abc")
    assert result.exit_code == 0, (result.output, result.exception)
    assert "pt-abc: suspended" in result.stdout
    assert listed(cli)["pt-abc"]["status"] == "suspended"

    result = cli("tenants", "resume", "pt-abc")
    assert result.exit_code == 0, (result.output, result.exception)
    assert "pt-abc: active" in result.stdout
    assert listed(cli)["pt-abc"]["status"] == "active"


@pytest.mark.parametrize("command", ["suspend", "resume"])
def test_suspend_resume_unknown_tenant(cli, settings, command):
    result = cli("tenants", command, "nosuch")
    assert tenant_rows(settings) == []
    assert_one_error_line(result, "no tenant 'nosuch'")


# --- configuration -----------------------------------------------------------------------------

COMMANDS = [
    pytest.param(["tenants", "list", "--json"], id="tenants-list-json"),
    pytest.param(["tenants", "create", "--name", "PT ABC", "--subdomain", "pt-abc"], id="tenants-create"),
    pytest.param(["tenants", "suspend", "pt-abc"], id="tenants-suspend"),
    pytest.param(["migrate", "--json"], id="migrate"),
    pytest.param(["serve"], id="serve"),
]


@pytest.mark.parametrize("args", COMMANDS)
@pytest.mark.parametrize(
    "secret",
    [pytest.param(None, id="secret-unset"), pytest.param(DEV_SECRET_KEY, id="secret-dev-default")],
)
def test_production_refuses_default_secret(cli, settings, pg_admin, args, secret):
    before = t_objects(pg_admin)

    result = cli(*args, POLYFLOW_ENV="production", POLYFLOW_SECRET_KEY=secret)

    assert result.exit_code != 0, result.output
    assert tenant_rows(settings) == []
    assert t_objects(pg_admin) == before
    assert_one_error_line(result, "POLYFLOW_SECRET_KEY")


def test_short_secret_refused(cli):
    result = cli("tenants", "list", POLYFLOW_SECRET_KEY="too-short")
    assert_one_error_line(result, "POLYFLOW_SECRET_KEY", "16 characters")


def test_production_with_a_real_secret_works(cli):
    result = cli("tenants", "list", "--json", POLYFLOW_ENV="production",
                 POLYFLOW_SECRET_KEY="a-long-random-production-secret-value-0123456789")
    assert result.exit_code == 0, (result.output, result.exception)
    assert json.loads(result.stdout) == []
