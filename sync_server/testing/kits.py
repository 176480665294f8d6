"""Simulated kits for tests and the ingest benchmark: the real link (OutboxSender, CURVE) over an in-memory outbox
(the CEC they talk to in-process is sync_server.in_process.InProcessServer)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import islice

from link.messages import IdentificationEvent, encode
from link.sender import OutboxEntry


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
