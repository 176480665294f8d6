"""The training kit's CEC link: a local training CEC (the project's own ingest, ``sync_server``, on a SQLite file in
the training kit's folder, in training election mode) and the kit's real sender (``link.sender.OutboxSender``,
CURVE keys provisioned by that server) delivering the kit's outbox over ZeroMQ on 127.0.0.1.

"Network down" stops the training CEC's ingest (its socket closes, as when the cable is cut); the kit keeps
identifying, its outbox keeps the messages, and when the trainer brings the network back the ingest starts again on
the same port and the sender delivers what waited. The server's idempotent ingest makes that exactly once: the
scorecard compares the training CEC's count with the kit's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from link.sender import OutboxEntry, OutboxSender
from station.store import KitStore

log = logging.getLogger(__name__)

#: Seconds between the sender's steps (its poll timeout).
SENDER_POLL_S = 0.2


class _CurrentOutbox:
    """The outbox of the kit's store of the moment: none while the power is cut (the sender then waits), the new
    store after a restart (the sender resends what was not acknowledged; the server drops the duplicates)."""

    def __init__(self, store: Callable[[], KitStore | None]) -> None:
        self._store = store

    def pending(self, limit: int) -> Sequence[OutboxEntry]:
        """Unacknowledged entries of the current store (none while the kit is off)."""
        store = self._store()
        return store.pending(limit) if store is not None else []

    def mark_delivered(self, seqs: Sequence[int]) -> None:
        """Record acknowledgements (lost while the kit is off: the entries are sent again and ingested once)."""
        store = self._store()
        if store is not None:
            store.mark_delivered(seqs)


class TrainingLink:
    """A training CEC server and the kit's sender; :meth:`cut` and :meth:`restore` are the network cable."""

    def __init__(self, work: Path, station_id: str, kit_id: str, election_id: str,
                 store: Callable[[], KitStore | None]) -> None:
        from sync_server.in_process import InProcessServer
        from sync_server.services.registry import StationRow, import_registry

        self.election_id = election_id
        self.station_id = station_id
        self.kit_id = kit_id
        self.server = InProcessServer(f"sqlite:///{work / 'training-cec.db'}", work / "training-cec-keys",
                                      stations_per_region=0, election_mode="training")
        with self.server.sessions.begin() as session:
            import_registry(session, [StationRow(
                station_id=station_id, name=f"Training station {station_id}", address="training", oblast="training",
                district="training", commission_id="TRAINING", commission_name="Training commission",
                registered_voters=0)])
        self.keys = self.server.provision(station_id, kit_id, training=True)
        self.endpoint = self.server.start()
        self.up = True
        self._store = store
        self.sender = OutboxSender(_CurrentOutbox(store), self.endpoint, self.keys, health=dict)
        self._connected = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="training-link", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # ZeroMQ sockets belong to one thread: the connection state is read here and only the flag is shared.
        while not self._stop.is_set():
            try:
                self.sender.run_once(SENDER_POLL_S)
                self._connected = self.sender.connected
            except Exception:  # the store closed under it (a power cut): wait for the kit's next store
                log.warning("training link step failed; retrying", exc_info=True)
                self._stop.wait(SENDER_POLL_S)

    def cut(self) -> int:
        """The network goes down: the training CEC's ingest stops (its socket closes). Returns the messages the
        kit had waiting at that moment."""
        if self.up:
            self.server.stop()
            self.up = False
        return self.waiting()

    def restore(self) -> int:
        """The network comes back: ingest again on the same endpoint. Returns the messages waiting to go."""
        waiting = self.waiting()
        if not self.up:
            self.server.endpoint = self.endpoint
            self.server.start()
            self.up = True
        return waiting

    @property
    def online(self) -> bool:
        """True when the kit's sender has a CURVE connection to the training CEC and the network is up.

        (The sender counts completed handshakes but has no "disconnected" state of its own, so the cable's state
        is taken from the trainer's network switch.)"""
        return self.up and self._connected

    def waiting(self) -> int:
        """Messages in the kit's outbox not yet acknowledged by the CEC (0 while the kit is off)."""
        store = self._store()
        return 0 if store is None else store.outbox_state()[0]

    def status(self) -> dict[str, Any]:
        """What the operator screen shows about the link: online or not, and the messages waiting."""
        return {"online": self.online, "waiting": self.waiting()}

    def cec_identifications(self) -> int:
        """Identifications of this training election the training CEC has stored (each once)."""
        from sync_server.models import Identification

        with self.server.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(Identification)
                                      .where(Identification.election_id == self.election_id)) or 0)

    def stop(self) -> None:
        """Stop the sender and the training CEC."""
        self._stop.set()
        self._thread.join(5)
        self.sender.close()
        self.server.close()
