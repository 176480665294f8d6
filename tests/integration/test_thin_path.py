"""The thin real path across processes: kit CLI -> kit store -> ZeroMQ -> CEC server process -> GET /api/turnout.

The server is killed with SIGKILL and restarted while a kit is sending: the final count must be exact.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, ServerProcess, shailoo_command

LIST = """personal_number,list_number,surname,given_name,patronymic,sex,birth_date
21203198012345,1,Асанов,Бакыт,Талантович,M,1980-03-12
11507199254321,2,Иванова,Мария,Петровна,F,1992-07-15
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(shailoo_command(*args), capture_output=True, text=True, cwd=REPO, timeout=60)


def _provision(db_url: str, tmp_path: Path, kits: list[tuple[str, str]]) -> dict[tuple[str, str], Path]:
    """Import the synthetic station registry and provision each kit at the CEC; returns the key files."""
    assert _run("server", "registry", "--db", db_url, "--sample", "160").returncode == 0
    files = {}
    for station, kit in kits:
        path = tmp_path / f"kit-{station}-{kit}.keys"
        done = _run("server", "kit", "add", "--db", db_url, "--station", station, "--kit", kit, "--out", str(path))
        assert done.returncode == 0, done.stderr
        files[(station, kit)] = path
    return files


def _wait_for_total(server: ServerProcess, expected: int, timeout_s: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    turnout: dict[str, object] = {}
    while time.monotonic() < deadline:
        turnout = server.turnout()
        if turnout["total"] == expected:
            return turnout
        time.sleep(0.2)
    raise AssertionError(f"expected total {expected}, server shows {turnout}")


def test_kit_identifies_refuses_second_and_server_counts(server: ServerProcess, tmp_path: Path) -> None:
    db = str(tmp_path / "kit.db")
    (tmp_path / "list.csv").write_text(LIST, encoding="utf-8")
    assert _run("station", "--db", db, "init", "--election", "e1", "--station", "3152", "--kit", "1").returncode == 0
    assert _run("station", "--db", db, "load-csv", str(tmp_path / "list.csv")).returncode == 0
    ident = ("station", "--db", db, "identify", "21203198012345", "--reason", "worn_prints",
             "--operator", "op1", "--second-member", "chair")
    first = _run(*ident)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Identified" in first.stdout
    second = _run(*ident)
    assert second.returncode == 3
    assert "ALREADY VOTED" in second.stdout
    keys = _provision(server.db_url, tmp_path, [("3152", "1")])[("3152", "1")]
    sender = subprocess.Popen(
        shailoo_command("station", "--db", db, "send", "--server", server.zmq_endpoint, "--keys", str(keys)), cwd=REPO
    )
    try:
        turnout = _wait_for_total(server, 1)
        assert turnout["stations"] == [{"station_id": "3152", "identified": 1}]
    finally:
        sender.terminate()
        sender.wait(10)


@pytest.mark.slow
def test_server_killed_and_restarted_mid_stream_loses_and_doubles_nothing(tmp_path: Path) -> None:
    server = ServerProcess(f"sqlite:///{tmp_path / 'cec.db'}", tmp_path / "server.log")
    keys = _provision(server.db_url, tmp_path, [("3152", "1"), ("1001", "1")])
    server.start()
    kits = []
    try:
        for station in ("3152", "1001"):
            kits.append(
                subprocess.Popen(
                    shailoo_command(
                        "sim", "kit", "--db", str(tmp_path / f"kit-{station}.db"), "--server", server.zmq_endpoint,
                        "--station", station, "--voters", "150", "--rate", "3000", "--seconds", "12",
                        "--max", "150", "--keys", str(keys[(station, "1")]),
                        # A loaded CI machine can take many seconds to restart the server: drain patiently.
                        "--drain", "60",
                    ),
                    cwd=REPO,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        # Kill the server twice while the kits are identifying and sending.
        for _ in range(2):
            time.sleep(1.5)
            server.kill()
            time.sleep(1.0)
            server.start()
        outputs = [kit.communicate(timeout=90)[0] for kit in kits]
        identified = 0
        for out in outputs:
            summary = next(line for line in out.splitlines() if line.startswith("kit summary:"))
            fields = dict(part.split("=") for part in summary.split()[3:])
            assert fields["pending"] == "0", out[-3000:]
            identified += int(fields["identified"])
        assert identified == 300
        turnout = _wait_for_total(server, identified)
        stations: list[dict[str, object]] = turnout["stations"]  # type: ignore[assignment]
        assert {s["station_id"]: s["identified"] for s in stations} == {"1001": 150, "3152": 150}
    finally:
        for kit in kits:
            if kit.poll() is None:
                kit.kill()
        server.stop()
