"""The real server process (``shailoo server run``) killed with SIGKILL twice while 30 kits send, then restarted:
on SQLite and PostgreSQL the totals are exact (nothing lost, nothing counted twice)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import zmq

from link.sender import OutboxSender
from sync_server.db import make_engine, make_sessionmaker, migrate
from sync_server.keys import ensure_server_keys
from sync_server.sample_registry import sample_registry
from sync_server.services.registry import import_registry, provision_kit
from sync_server.testing.kits import MemoryOutbox, event_bytes, make_event
from tests.conftest import REPO, free_port, shailoo_command


class _Server:
    def __init__(self, db_url: str, keys: Path, log: Path) -> None:
        self.args = ["server", "run", "--db", db_url, "--keys", str(keys), "--port", str(free_port()),
                     "--zmq", f"tcp://127.0.0.1:{free_port()}"]
        self.url = f"http://127.0.0.1:{self.args[7]}"
        self.endpoint = self.args[9]
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(shailoo_command(*self.args), cwd=REPO, stdout=self.log.open("ab"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(self.log.read_text()[-2000:])

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


@pytest.mark.slow
def test_server_killed_twice_mid_stream_totals_exact(db_url: str, tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    server_keys = ensure_server_keys(keys_dir)
    engine = make_engine(db_url)
    migrate(engine)
    with make_sessionmaker(engine).begin() as session:
        import_registry(session, sample_registry(10))
        kit_keys = [provision_kit(session, f"{r}{s:03d}", "1", server_keys.curve.public)
                    for r in (1, 3, 6) for s in range(1, 11)]
    engine.dispose()
    server = _Server(db_url, keys_dir, tmp_path / "server.log")
    server.start()
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    kits = [(OutboxSender(o := MemoryOutbox(), server.endpoint, k, context=ctx), o, k) for k in kit_keys]
    per_kit = 60
    try:
        started = time.monotonic()
        kills = [1.0, 3.0]
        made = 0
        while made < per_kit or any(len(o) for _, o, _ in kits):
            elapsed = time.monotonic() - started
            if kills and elapsed > kills[0]:
                kills.pop(0)
                server.kill()
                time.sleep(0.5)
                server.start()
            if made < per_kit and elapsed > made * 0.05:
                made += 1
                for _, outbox, keys in kits:
                    outbox.add(event_bytes(make_event(keys.station_id, keys.kit_id, made)))
            for sender, _, _ in kits:
                sender.run_once(0)
            time.sleep(0.005)
            assert elapsed < 120, "kits did not drain"
        assert not kills, "the server was not killed twice mid-stream"
        turnout = httpx.get(f"{server.url}/api/turnout", timeout=10).json()
        assert turnout["total"] == per_kit * len(kits)
        assert {s["identified"] for s in turnout["stations"]} == {per_kit}
    finally:
        for sender, _, _ in kits:
            sender.close()
        ctx.term()
        server.stop()
