"""Serving a training session: build the training kit, start the emulated devices, switch the kit on, and serve the
operator screen with the trainer's page on one local port (``shailoo sim train SCENARIO --screen``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from simulation.training.devices import TrainingDevices
from simulation.training.errors import TrainingError
from simulation.training.kit import build_training_kit
from simulation.training.scenario import Scenario
from simulation.training.screen import training_app
from simulation.training.session import ScreenSession

#: Seconds idle before the operator screen locks: longer than the kit's default, a trainer talks between voters.
LOCK_AFTER_S = 900.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def training_server(scenario: Scenario, work: Path, trainee: str = "trainee", host: str = "127.0.0.1",
                    port: int = 0) -> Iterator[tuple[str, ScreenSession]]:
    """Run a training session's web server in a thread; yields its URL and the session; stops everything after."""
    import uvicorn

    from station.ui.app import create_app
    from station.ui.sessions import Sessions

    files = build_training_kit(scenario, work)
    devices = TrainingDevices()
    devices.start()

    def make_screen(kit: Any) -> Any:
        # A restart logs everyone out, as on a real kit (sessions live in memory only).
        return create_app(kit, Sessions(LOCK_AFTER_S))

    session = ScreenSession(scenario, files, devices, make_screen)
    server: Any = None
    thread: threading.Thread | None = None
    try:
        session.power_on()
        port = port or _free_port()
        server = uvicorn.Server(uvicorn.Config(training_app(session, trainee), host=host, port=port,
                                               log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, name="training-screen", daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise TrainingError(f"the training screen could not start on {host}:{port}")
            time.sleep(0.05)
        yield f"http://{host}:{port}", session
    finally:
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(10)
        session.stop()
