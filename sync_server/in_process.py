"""A CEC ingest inside the caller's process, on a real database and real CURVE sockets: the training kit's local
training CEC (simulation/training/link.py), the server tests and the ingest benchmark. It can be stopped and restarted
on the same port, which is how an outage of the CEC (or a trainer's "network down") is made."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from link.keys import KitKeys
from sync_server.db import make_engine, make_sessionmaker, migrate
from sync_server.ingest import IngestLoop
from sync_server.keys import ServerKeys, ensure_server_keys
from sync_server.sample_registry import sample_registry
from sync_server.services.registry import import_registry, provision_kit


class InProcessServer:
    """A CEC ingest (and the database and keys behind it) inside this process."""

    def __init__(self, db_url: str, keys_dir: Path, stations_per_region: int = 20, election_mode: str = "real") -> None:
        self.keys: ServerKeys = ensure_server_keys(keys_dir)
        self.engine: Engine = make_engine(db_url)
        migrate(self.engine)
        self.sessions: sessionmaker[Any] = make_sessionmaker(self.engine)
        self.election_mode = election_mode
        if stations_per_region:
            with self.sessions.begin() as session:
                import_registry(session, sample_registry(stations_per_region))
        self.endpoint = "tcp://127.0.0.1:*"
        self.loop: IngestLoop | None = None
        self._thread: threading.Thread | None = None

    def provision(self, station_id: str, kit_id: str, training: bool = False) -> KitKeys:
        """Register a kit and return its key file contents."""
        with self.sessions.begin() as session:
            return provision_kit(session, station_id, kit_id, self.keys.curve.public, training)

    def start(self) -> str:
        """Start ingest (on the same port as before after a stop); returns the endpoint."""
        self.loop = IngestLoop(self.endpoint, self.sessions, self.keys, self.election_mode)
        self.endpoint = self.loop.endpoint
        self._thread = threading.Thread(target=self.loop.run, name="in-process-ingest", daemon=True)
        self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        """Stop ingest (a server outage); the database stays."""
        if self.loop and self._thread:
            self.loop.stop()
            self._thread.join(10)
        self.loop = None

    def close(self) -> None:
        """Stop and release the database."""
        self.stop()
        self.engine.dispose()
