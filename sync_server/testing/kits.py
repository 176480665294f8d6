"""Simulated kits for tests and the ingest benchmark: the real link (OutboxSender, CURVE) over an in-memory outbox,
and an in-process CEC ingest on a real database that can be stopped and restarted on the same port."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from link.keys import KitKeys
from link.messages import IdentificationEvent, encode
from link.sender import OutboxEntry
from sync_server.db import make_engine, make_sessionmaker, migrate
from sync_server.ingest import IngestLoop
from sync_server.keys import ServerKeys, ensure_server_keys
from sync_server.sample_registry import sample_registry
from sync_server.services.registry import import_registry, provision_kit


class MemoryOutbox:
    """The kit's outbox protocol (``pending`` / ``mark_delivered``) in memory; thread-safe."""

    def __init__(self) -> None:
        self._pending: dict[int, bytes] = {}
        self._lock = threading.Lock()
        self.delivered: list[int] = []
        self.next_seq = 1

    def add(self, payload: bytes, seq: int | None = None) -> int:
        """Queue ``payload`` (an encoded message) under the next sequence number, or ``seq``."""
        with self._lock:
            seq = self.next_seq if seq is None else seq
            self.next_seq = max(self.next_seq, seq + 1)
            self._pending[seq] = payload
            return seq

    def pending(self, limit: int) -> Sequence[OutboxEntry]:
        """Undelivered entries in sequence order."""
        with self._lock:
            return [OutboxEntry(seq, p) for seq, p in islice(sorted(self._pending.items()), limit)]

    def mark_delivered(self, seqs: Sequence[int]) -> None:
        """Drop acknowledged entries."""
        with self._lock:
            for seq in seqs:
                if self._pending.pop(seq, None) is not None:
                    self.delivered.append(seq)

    def __len__(self) -> int:
        return len(self._pending)


def make_event(
    station_id: str,
    kit_id: str,
    seq: int,
    when: datetime | None = None,
    path: str = "biometric",
    sex: str = "F",
    voter: str | None = None,
    election_id: str = "test-2026",
    override: bool = False,
    training: bool = False,
) -> IdentificationEvent:
    """A plausible identification event; the voter pseudonym is unique per (station, kit, seq) unless given."""
    ref = voter or hashlib.sha256(f"{station_id}/{kit_id}/{seq}".encode()).hexdigest()
    return IdentificationEvent(
        election_id=election_id, station_id=station_id, kit_id=kit_id, seq=seq, voter_ref=ref, sex=sex,
        birth_year=1970, path=path, identified_at=when or datetime.now(UTC),
        fallback_reason="worn_prints" if path == "manual" else "", override=override, training=training,
    )


def event_bytes(event: IdentificationEvent) -> bytes:
    """The event as sent on the wire."""
    return encode(event)


class InProcessServer:
    """A CEC ingest (and the database and keys behind it) inside the test process."""

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
        self._thread = threading.Thread(target=self.loop.run, name="test-ingest", daemon=True)
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
