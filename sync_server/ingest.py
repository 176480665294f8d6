"""ZeroMQ ingest: a CURVE ROUTER socket receives kits' messages, commits them in batches, then acknowledges each.

Acknowledging only after the commit ("write before acknowledge", the Titanic pattern) means a server killed at any
moment has either stored a message and may not have said so (the kit resends; the unique key makes that a no-op) or
has not stored it and has not acknowledged it (the kit resends). Either way nothing is lost and nothing counts twice.

Every refusal (malformed, oversized, forged, replayed, revoked, training) is logged and stored, and touches only the
message at fault: the rest of the batch, from other kits, is stored and acknowledged as usual.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import zmq
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from link.errors import MessageError
from link.messages import MAX_MESSAGE_BYTES, Ack, Heartbeat, IdentificationEvent, decode, encode
from sync_server.keys import ServerKeys
from sync_server.services import ingest as svc
from sync_server.zap import KitRegistryCache, ZapHandler

log = logging.getLogger(__name__)

#: Messages drained into one transaction: one fsync amortised over many events at peak load.
MAX_BATCH = 1000
#: Frames above this size make libzmq drop the sender's connection before anything is read into Python (a kit never
#: sends more than MAX_MESSAGE_BYTES); between the two limits the message is read and refused with a log entry.
SOCKET_MAX_BYTES = 4 * MAX_MESSAGE_BYTES
#: Pause after a database failure before the next batch (the kits resend what was not acknowledged).
DB_RETRY_S = 0.5


@dataclass
class IngestStats:
    """Counters since start, for the health endpoint and the benchmark."""

    ingested: int = 0
    duplicates: int = 0
    rejected: int = 0
    heartbeats: int = 0
    batches: int = 0


class IngestLoop:
    """Runs in its own thread with its own ZeroMQ context (the ZAP endpoint is per context); ``stop()`` ends it."""

    def __init__(
        self, endpoint: str, sessions: sessionmaker[Any], keys: ServerKeys, election_mode: str = "real"
    ) -> None:
        self._context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._context.setsockopt(zmq.LINGER, 0)
        self._sessions = sessions
        self._election_mode = election_mode
        self.cache = KitRegistryCache(self._load_kits)
        self._zap = ZapHandler(self._context, self.cache, election_mode)
        sock = self._context.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTER_MANDATORY, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, SOCKET_MAX_BYTES)
        sock.setsockopt(zmq.ZAP_ENFORCE_DOMAIN, 1)
        sock.zap_domain = b"shailoo"
        sock.curve_server = True
        sock.curve_secretkey = keys.curve.secret.encode("ascii")
        sock.curve_publickey = keys.curve.public.encode("ascii")
        # Thousands of kits reconnect at once after a CEC restart; a deep accept backlog keeps them from retrying.
        sock.setsockopt(zmq.BACKLOG, 4096)
        sock.bind(endpoint)
        self._socket = sock
        self.endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self._stop = threading.Event()
        self.stats = IngestStats()

    def _load_kits(self) -> list[svc.KitIdentity]:
        with self._sessions() as session:
            return svc.load_kit_identities(session)

    def stop(self) -> None:
        """Ask the loop to end after its current batch."""
        self._stop.set()

    def run(self) -> None:
        """Receive, commit, acknowledge, until stopped."""
        poller = zmq.Poller()
        poller.register(self._socket, zmq.POLLIN)
        poller.register(self._zap.socket, zmq.POLLIN)
        try:
            self.cache.reload()
            while not self._stop.is_set():
                events = dict(poller.poll(200))
                try:
                    self.cache.refresh_if_due()
                    if self._zap.socket in events:
                        self._zap.handle()
                    if self._socket in events:
                        self._one_batch()
                    refusals = self._zap.drain_refusals()
                    if refusals:
                        with self._sessions.begin() as session:
                            svc.record_rejections(session, refusals)
                except SQLAlchemyError as exc:
                    log.error("database unavailable, nothing acknowledged (kits will resend): %s", exc)
                    time.sleep(DB_RETRY_S)
        finally:
            self._socket.close(0)
            self._zap.close()
            self._context.term()

    def _one_batch(self) -> None:
        events: list[tuple[bytes, IdentificationEvent]] = []  # (ROUTER identity, event)
        beats: list[tuple[int, Heartbeat]] = []
        seen: set[int] = set()
        rejections: list[tuple[str, str, str]] = []
        for _ in range(MAX_BATCH):
            try:
                frames = self._socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            if len(frames) != 2:
                rejections.append(("malformed", "", f"message with {len(frames)} frames"))
                continue
            identity_frame, payload = frames
            kit = self.cache.lookup(str(payload.get("User-Id") or ""))
            who = kit.user_id if kit else ""
            if kit is None:
                rejections.append(("forged", "", "message from a connection with no registered key"))
                continue
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
                events.append((identity_frame.bytes, message))
                seen.add(kit.row_id)
            elif isinstance(message, Heartbeat):
                why = svc.origin_refusal(kit, message.station_id, message.kit_id, False, self._election_mode)
                if why:
                    rejections.append((why, who, f"heartbeat naming {message.station_id}/{message.kit_id}"))
                    continue
                beats.append((kit.row_id, message))
            else:
                rejections.append(("unexpected", who, f"a kit sent {type(message).__name__}"))
        for kind, who, detail in rejections:
            log.warning("refused a %s message from %s: %s", kind, who or "an unknown peer", detail)
        if not (events or beats or rejections):
            return
        with self._sessions.begin() as session:
            result = svc.ingest_identifications(session, [e for _, e in events])
            for event in result.conflicts:
                rejections.append(("replayed", f"{event.station_id}/{event.kit_id}",
                                   f"seq {event.seq} already stored with other content"))
                log.warning("refused a replay of %s/%s#%d with other content", event.station_id, event.kit_id,
                            event.seq)
            for row_id, beat in beats:
                svc.record_heartbeat(session, row_id, beat)
            svc.mark_seen(session, seen)
            svc.record_rejections(session, rejections)
        self.stats.batches += 1
        self.stats.ingested += len(result.new)
        self.stats.duplicates += len(result.duplicates)
        self.stats.rejected += len(rejections)
        self.stats.heartbeats += len(beats)
        ok = {id(e) for e in result.acknowledged}
        for identity, event in events:
            if id(event) not in ok:
                continue
            ack = encode(Ack(station_id=event.station_id, kit_id=event.kit_id, seq=event.seq))
            try:
                self._socket.send_multipart([identity, ack], zmq.NOBLOCK)
            except zmq.ZMQError as exc:  # the kit went away; it will resend and be acknowledged then
                log.info("could not acknowledge %s/%s#%d: %s", event.station_id, event.kit_id, event.seq, exc)


def start_ingest_thread(
    endpoint: str, sessions: sessionmaker[Any], keys: ServerKeys, election_mode: str = "real"
) -> tuple[IngestLoop, threading.Thread]:
    """Bind the ingest socket and run its loop in a daemon thread."""
    loop = IngestLoop(endpoint, sessions, keys, election_mode)
    thread = threading.Thread(target=loop.run, name="zmq-ingest", daemon=True)
    thread.start()
    return loop, thread
