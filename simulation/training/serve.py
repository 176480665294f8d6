"""Serving a training session: build the training kit, start the emulated devices, switch the kit on, and serve the
operator screen with the trainer's page on one local port (``shailoo sim train SCENARIO --screen``).

The ID-card reader (the machine's pcscd, vpcd, the card emulator) and the CEC link (a local training CEC) are started
too; when either cannot be provided on this machine the session says why on the trainer's page and tells those
situations to the trainee instead, rather than failing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shailoo.ports import free_port
from simulation.training.devices import TrainingCardReader, TrainingDevices
from simulation.training.errors import TrainingError
from simulation.training.kit import KIT_ID, build_training_kit
from simulation.training.link import TrainingLink
from simulation.training.scenario import Scenario
from simulation.training.screen import training_app
from simulation.training.session import ScreenSession

log = logging.getLogger(__name__)

#: Seconds idle before the operator screen locks: longer than the kit's default, a trainer talks between voters.
LOCK_AFTER_S = 900.0


@contextmanager
def training_server(scenario: Scenario, work: Path, trainee: str = "trainee", host: str = "127.0.0.1",
                    port: int = 0, card_reader: bool = True) -> Iterator[tuple[str, ScreenSession]]:
    """Run a training session's web server in a thread; yields its URL and the session; stops everything after.

    ``card_reader=False`` trains without the ID-card reader (no pcscd needed: the card situations are then told on
    the trainer's page)."""
    import uvicorn

    from station.ui.app import create_app
    from station.ui.sessions import Sessions

    files = build_training_kit(scenario, work)
    devices = TrainingDevices()
    devices.start()

    def make_screen(kit: Any) -> Any:
        # A restart logs everyone out, as on a real kit (sessions live in memory only).
        return create_app(kit, Sessions(LOCK_AFTER_S))

    card: TrainingCardReader | None = None
    card_missing = ""
    if not card_reader:
        card_missing = "the card reader is switched off for this session"
    elif files.card_pki is not None:
        card = TrainingCardReader(files.card_pki)
        card_missing = card.start() or ""
        if card_missing:
            log.warning("training without the card reader: %s", card_missing)
            card = None
    holder: dict[str, ScreenSession] = {}

    def current_store() -> Any:
        # The kit's store of the moment (a new one after each restart; none while the power is cut).
        running = holder.get("session")
        return running.kit.store if running is not None and running.powered and running.kit is not None else None

    link: TrainingLink | None = None
    link_missing = ""
    try:
        link = TrainingLink(work, files.station_id, KIT_ID, files.election_id, current_store)
    except Exception as exc:  # the session goes on without a link; the trainer's page says why
        link_missing = f"the training CEC could not be started ({exc})"
        log.warning("training without the CEC link: %s", link_missing)
    session = ScreenSession(scenario, files, devices, make_screen, card=card, card_missing=card_missing,
                            link=link, link_missing=link_missing)
    holder["session"] = session
    server: Any = None
    thread: threading.Thread | None = None
    try:
        session.power_on()
        port = port or free_port()
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
