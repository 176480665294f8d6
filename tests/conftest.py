"""Fixtures shared by the whole suite: free loopback ports and processes started from the real command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import settings

from shailoo.ports import free_port
from shailoo.settings import fingerprint_data_dir

REPO = Path(__file__).resolve().parents[1]

# Wall-clock deadlines make property tests flaky on a loaded 2-core CI machine; example counts stay the default.
settings.register_profile("shailoo", deadline=None)
settings.load_profile("shailoo")


def shailoo_command(*args: str) -> list[str]:
    """The ``shailoo`` command line as a subprocess argument list."""
    return [sys.executable, "-m", "shailoo", *args]


class ServerProcess:
    """A CEC server running as its own process on free loopback ports, restartable and killable."""

    def __init__(self, db_url: str, log_path: Path) -> None:
        self.db_url = db_url
        self.http_port = free_port()
        self.zmq_endpoint = f"tcp://127.0.0.1:{free_port()}"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout_s: float = 60.0) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            shailoo_command(
                "server", "run", "--db", self.db_url, "--port", str(self.http_port), "--zmq", self.zmq_endpoint
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not become ready")

    def kill(self) -> None:
        """SIGKILL: the harshest stop, as in a power cut."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def turnout(self) -> dict[str, object]:
        response = httpx.get(f"{self.url}/api/turnout", timeout=5)
        response.raise_for_status()
        result: dict[str, object] = response.json()
        return result


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A CEC server process on SQLite in a temporary folder."""
    srv = ServerProcess(f"sqlite:///{tmp_path / 'cec.db'}", tmp_path / "server.log")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def fingerprint_data() -> Path:
    """The shared fingerprint databases; tests that need them skip with a clear message when absent."""
    path = fingerprint_data_dir()
    if not (path / "README.md").exists():
        pytest.skip(f"fingerprint databases not found at {path} (set SHAILOO_FINGERPRINT_DATA)")
    return path


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
