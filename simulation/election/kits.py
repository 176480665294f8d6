"""Light kits that speak the real protocol: the link's own ``OutboxSender`` (CURVE, DEALER, acknowledgements,
resends, heartbeats) over an in-memory outbox, thousands of them in one process sharing one ZeroMQ context.

Why in memory and not one SQLite store per kit: the kit's store transaction is measured by ``bench kit`` and exercised
by ``sim kit`` / ``make demo``; what the election-day rehearsal tests is the CEC under a country's load, and 5,000 kit
stores would cost the shared 2-core machine more disk time than the server it is meant to load. A kit that goes
offline keeps its outbox (as a real kit keeps it on disk) and delivers it in sequence order when it reconnects.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice

import zmq

from link.keys import KitKeys
from link.sender import OutboxEntry, OutboxSender

#: Device states the light kits report in heartbeats.
HEALTHY = {"scanner": "ready", "card_reader": "ready", "printer": "ready"}


class MemoryOutbox:
    """The outbox protocol (``pending`` / ``mark_delivered``) in a dict kept in sequence order (single-threaded)."""

    def __init__(self) -> None:
        # Entries are built once here, not per ``pending`` call: the sender asks for its window many times a second.
        self._pending: dict[int, OutboxEntry] = {}
        self.next_seq = 1
        self.delivered = 0
        #: Acknowledged sequence numbers arriving below an already acknowledged one (reordered delivery).
        self.out_of_order = 0
        self._highest_acked = 0

    def add(self, payload: bytes) -> int:
        """Commit ``payload`` under the next sequence number; returns it."""
        seq = self.next_seq
        self._pending[seq] = OutboxEntry(seq, payload)
        self.next_seq += 1
        return seq

    def pending(self, limit: int) -> Sequence[OutboxEntry]:
        """Unacknowledged entries, oldest first (dict order is insertion order is sequence order)."""
        return list(islice(self._pending.values(), limit))

    def mark_delivered(self, seqs: Sequence[int]) -> None:
        """Drop acknowledged entries."""
        for seq in seqs:
            if self._pending.pop(seq, None) is not None:
                self.delivered += 1
                if seq < self._highest_acked:
                    self.out_of_order += 1
                self._highest_acked = max(self._highest_acked, seq)

    def __len__(self) -> int:
        return len(self._pending)


class LightKit:
    """One simulated kit: its keys, its outbox, and a sender while it is online."""

    def __init__(self, keys: KitKeys, heartbeat_s: float) -> None:
        self.keys = keys
        self.outbox = MemoryOutbox()
        self.sender: OutboxSender | None = None
        self.heartbeat_s = heartbeat_s
        self.connections = 0

    @property
    def committed(self) -> int:
        """Identifications this kit has committed."""
        return self.outbox.next_seq - 1

    def connect(self, context: zmq.Context[zmq.Socket[bytes]], endpoint: str) -> zmq.Socket[bytes]:
        """Bring the link up (a new socket, as after a network outage); returns the socket to poll."""
        self.sender = OutboxSender(self.outbox, endpoint, self.keys, context=context, health=lambda: HEALTHY,
                                   heartbeat_s=self.heartbeat_s)
        self.connections += 1
        return self.sender.socket

    def disconnect(self) -> zmq.Socket[bytes] | None:
        """Take the link down: the socket is closed, in-flight entries stay in the outbox."""
        if self.sender is None:
            return None
        sock = self.sender.socket
        self.sender.close()
        self.sender = None
        return sock
