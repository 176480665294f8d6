"""The ingest writer: the one thread that writes what kits send, in group commits, and answers each front after commit.

Ingest fronts (``ingest_front.py``) terminate the kits' CURVE connections, check and decode every message, and send
batches of plain rows to this writer over a ZeroMQ DEALER -> ROUTER pair (``inproc://`` inside one process, ``ipc://``
in a private folder between processes). The writer drains every batch that is ready, from every front, into one
transaction (group commit: one fsync, or one PostgreSQL commit round trip, for thousands of identifications), then
replies to each front with one outcome letter per event; the front acknowledges to the kits only then (write before
acknowledge, the Titanic pattern of the ZeroMQ guide).

Flow control without unbounded queues: a front keeps at most a few batches in flight, and ZeroMQ's high-water marks
bound what waits between the two; while the database is slow the fronts stop reading their kits' sockets, and the
backlog stays in the kits' outboxes on disk, where it belongs.

Two things are deliberately not written in every transaction: the kits' ``last_seen_at`` (a status shown to people,
not a count) is written at most every SEEN_FLUSH_S, and heartbeats keep only the newest per kit in a batch.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import zmq
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from sync_server.services import ingest as svc

log = logging.getLogger(__name__)

#: Most identifications in one transaction: large enough to amortise the commit at 3,000 events/s, small enough that
#: a transaction stays well under a second on a loaded machine (measured: about 15 ms per 1,000 on SQLite here).
MAX_EVENTS_PER_COMMIT = 5000
#: Seconds between writes of the kits' last-contact times (a dashboard status, not a turnout figure).
SEEN_FLUSH_S = 2.0
#: After a failed transaction, wait this long and retry the same batches, at most HOLD_RETRIES times; then give
#: them up unacknowledged (the kits resend them) so one poison batch cannot stop ingest for good.
DB_RETRY_S = 0.5
HOLD_RETRIES = 20
#: Outcome letter a front receives for an event the writer could not store (no acknowledgement is sent).
NOT_STORED = "x"


@dataclass
class IngestStats:
    """Counters since start, for the health endpoint and the benchmark (timings in seconds)."""

    ingested: int = 0
    duplicates: int = 0
    rejected: int = 0
    heartbeats: int = 0
    batches: int = 0
    #: Transactions committed (each holds one or more front batches).
    commits: int = 0
    #: Identifications in the largest transaction so far.
    largest_commit: int = 0
    #: Wall time spent inside transactions, and the writer thread's CPU time.
    db_s: float = 0.0
    writer_cpu_s: float = 0.0
    #: Per front (by its index): messages received, CPU seconds of its loop thread, batches it waits on.
    fronts: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class _Batch:
    front: bytes
    batch_id: bytes
    body: dict[str, Any]


class IngestWriter:
    """Binds ``endpoint`` (ROUTER) in ``context``; :meth:`run` writes until :meth:`stop`."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], endpoint: str, sessions: sessionmaker[Any],
                 stats: IngestStats | None = None) -> None:
        self._sessions = sessions
        self.stats = stats or IngestStats()
        sock = context.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.bind(endpoint)
        self.endpoint = sock.getsockopt_string(zmq.LAST_ENDPOINT)
        self._socket = sock
        self._stop = threading.Event()
        self._seen: set[int] = set()
        self._seen_at = float("-inf")

    def stop(self) -> None:
        """Ask the loop to end after its current transaction."""
        self._stop.set()

    def run(self) -> None:
        """Drain, commit, reply, until stopped; closes the socket at the end."""
        held: list[_Batch] = []
        failures = 0
        try:
            while not self._stop.is_set():
                if not held:
                    if not self._socket.poll(100):
                        self._flush_seen_if_due()
                        continue
                    held = self._drain()
                if not held:
                    continue
                try:
                    outcomes = self._commit(held)
                except SQLAlchemyError as exc:
                    failures += 1
                    log.error("database unavailable (try %d), nothing acknowledged: %s", failures, exc)
                    if failures < HOLD_RETRIES:
                        time.sleep(DB_RETRY_S)
                        continue
                    outcomes = [NOT_STORED * len(b.body.get("e", ())) for b in held]
                except Exception:  # a bug must not stop ingest for every kit: refuse these batches, carry on
                    log.exception("could not store %d batches; nothing acknowledged (the kits resend)", len(held))
                    outcomes = [NOT_STORED * len(b.body.get("e", ())) for b in held]
                failures = 0
                for batch, outcome in zip(held, outcomes, strict=True):
                    self._socket.send_multipart([batch.front, batch.batch_id, outcome.encode("ascii")])
                held = []
        finally:
            self._seen_at = float("-inf")
            self._flush_seen_if_due()
            self._socket.close(0)

    def _drain(self) -> list[_Batch]:
        batches: list[_Batch] = []
        events = 0
        while events < MAX_EVENTS_PER_COMMIT:
            try:
                frames = self._socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            if len(frames) != 3:
                log.error("ignoring a malformed message from an ingest front (%d frames)", len(frames))
                continue
            front, batch_id, payload = frames
            try:
                body = json.loads(payload)
            except ValueError:
                log.error("ignoring an unreadable batch from an ingest front")
                continue
            batches.append(_Batch(front, batch_id, body))
            events += len(body.get("e", ()))
        return batches

    def _commit(self, batches: list[_Batch]) -> list[str]:
        started, cpu = time.perf_counter(), time.thread_time()
        now = datetime.now(UTC)
        rows = [row for b in batches for row in b.body.get("e", ())]
        beats = [row for b in batches for row in b.body.get("h", ())]
        rejections = [tuple(r) for b in batches for r in b.body.get("r", ())]
        seen = {kit for b in batches for kit in b.body.get("s", ())}
        with self._sessions.begin() as session:
            outcome = svc.ingest_rows(session, rows, now)
            for row, letter in zip(rows, outcome, strict=True):
                if letter == svc.CONFLICT:
                    who = f"{row[1]}/{row[2]}"
                    log.warning("refused a replay of %s#%d with other content", who, row[3])
                    rejections.append(("replayed", who, f"seq {row[3]} already stored with other content"))
            svc.record_heartbeats(session, beats, now)
            svc.record_rejections(session, rejections, now)
            self._seen |= seen
            flush_seen = time.monotonic() - self._seen_at >= SEEN_FLUSH_S
            if flush_seen:
                svc.mark_seen(session, self._seen, now)
        if flush_seen:
            self._seen, self._seen_at = set(), time.monotonic()
        st = self.stats
        st.batches += len(batches)
        st.commits += 1
        st.ingested += outcome.count(svc.NEW)
        st.duplicates += outcome.count(svc.DUPLICATE)
        st.rejected += len(rejections)
        st.heartbeats += len(beats)
        st.largest_commit = max(st.largest_commit, len(rows))
        for b in batches:
            if "f" in b.body:
                st.fronts[str(b.body["f"].get("i", 0))] = b.body["f"]
        out, start = [], 0
        for b in batches:
            n = len(b.body.get("e", ()))
            out.append(outcome[start:start + n])
            start += n
        st.db_s += time.perf_counter() - started
        st.writer_cpu_s += time.thread_time() - cpu
        return out

    def _flush_seen_if_due(self) -> None:
        if self._seen and time.monotonic() - self._seen_at >= SEEN_FLUSH_S:
            try:
                with self._sessions.begin() as session:
                    svc.mark_seen(session, self._seen)
            except SQLAlchemyError as exc:
                log.error("could not record the kits' last contact: %s", exc)
                return
            self._seen, self._seen_at = set(), time.monotonic()
