"""``make demo``: a CEC server on SQLite and a few simulated kits running a short simulated morning.

Everything runs as separate processes talking over real loopback sockets, as on election day: one server process,
one process per kit. The demo prints the dashboard URL, and at the end checks that every identification the kits
committed is counted at the CEC.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from sqlalchemy import func, select

from station.store import IdentificationRecord, KitStore

#: (station, kits) of the demo: three stations of different oblasts, one with two kits.
DEMO_STATIONS: tuple[tuple[str, int], ...] = (("3152", 1), ("1001", 2), ("5210", 1))
ELECTION_ID = "demo-2026"


@dataclass(frozen=True)
class DemoOptions:
    """How long and how hard the demo runs."""

    seconds: float | None
    var_dir: Path
    http_port: int
    zmq_port: int
    voters_per_station: int = 120
    rate_per_min: float = 240.0


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port(preferred: int) -> int:
    if _port_free(preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _shailoo(*args: str) -> list[str]:
    return [sys.executable, "-m", "shailoo", *args]


def run_demo(options: DemoOptions) -> int:
    """Run the demo; returns 0 when the CEC counts every identification the kits made."""
    demo_dir = options.var_dir / "demo"
    if demo_dir.exists():
        shutil.rmtree(demo_dir)  # each demo starts from an empty election
    demo_dir.mkdir(parents=True)
    http_port = _free_port(options.http_port)
    zmq_endpoint = f"tcp://127.0.0.1:{_free_port(options.zmq_port)}"
    url = f"http://127.0.0.1:{http_port}"
    processes: list[subprocess.Popen[bytes]] = []
    stop = False

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    _provision(demo_dir)  # before the server starts: one process migrates the new database at a time
    server = subprocess.Popen(
        _shailoo(
            "server", "run", "--db", f"sqlite:///{demo_dir / 'cec.db'}", "--port", str(http_port), "--zmq", zmq_endpoint
        ),
        stdout=(demo_dir / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    processes.append(server)
    try:
        if not _wait_ready(url, server):
            print(f"demo: the CEC server did not start; see {demo_dir / 'server.log'}", file=sys.stderr)
            return 1
        print(f"\nShailoo ID demo: CEC turnout at {url}/api/turnout  (API docs: {url}/docs)", flush=True)
        print(f"Live dashboard: {url}/dashboard?token=dev-admin-token\n", flush=True)
        kit_run_s = min(options.seconds * 0.6, 60.0) if options.seconds else 60.0
        kits = []
        for station, kit_count in DEMO_STATIONS:
            for kit in range(1, kit_count + 1):
                kit_id = str(kit)
                proc = subprocess.Popen(
                    _shailoo(
                        "sim", "kit",
                        "--db", str(demo_dir / f"kit-{station}-{kit_id}.db"),
                        "--server", zmq_endpoint,
                        "--election", ELECTION_ID,
                        "--station", station,
                        "--kit", kit_id,
                        "--voters", str(options.voters_per_station),
                        "--rate", str(options.rate_per_min),
                        "--seconds", str(kit_run_s),
                        "--seed", str(kit),
                        # Two kits of one station share the station's list; each takes every other voter.
                        "--share", f"{kit - 1}/{kit_count}",
                        "--keys", str(demo_dir / f"kit-{station}-{kit_id}.keys"),
                    ),
                    stdout=(demo_dir / f"kit-{station}-{kit_id}.log").open("wb"),
                    stderr=subprocess.STDOUT,
                )
                kits.append(proc)
                processes.append(proc)
        print(f"demo: {len(kits)} simulated kits at {len(DEMO_STATIONS)} stations are identifying voters", flush=True)
        deadline = time.monotonic() + options.seconds if options.seconds else None
        last_total = -1
        while not stop and (deadline is None or time.monotonic() < deadline):
            total = _total(url)
            if total != last_total:
                print(f"demo: CEC has counted {total} identifications", flush=True)
                last_total = total
            if deadline is None and all(k.poll() is not None for k in kits):
                deadline = None  # kits done: keep serving until Ctrl-C
            time.sleep(1.0)
        for proc in kits:
            if proc.poll() is None:
                proc.terminate()
        for proc in kits:
            proc.wait(30)
        committed = sum(
            _kit_identified(demo_dir / f"kit-{s}-{k}.db") for s, n in DEMO_STATIONS for k in range(1, n + 1)
        )
        # The kits drain their outboxes before they exit; give the last acknowledgements a moment.
        total = _total(url)
        print(f"demo: kits committed {committed} identifications; the CEC counts {total}", flush=True)
        if committed > 0 and total == committed:
            print("demo: every identification is accounted for", flush=True)
            return 0
        print("demo: counts differ (see the logs in var/demo/)", file=sys.stderr)
        return 1
    finally:
        for proc in processes:
            if proc.poll() is None:
                proc.terminate()
        for proc in processes:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _provision(demo_dir: Path) -> None:
    """Register the demo stations (from the synthetic structure) and give every demo kit its CURVE key file."""
    from sync_server.sample_registry import registry_csv, sample_registry

    wanted = {station for station, _ in DEMO_STATIONS}
    registry = demo_dir / "registry.csv"
    registry.write_text(registry_csv([r for r in sample_registry(250) if r.station_id in wanted]), encoding="utf-8")
    db = f"sqlite:///{demo_dir / 'cec.db'}"
    subprocess.run(_shailoo("server", "registry", "--db", db, "--csv", str(registry)), check=True,
                   stdout=subprocess.DEVNULL)
    for station, kit_count in DEMO_STATIONS:
        for kit in range(1, kit_count + 1):
            subprocess.run(
                _shailoo("server", "kit", "add", "--db", db, "--station", station, "--kit", str(kit),
                         "--out", str(demo_dir / f"kit-{station}-{kit}.keys")),
                check=True, stdout=subprocess.DEVNULL,
            )


def _wait_ready(url: str, server: subprocess.Popen[bytes], timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{url}/api/health", timeout=0.5).status_code == 200:
                return True
        except httpx.HTTPError:
            time.sleep(0.2)
    return False


def _total(url: str) -> int:
    try:
        return int(httpx.get(f"{url}/api/turnout", timeout=5).json()["total"])
    except (httpx.HTTPError, KeyError, ValueError):
        return -1


def _kit_identified(store_path: Path) -> int:
    """The identifications committed in one kit's own store."""
    if not store_path.exists():
        return 0
    store = KitStore(store_path)
    try:
        with store.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(IdentificationRecord)) or 0)
    finally:
        store.close()
