"""Database privileges, checked with real tenant credentials: after `polyflow migrate` a tenant's role can
connect to its own database only, not to the main (registry) database, not to the server's `postgres`
database, not to another tenant's database; the platform's own role (superuser or not) still connects
everywhere it needs to. Idempotent: migrate runs again without error."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest
from typer.testing import CliRunner

from polyflow.cli import app as cli_app
from polyflow.kit.db import PgDsn
from polyflow.platform.runtime import Platform
from polyflow.platform.servers import lock_down
from tests.conftest import _admin_exec
from tests.fixtures.auth import tenant_dsn
from tests.fixtures.cli import cli_env


def connects(dsn: PgDsn) -> bool | str:
    """True if this login may open this database; the refusal's message otherwise."""
    try:
        with psycopg.connect(dsn.url("postgresql"), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError as exc:
        return str(exc)


def assert_refused(dsn: PgDsn) -> None:
    outcome = connects(dsn)
    assert outcome is not True, f"{dsn.user} could connect to {dsn.database}"
    assert "permission denied for database" in outcome, outcome


def migrate(settings) -> None:
    r = CliRunner().invoke(cli_app, ["migrate"], env=cli_env(settings))
    assert r.exit_code == 0, r.output


def test_tenant_role_reaches_only_its_own_database(settings, make_tenant_sync, pg_admin):
    make_tenant_sync("pt-abc")
    make_tenant_sync("pt-xyz")
    _, abc = tenant_dsn(settings, "pt-abc")
    _, xyz = tenant_dsn(settings, "pt-xyz")
    main = PgDsn.parse(settings.database_url)
    migrate(settings)
    migrate(settings)  # idempotent

    assert connects(abc) is True
    assert_refused(abc.with_database(main.database))  # the registry: every tenant's name and server
    assert_refused(abc.with_database("postgres"))
    assert_refused(abc.with_database(xyz.database))  # another tenant (REVOKE ALL at onboarding)
    assert_refused(xyz.with_database(abc.database))
    assert connects(pg_admin.with_database(main.database)) is True
    assert connects(pg_admin.with_database("postgres")) is True
    # Tenants created after the lock-down are no different.
    make_tenant_sync("pt-new")
    _, new = tenant_dsn(settings, "pt-new")
    assert connects(new) is True
    assert_refused(new.with_database(main.database))
    assert_refused(new.with_database("postgres"))


def test_a_platform_role_that_is_not_superuser_keeps_its_access(make_settings, pg_admin, main_template):
    """Production-like: the main URL's role owns the main database but is no superuser; the lock-down
    grants CONNECT back to it (main and `postgres`) while PUBLIC loses it."""
    role, password = f"pf_platform_{uuid.uuid4().hex[:8]}", "platform-role-password-1"
    other, other_password = f"pf_other_{uuid.uuid4().hex[:8]}", "some-other-role-password"
    name = f"pf_main_{uuid.uuid4().hex[:12]}"
    _admin_exec(pg_admin, f"CREATE ROLE {role} LOGIN PASSWORD '{password}'",
                f"CREATE ROLE {other} LOGIN PASSWORD '{other_password}'",
                f"CREATE DATABASE {name} TEMPLATE {main_template} OWNER {role}")
    _admin_exec(pg_admin.with_database(name), f"GRANT SELECT ON database_servers TO {role}")
    try:
        main = PgDsn(pg_admin.host, pg_admin.port, role, password, name)
        assert connects(PgDsn(pg_admin.host, pg_admin.port, other, other_password, name)) is True  # before

        async def go():
            platform = Platform(make_settings(database_url=main.url("postgresql")))
            try:
                return await lock_down(platform.main_engine, platform.secrets)
            finally:
                await platform.stop()

        assert asyncio.run(go()) == []
        assert connects(main) is True
        assert connects(main.with_database("postgres")) is True
        assert_refused(PgDsn(pg_admin.host, pg_admin.port, other, other_password, name))
        assert_refused(PgDsn(pg_admin.host, pg_admin.port, other, other_password, "postgres"))
    finally:
        _admin_exec(pg_admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
                    f"REVOKE CONNECT ON DATABASE postgres FROM {role}", f"DROP ROLE IF EXISTS {role}",
                    f"DROP ROLE IF EXISTS {other}")


@pytest.mark.parametrize("route", ["api", "cli"])
def test_adding_a_server_locks_down_its_postgres_database(settings, pg_admin, route):
    """A registered server's `postgres` database loses PUBLIC's CONNECT when it is added."""
    _admin_exec(pg_admin, "GRANT CONNECT ON DATABASE postgres TO PUBLIC")  # as a fresh cluster has it
    role = f"pf_probe_{uuid.uuid4().hex[:8]}"
    _admin_exec(pg_admin, f"CREATE ROLE {role} LOGIN PASSWORD 'probe-password-123'")
    probe = PgDsn(pg_admin.host, pg_admin.port, role, "probe-password-123", "postgres")
    try:
        assert connects(probe) is True
        dsn = pg_admin.with_database("postgres").url("postgresql")
        if route == "cli":
            r = CliRunner().invoke(cli_app, ["servers", "add", "db2", dsn], env=cli_env(settings))
            assert r.exit_code == 0, r.output
        else:
            from fastapi.testclient import TestClient

            from polyflow.main import create_app

            token = "operator-token-for-privilege-tests-01"
            from pydantic import SecretStr

            with TestClient(create_app(settings.model_copy(update={"operator_token": SecretStr(token)}))) as client:
                r = client.post("/admin/api/servers", json={"name": "db2", "dsn": dsn},
                                headers={"Host": "admin.localhost", "Authorization": f"Bearer {token}"})
                assert r.status_code == 201, r.text
        assert_refused(probe)
    finally:
        _admin_exec(pg_admin, f"DROP ROLE IF EXISTS {role}")


def test_a_role_that_cannot_close_the_main_database_gets_a_warning(make_settings, pg_admin, main_template):
    """Neither owner nor superuser: PostgreSQL only warns on REVOKE; the lock-down says what to run."""
    role, password = f"pf_weak_{uuid.uuid4().hex[:8]}", "weak-role-password-123"
    name = f"pf_main_{uuid.uuid4().hex[:12]}"
    _admin_exec(pg_admin, f"CREATE ROLE {role} LOGIN PASSWORD '{password}'",
                f"CREATE DATABASE {name} TEMPLATE {main_template}", f"GRANT CONNECT ON DATABASE {name} TO {role}")
    _admin_exec(pg_admin.with_database(name), f"GRANT SELECT ON database_servers TO {role}")
    try:
        async def go():
            main = PgDsn(pg_admin.host, pg_admin.port, role, password, name)
            platform = Platform(make_settings(database_url=main.url("postgresql")))
            try:
                return await lock_down(platform.main_engine, platform.secrets)
            finally:
                await platform.stop()

        warnings = asyncio.run(go())
        assert len(warnings) == 1 and f"the main database '{name}' is still open to every role" in warnings[0]
        assert "REVOKE CONNECT ON DATABASE" in warnings[0]
    finally:
        _admin_exec(pg_admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
                    f"REVOKE CONNECT ON DATABASE postgres FROM {role}", f"DROP ROLE IF EXISTS {role}")
