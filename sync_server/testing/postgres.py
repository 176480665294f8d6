"""A throwaway PostgreSQL server in a temporary folder, for tests and benchmarks.

It never touches a system cluster: ``initdb`` makes a new cluster owned by the ``postgres`` user (PostgreSQL refuses
to run as root, so as root every command runs through ``runuser -u postgres``), listening on 127.0.0.1 at a free
port with its socket in the same folder, trust authentication on loopback only. ``stop()`` removes everything.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from shailoo.ports import free_port
from sync_server.errors import ServerError


class PostgresUnavailable(ServerError):
    """PostgreSQL binaries are missing or the server would not start."""


def find_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` (Debian's layout), or ``$SHAILOO_PG_BIN``."""
    explicit = os.environ.get("SHAILOO_PG_BIN")
    candidates = [explicit] if explicit else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0
    )
    for candidate in reversed(candidates):
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise PostgresUnavailable("PostgreSQL is not installed (Debian: apt-get install postgresql)")


class TempPostgres:
    """Start with :meth:`start`, create databases with :meth:`new_database`, end with :meth:`stop`."""

    def __init__(self, durable: bool = False) -> None:
        #: durable=False turns off fsync for fast tests; the benchmark keeps PostgreSQL's production defaults.
        self.durable = durable
        self.bin_dir = find_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="shailoo-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_root = os.geteuid() == 0

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self._as_root else list(args)

    def start(self, timeout_s: float = 30.0) -> None:
        """initdb and start the server; raises :class:`PostgresUnavailable` with the server's log on failure."""
        if self._as_root:
            shutil.chown(self.root, user="postgres", group="postgres")
            os.chmod(self.root, 0o700)
        subprocess.run(
            self._cmd(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "--encoding=UTF8", "--locale=C"),
            check=True, capture_output=True, timeout=120,
        )
        options = f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        result = subprocess.run(
            self._cmd(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                      "-o", options, "-w", "-t", str(int(timeout_s)), "start"),
            capture_output=True, text=True, timeout=timeout_s + 10,
        )
        if result.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:] if (self.root / "server.log").exists() else ""
            self.stop()
            raise PostgresUnavailable(f"PostgreSQL did not start: {result.stderr.strip()} {log}")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready = subprocess.run([str(self.bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                                   capture_output=True)
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise PostgresUnavailable("PostgreSQL did not become ready")

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database`` on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "t") -> str:
        """Create an empty database and return its URL."""
        import psycopg

        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its folder."""
        if (self.data / "postmaster.pid").exists():
            subprocess.run(self._cmd(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"),
                           capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)
