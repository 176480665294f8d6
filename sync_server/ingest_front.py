"""An ingest front: the kits' CURVE ROUTER socket, its ZAP handler, message checks, and acknowledgements.

A front never waits on the database. It reads every message that is ready (up to MAX_BATCH), refuses what is
malformed, forged, revoked or training (each refusal touches only its own message), and sends the rest to the writer
(``ingest_writer.py``) as one batch of plain rows. When the writer answers that a batch is committed, the front sends
each kit its acknowledgements. At most MAX_IN_FLIGHT batches wait on the writer; beyond that the front stops reading
its kits until the writer catches up, so the backlog stays in the kits' outboxes rather than in server memory.

One front runs as a thread of ``shailoo server run``; with ``--fronts N`` the server runs N front processes, each
binding its own port, because one process cannot hold 20,000 TCP connections under a 20,000-descriptor limit and one
Python thread cannot decode 3,000 messages per second while also serving HTTP (see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from typing import Any

import zmq
from sqlalchemy.exc import SQLAlchemyError

from link.errors import MessageError
from link.messages import MAX_MESSAGE_BYTES, Heartbeat, IdentificationEvent, decode, encode_ack
from sync_server.keys import ServerKeys
from sync_server.services import ingest as svc
from sync_server.zap import KitRegistryCache, ZapHandler

log = logging.getLogger(__name__)

#: Messages read into one batch. A kit keeps at most 256 in flight (link.sender.WINDOW); 2,000 covers a second of
#: peak load at one front.
MAX_BATCH = 2000
#: Batches sent to the writer and not yet answered before the front stops reading kits: two keep the writer busy
#: (one committing, one waiting), a few more absorb jitter.
MAX_IN_FLIGHT = 4
#: Frames above this size make libzmq drop the sender's connection before anything is read into Python (a kit never
#: sends more than MAX_MESSAGE_BYTES); between the two limits the message is read and refused with a log entry.
SOCKET_MAX_BYTES = 4 * MAX_MESSAGE_BYTES
#: Largest sequence number the server stores (its column is a 32-bit integer on PostgreSQL and SQLite alike); a
#: kit commits a few thousand a day, so anything above is refused as malformed rather than failing a whole batch.
MAX_SEQ = 2**31 - 1
#: Seconds between checks that the process that started this front is still alive (front processes only).
PARENT_CHECK_S = 1.0


class IngestFront:
    """Binds the kits' ``endpoint`` and talks to the writer at ``writer_endpoint``; :meth:`run` until :meth:`stop`.

    ``context`` must be this front's own: the ZAP handler binds the context's one ZAP endpoint.
    """

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], endpoint: str, writer_endpoint: str,
                 cache: KitRegistryCache, keys: ServerKeys, election_mode: str = "real", index: int = 0) -> None:
        self._election_mode = election_mode
        self._index = index
        self.cache = cache
        self._zap = ZapHandler(context, cache, election_mode)
        sock = context.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTER_MANDATORY, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, SOCKET_MAX_BYTES)
        sock.setsockopt(zmq.ZAP_ENFORCE_DOMAIN, 1)
        sock.zap_domain = b"shailoo"
        sock.curve_server = True
        sock.curve_secretkey = keys.curve.secret.encode("ascii")
        sock.curve_publickey = keys.curve.public.encode("ascii")
        # Messages queued per kit connection while this front is not reading (the writer is behind): a kit has at most
        # link.sender.WINDOW entries in flight, and beyond this libzmq stops reading that kit's TCP socket, so the
        # backlog waits in the kits' outboxes instead of growing server memory (5,000 kits x 1,000 x 300 B = 1.5 GB).
        sock.setsockopt(zmq.RCVHWM, 300)
        # Thousands of kits reconnect at once after a CEC restart; a deep accept backlog keeps them from retrying.
        sock.setsockopt(zmq.BACKLOG, 4096)
        sock.bind(endpoint)
        self._socket = sock
        self.endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        writer = context.socket(zmq.DEALER)
        writer.setsockopt(zmq.LINGER, 0)
        writer.connect(writer_endpoint)
        self._writer = writer
        self._stop = threading.Event()
        #: batch id -> (ROUTER identity, station, kit, seq) of each event in it, in order.
        self._pending: dict[bytes, list[tuple[bytes, str, str, int]]] = {}
        self._next_id = 0
        self._rejections: list[tuple[str, str, str]] = []
        self.received = 0
        self._cpu_s = 0.0

    def stop(self) -> None:
        """Ask the loop to end."""
        self._stop.set()

    def run(self, parent_pid: int | None = None) -> None:
        """Receive, hand to the writer, acknowledge what it committed, until stopped (or the parent is gone)."""
        poller = zmq.Poller()
        poller.register(self._socket, zmq.POLLIN)
        poller.register(self._zap.socket, zmq.POLLIN)
        poller.register(self._writer, zmq.POLLIN)
        reading = True
        parent_checked = time.monotonic()
        cpu0 = time.thread_time()
        try:
            self.cache.reload()
            while not self._stop.is_set():
                events = dict(poller.poll(100))
                try:
                    self.cache.refresh_if_due()
                except SQLAlchemyError as exc:  # keep the registry already loaded; try again at the next refresh
                    log.error("ingest front %d could not reload the kit registry: %s", self._index, exc)
                if self._zap.socket in events:
                    self._zap.handle()
                if self._writer in events:
                    self._acknowledge()
                if self._socket in events and len(self._pending) < MAX_IN_FLIGHT:
                    self._read_batch()
                self._rejections += self._zap.drain_refusals()
                if self._rejections and len(self._pending) < MAX_IN_FLIGHT:
                    self._send([], [], [], [])
                self._cpu_s = time.thread_time() - cpu0
                # Stop polling the kits' socket while the writer is behind (else poll returns at once, forever).
                if reading != (len(self._pending) < MAX_IN_FLIGHT):
                    reading = not reading
                    poller.modify(self._socket, zmq.POLLIN if reading else 0)
                if parent_pid is not None and time.monotonic() - parent_checked >= PARENT_CHECK_S:
                    parent_checked = time.monotonic()
                    if os.getppid() != parent_pid:
                        log.error("ingest front %d: the server process is gone; stopping", self._index)
                        break
        finally:
            self._socket.close(0)
            self._writer.close(0)
            self._zap.close()

    def _read_batch(self) -> None:
        rows: list[list[Any]] = []
        keys: list[tuple[bytes, str, str, int]] = []
        beats: list[list[Any]] = []
        seen: set[int] = set()
        rejections = self._rejections
        first_new = len(rejections)  # earlier ones are ZAP refusals, logged by the handler
        for _ in range(MAX_BATCH):
            try:
                frames = self._socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            self.received += 1
            if len(frames) != 2:
                rejections.append(("malformed", "", f"message with {len(frames)} frames"))
                continue
            identity_frame, payload = frames
            kit = self.cache.lookup(str(payload.get("User-Id") or ""))
            if kit is None:
                rejections.append(("forged", "", "message from a connection with no registered key"))
                continue
            who = kit.user_id
            try:
                message = decode(payload.bytes)
            except MessageError as exc:
                rejections.append(("malformed", who, str(exc)))
                continue
            if isinstance(message, IdentificationEvent):
                why = svc.origin_refusal(kit, message.station_id, message.kit_id, message.training,
                                         self._election_mode)
                if why:
                    rejections.append((why, who, f"event {message.station_id}/{message.kit_id}#{message.seq}"))
                    continue
                if message.seq > MAX_SEQ:
                    rejections.append(("malformed", who, f"sequence number {message.seq} exceeds {MAX_SEQ}"))
                    continue
                # The kit resends the exact bytes its outbox holds, so the hash of the bytes received identifies the
                # content (and equals svc.content_hash for link.messages' canonical encoding) at no re-encoding cost.
                rows.append(svc.event_row(message, hashlib.sha256(payload.bytes).hexdigest()))
                keys.append((identity_frame.bytes, message.station_id, message.kit_id, message.seq))
                seen.add(kit.row_id)
            elif isinstance(message, Heartbeat):
                why = svc.origin_refusal(kit, message.station_id, message.kit_id, False, self._election_mode)
                if why:
                    rejections.append((why, who, f"heartbeat naming {message.station_id}/{message.kit_id}"))
                    continue
                beats.append(svc.heartbeat_row(kit.row_id, message))
                seen.add(kit.row_id)
            else:
                rejections.append(("unexpected", who, f"a kit sent {type(message).__name__}"))
        for kind, who, detail in rejections[first_new:]:
            log.warning("refused a %s message from %s: %s", kind, who or "an unknown peer", detail)
        if rows or beats or seen or rejections:
            self._send(rows, keys, beats, sorted(seen))

    def _send(self, rows: list[list[Any]], keys: list[tuple[bytes, str, str, int]], beats: list[list[Any]],
              seen: list[int]) -> None:
        self._next_id += 1
        batch_id = str(self._next_id).encode("ascii")
        body = {"e": rows, "h": beats, "s": seen, "r": self._rejections,
                "f": {"i": self._index, "received": self.received, "cpu_s": round(self._cpu_s, 3),
                      "in_flight": len(self._pending) + 1}}
        self._rejections = []
        self._pending[batch_id] = keys
        # The writer is local and reads continuously; at its high-water mark this blocks, which is the backpressure.
        self._writer.send_multipart([batch_id, json.dumps(body, separators=(",", ":")).encode("utf-8")])

    def _acknowledge(self) -> None:
        while True:
            try:
                batch_id, outcome = self._writer.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            keys = self._pending.pop(batch_id, [])
            for (identity, station_id, kit_id, seq), letter in zip(keys, outcome.decode("ascii"), strict=True):
                if letter not in (svc.NEW, svc.DUPLICATE):
                    continue  # a conflicting replay (refused and logged by the writer) or not stored: no ack
                ack = encode_ack(station_id, kit_id, seq)
                try:
                    self._socket.send_multipart([identity, ack], zmq.NOBLOCK)
                except zmq.ZMQError as exc:  # the kit went away; it will resend and be acknowledged then
                    log.info("could not acknowledge %s/%s#%d: %s", station_id, kit_id, seq, exc)
