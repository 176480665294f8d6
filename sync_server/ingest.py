"""ZeroMQ ingest: a ROUTER socket receives kits' messages, commits them in batches, then acknowledges each.

Acknowledging only after the commit ("write before acknowledge") means a server killed at any moment has either
stored a message and may not have said so (the kit resends; the unique key makes that a no-op) or has not stored it
and has not acknowledged it (the kit resends). Either way nothing is lost and nothing counts twice.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import zmq
from sqlalchemy.orm import sessionmaker

from link.errors import MessageError
from link.messages import Ack, IdentificationEvent, decode, encode
from sync_server import services

log = logging.getLogger(__name__)

#: Messages drained into one transaction: one fsync amortised over many events at peak load.
MAX_BATCH = 1000


class IngestLoop:
    """Runs in its own thread; ``stop()`` ends it."""

    def __init__(self, endpoint: str, sessions: sessionmaker[Any], context: zmq.Context[Any] | None = None) -> None:
        self._context = context or zmq.Context.instance()
        self._socket = self._context.socket(zmq.ROUTER)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.ROUTER_MANDATORY, 0)
        self._socket.bind(endpoint)
        self.endpoint = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self._sessions = sessions
        self._stop = threading.Event()
        self.rejected = 0
        self.ingested = 0

    def stop(self) -> None:
        """Ask the loop to end after its current batch."""
        self._stop.set()

    def run(self) -> None:
        """Receive, commit, acknowledge, until stopped."""
        try:
            while not self._stop.is_set():
                if self._socket.poll(200, zmq.POLLIN):
                    self._one_batch()
        finally:
            self._socket.close(0)

    def _one_batch(self) -> None:
        batch: list[tuple[bytes, IdentificationEvent]] = []
        while len(batch) < MAX_BATCH:
            try:
                frames = self._socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            if len(frames) != 2:
                self.rejected += 1
                log.warning("refused a message with %d frames", len(frames))
                continue
            identity, payload = frames
            try:
                message = decode(payload)
            except MessageError as exc:
                self.rejected += 1
                log.warning("refused a malformed message: %s", exc)
                continue
            if not isinstance(message, IdentificationEvent):
                self.rejected += 1
                log.warning("refused an unexpected %s from a kit", type(message).__name__)
                continue
            batch.append((identity, message))
        if not batch:
            return
        with self._sessions.begin() as session:
            self.ingested += services.ingest_identifications(session, [m for _, m in batch])
        for identity, message in batch:
            ack = encode(Ack(station_id=message.station_id, kit_id=message.kit_id, seq=message.seq))
            try:
                self._socket.send_multipart([identity, ack], zmq.NOBLOCK)
            except zmq.ZMQError as exc:  # the kit went away; it will resend and be acknowledged then
                log.info("could not acknowledge %s/%s#%d: %s", message.station_id, message.kit_id, message.seq, exc)


def start_ingest_thread(endpoint: str, sessions: sessionmaker[Any]) -> tuple[IngestLoop, threading.Thread]:
    """Bind the ingest socket and run its loop in a daemon thread."""
    loop = IngestLoop(endpoint, sessions)
    thread = threading.Thread(target=loop.run, name="zmq-ingest", daemon=True)
    thread.start()
    return loop, thread
