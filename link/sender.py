"""Kit side of the link: deliver the outbox to the CEC over a ZeroMQ DEALER socket until each entry is acknowledged.

The link is encrypted and authenticated with CURVE (the "Ironhouse" pattern of the ZeroMQ guide): the kit proves its
identity with its own key pair, registered at the CEC, and only talks to the CEC's public key. Every few seconds the
sender also sends a heartbeat with device health and the outbox size, outside the outbox.

The outbox is the source of truth (it is committed with the identification), so the sender keeps no state of its own
that matters: after a crash it starts again from what the outbox says is unacknowledged. Entries are resent after a
timeout that grows with each unanswered try (Lazy Pirate pattern of the ZeroMQ guide, with backoff), so a server
outage costs nothing but time, and the server's idempotent ingest turns resends into no-ops.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import zmq
from zmq.utils.monitor import parse_monitor_message

from link.errors import MessageError
from link.keys import KitKeys, apply_client_keys
from link.messages import Ack, Heartbeat, decode, encode, encode_ack

log = logging.getLogger(__name__)

#: When to resend. A message is lost only with the connection it was sent on (server killed, network cut) or when
#: the CEC refused it. A slow CEC loses nothing: it answers each connection's messages in order, so resending a
#: message that is merely queued would add load exactly when the CEC is slowest (congestion collapse). Hence:
#: - after a reconnect, every unacknowledged entry sent on an earlier connection is resent at once;
#: - an entry is resent after FIRST_RESEND_S (doubling up to MAX_RESEND_S) when an entry sent after it on the same
#:   connection was acknowledged (it was lost or refused);
#: - otherwise only after STALE_RESEND_S, and only if the CEC acknowledged nothing at all for that long: a last resort
#:   for a CEC that lost messages without dropping the connection. (Resending after STALE_RESEND_S while
#:   acknowledgements still flowed made every kit resend its whole window once the CEC's backlog passed a minute.)
FIRST_RESEND_S = 2.0
MAX_RESEND_S = 30.0
STALE_RESEND_S = 60.0
#: ZMTP heartbeats (RFC 37) on the connection: a network cut without a TCP reset is noticed within ZMTP_HEARTBEAT_TIMEOUT_MS
#: and the socket reconnects, which makes the unacknowledged entries due for resending.
ZMTP_HEARTBEAT_MS = 5000
ZMTP_HEARTBEAT_TIMEOUT_MS = 15000
#: Entries in flight at once: enough to fill a batch at the server, small enough to resend cheaply.
WINDOW = 256
#: Seconds between heartbeats; the CEC calls a kit silent after several missed ones.
HEARTBEAT_S = 10.0

#: zmq.POLLIN as a plain int (bit operations on pyzmq's enum cost microseconds on a path run per message).
_POLLIN = int(zmq.POLLIN)

#: Returns the kit's device states (name -> MOSIP-style state) for the next heartbeat.
HealthProbe = Callable[[], Mapping[str, str]]


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
    #: Position in this sender's sending order (resends get a new one).
    order: int = 0
    #: The connection it was sent on.
    generation: int = 0


class OutboxSender:
    """Sends a kit's outbox to one CEC endpoint; ``run_once`` is one step, ``run`` loops until stopped."""

    def __init__(
        self,
        outbox: Outbox,
        endpoint: str,
        keys: KitKeys,
        context: zmq.Context[zmq.Socket[bytes]] | None = None,
        health: HealthProbe | None = None,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self._outbox = outbox
        self._endpoint = endpoint
        self._keys = keys
        self._station_id = keys.station_id
        self._kit_id = keys.kit_id
        self._ack_prefix = encode_ack(keys.station_id, keys.kit_id, 1)[:-2]  # everything before the digits of seq
        self._context = context or zmq.Context.instance()
        self._health = health
        self._heartbeat_s = heartbeat_s
        self._next_heartbeat = 0.0
        self._socket = self._new_socket()
        self._in_flight: dict[int, _InFlight] = {}
        self._stop = threading.Event()
        self.delivered_total = 0
        self.heartbeats_sent = 0
        self.resent_total = 0
        self._send_counter = 0
        #: Incremented at each completed (re)connection, read from the socket monitor.
        self._generation = 0
        self._newest_acked_order = 0
        #: When this sender last received an acknowledgement (monotonic seconds).
        self._last_ack_at = float("-inf")

    @property
    def socket(self) -> zmq.Socket[bytes]:
        """The DEALER socket, for callers that poll many senders at once (the ingest benchmark)."""
        return self._socket

    @property
    def connected(self) -> bool:
        """Whether a CURVE handshake with the CEC has completed on this socket (cheap: reads the monitor's flag)."""
        self._watch_connection()
        return self._generation > 0

    def close(self) -> None:
        """Close the socket; unacknowledged entries stay in the outbox."""
        self._monitor.close(0)
        self._socket.close(0)

    def _watch_connection(self) -> None:
        """Count completed handshakes: entries sent on an earlier connection may have died with it."""
        # Reading the EVENTS flag is much cheaper than a NOBLOCK recv that raises: this runs before every send.
        if not int(self._monitor.getsockopt(zmq.EVENTS)) & _POLLIN:
            return
        while True:
            try:
                frames = self._monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if parse_monitor_message(frames)["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self._generation += 1

    def _new_socket(self) -> zmq.Socket[bytes]:
        sock = self._context.socket(zmq.DEALER)
        apply_client_keys(sock, self._keys)
        sock.setsockopt(zmq.LINGER, 0)
        # Queue only to a completed connection: while the server is down, sends wait in the outbox (on disk) rather
        # than in ZeroMQ's memory, which a power cut would lose anyway.
        sock.setsockopt(zmq.IMMEDIATE, 1)
        sock.setsockopt(zmq.RECONNECT_IVL, 100)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 5000)
        sock.setsockopt(zmq.HEARTBEAT_IVL, ZMTP_HEARTBEAT_MS)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, ZMTP_HEARTBEAT_TIMEOUT_MS)
        self._monitor = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
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
            self.close()

    def run_once(self, poll_s: float = 0.2) -> int:
        """Send what is due, then wait up to ``poll_s`` for acknowledgements; returns how many were acknowledged."""
        self.send_due()
        if self._socket.poll(int(poll_s * 1000), zmq.POLLIN):
            return self.receive_acks()
        return 0

    def send_due(self, now: float | None = None) -> int:
        """Send new entries, resend those whose timeout expired, and the heartbeat when due; returns entries sent."""
        now = time.monotonic() if now is None else now
        self._watch_connection()
        if self._health is not None and now >= self._next_heartbeat:
            self._send_heartbeat(now)
        sent = 0
        for entry in self._outbox.pending(WINDOW):
            flight = self._in_flight.get(entry.seq)
            if flight is not None:
                waited = now - flight.sent_at
                reconnected = flight.generation != self._generation
                overtaken = flight.order < self._newest_acked_order and waited >= flight.timeout
                stale = waited >= max(flight.timeout, STALE_RESEND_S) and now - self._last_ack_at >= STALE_RESEND_S
                if not (reconnected or overtaken or stale):
                    continue
            try:
                self._socket.send(entry.payload, zmq.NOBLOCK)
            except zmq.Again:
                break  # not connected: the entry stays pending on disk
            if flight is not None:
                self.resent_total += 1
            timeout = FIRST_RESEND_S if flight is None else min(flight.timeout * 2, MAX_RESEND_S)
            self._send_counter += 1
            self._in_flight[entry.seq] = _InFlight(sent_at=now, timeout=timeout, order=self._send_counter,
                                                   generation=self._generation)
            sent += 1
        return sent

    def _send_heartbeat(self, now: float) -> None:
        assert self._health is not None
        beat = Heartbeat(
            station_id=self._station_id,
            kit_id=self._kit_id,
            sent_at=datetime.now(UTC),
            devices=dict(self._health()),
            pending=len(self._outbox.pending(10**6)),
        )
        try:
            self._socket.send(encode(beat), zmq.NOBLOCK)
        except zmq.Again:
            return  # not connected: the next heartbeat will say the same, fresher
        self._next_heartbeat = now + self._heartbeat_s
        self.heartbeats_sent += 1

    def receive_acks(self) -> int:
        """Read every acknowledgement waiting on the socket and record them in the outbox; returns how many."""
        acked: list[int] = []
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
                flight = self._in_flight.pop(seq, None)
                if flight is not None:
                    self._newest_acked_order = max(self._newest_acked_order, flight.order)
            self.delivered_total += len(acked)
            self._last_ack_at = time.monotonic()
        return len(acked)

    def _parse_ack(self, frame: bytes) -> int | None:
        # Fast path: the server's acknowledgement for this kit is byte-for-byte encode_ack's output; anything else
        # (another formatting, another kit, garbage) goes through the full decoder and its checks.
        if frame.startswith(self._ack_prefix) and frame.endswith(b"}"):
            digits = frame[len(self._ack_prefix):-1]
            if digits.isdigit() and len(digits) <= 18 and digits[:1] != b"0":
                return int(digits)
        try:
            message = decode(frame)
        except MessageError as exc:
            log.warning("ignoring malformed reply from the CEC: %s", exc)
            return None
        if not isinstance(message, Ack) or (message.station_id, message.kit_id) != (self._station_id, self._kit_id):
            log.warning("ignoring a reply that is not an acknowledgement for this kit")
            return None
        return message.seq
