"""Kit side of the link: deliver the outbox to the CEC over a ZeroMQ DEALER socket until each entry is acknowledged.

The outbox is the source of truth (it is committed with the identification), so the sender keeps no state of its own
that matters: after a crash it starts again from what the outbox says is unacknowledged. Entries are resent after a
timeout that grows with each unanswered try (Lazy Pirate pattern of the ZeroMQ guide, with backoff), so a server
outage costs nothing but time, and the server's idempotent ingest turns resends into no-ops.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import zmq

from link.errors import MessageError
from link.messages import Ack, decode

log = logging.getLogger(__name__)

#: First resend timeout, seconds; doubled per unanswered try up to MAX_RESEND_S. A healthy server answers in
#: milliseconds, so 2 s only triggers on a real outage.
FIRST_RESEND_S = 2.0
MAX_RESEND_S = 30.0
#: Entries in flight at once: enough to fill a batch at the server, small enough to resend cheaply.
WINDOW = 256


@dataclass(frozen=True)
class OutboxEntry:
    """One committed, unacknowledged message: its sequence number and the exact bytes to send."""

    seq: int
    payload: bytes


class Outbox(Protocol):
    """What the sender needs from the kit's store."""

    def pending(self, limit: int) -> Sequence[OutboxEntry]:
        """Unacknowledged entries in sequence order, at most ``limit``."""
        ...

    def mark_delivered(self, seqs: Sequence[int]) -> None:
        """Record that the server has committed these sequence numbers."""
        ...


@dataclass
class _InFlight:
    sent_at: float
    timeout: float


class OutboxSender:
    """Sends a kit's outbox to one CEC endpoint; ``run_once`` is one step, ``run`` loops until stopped."""

    def __init__(
        self,
        outbox: Outbox,
        endpoint: str,
        station_id: str,
        kit_id: str,
        context: zmq.Context[zmq.Socket[bytes]] | None = None,
    ) -> None:
        self._outbox = outbox
        self._endpoint = endpoint
        self._station_id = station_id
        self._kit_id = kit_id
        self._context = context or zmq.Context.instance()
        self._socket = self._new_socket()
        self._in_flight: dict[int, _InFlight] = {}
        self._stop = threading.Event()
        self.delivered_total = 0

    def _new_socket(self) -> zmq.Socket[bytes]:
        sock = self._context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        # Queue only to a completed connection: while the server is down, sends wait in the outbox (on disk) rather
        # than in ZeroMQ's memory, which a power cut would lose anyway.
        sock.setsockopt(zmq.IMMEDIATE, 1)
        sock.setsockopt(zmq.RECONNECT_IVL, 100)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 5000)
        sock.connect(self._endpoint)
        return sock

    def stop(self) -> None:
        """Ask ``run`` to return after its current step."""
        self._stop.set()

    def run(self, poll_s: float = 0.2) -> None:
        """Deliver until :meth:`stop` is called."""
        try:
            while not self._stop.is_set():
                self.run_once(poll_s)
        finally:
            self._socket.close(0)

    def run_once(self, poll_s: float = 0.2) -> int:
        """Send what is due, then wait up to ``poll_s`` for acknowledgements; returns how many were acknowledged."""
        now = time.monotonic()
        for entry in self._outbox.pending(WINDOW):
            flight = self._in_flight.get(entry.seq)
            if flight is not None and now - flight.sent_at < flight.timeout:
                continue
            try:
                self._socket.send(entry.payload, zmq.NOBLOCK)
            except zmq.Again:
                break  # not connected: the entry stays pending on disk
            timeout = FIRST_RESEND_S if flight is None else min(flight.timeout * 2, MAX_RESEND_S)
            self._in_flight[entry.seq] = _InFlight(sent_at=now, timeout=timeout)
        acked: list[int] = []
        if self._socket.poll(int(poll_s * 1000), zmq.POLLIN):
            while True:
                try:
                    frame = self._socket.recv(zmq.NOBLOCK)
                except zmq.Again:
                    break
                seq = self._parse_ack(frame)
                if seq is not None:
                    acked.append(seq)
        if acked:
            self._outbox.mark_delivered(acked)
            for seq in acked:
                self._in_flight.pop(seq, None)
            self.delivered_total += len(acked)
        return len(acked)

    def _parse_ack(self, frame: bytes) -> int | None:
        try:
            message = decode(frame)
        except MessageError as exc:
            log.warning("ignoring malformed reply from the CEC: %s", exc)
            return None
        if not isinstance(message, Ack) or (message.station_id, message.kit_id) != (self._station_id, self._kit_id):
            log.warning("ignoring a reply that is not an acknowledgement for this kit")
            return None
        return message.seq
