"""ZeroMQ ingest: fronts receive the kits' messages over CURVE, one writer commits them in groups, then each front
acknowledges what was committed.

Acknowledging only after the commit ("write before acknowledge", the Titanic pattern) means a server killed at any
moment has either stored a message and may not have said so (the kit resends; the unique key makes that a no-op) or
has not stored it and has not acknowledged it (the kit resends). Either way nothing is lost and nothing counts twice.

Every refusal (malformed, oversized, forged, replayed, revoked, training) is logged and stored, and touches only the
message at fault: the rest of the batch, from other kits, is stored and acknowledged as usual.

Two shapes, same code (``ingest_front.py``, ``ingest_writer.py``):

- :class:`IngestLoop`: one front and the writer in this process, talking over ``inproc://`` (the default server,
  the tests, the demo);
- :class:`MultiFrontIngest`: the writer in this process and N front processes, front ``i`` binding port ``P + i``,
  talking to the writer over ``ipc://`` in a private folder (``shailoo server run --fronts N``).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import resource
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

import zmq
from sqlalchemy.orm import sessionmaker

from sync_server.ingest_front import IngestFront
from sync_server.ingest_writer import IngestStats, IngestWriter
from sync_server.keys import ServerKeys
from sync_server.services import ingest as svc
from sync_server.services.registry import front_endpoints
from sync_server.zap import KitRegistryCache

__all__ = ["IngestLoop", "IngestStats", "MultiFrontIngest", "start_ingest_thread"]

log = logging.getLogger(__name__)

_writer_ids = itertools.count()
#: Seconds between checks that every front process is alive.
SUPERVISE_S = 2.0


def _registry_cache(sessions: sessionmaker[Any]) -> KitRegistryCache:
    def load() -> list[svc.KitIdentity]:
        with sessions() as session:
            return svc.load_kit_identities(session)

    def version() -> tuple[int, int, int]:
        with sessions() as session:
            return svc.registry_version(session)

    return KitRegistryCache(load, version)


class IngestLoop:
    """One front and the writer in this process; ``run()`` blocks until ``stop()`` (the writer runs in a thread)."""

    def __init__(
        self, endpoint: str, sessions: sessionmaker[Any], keys: ServerKeys, election_mode: str = "real"
    ) -> None:
        self._context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._context.setsockopt(zmq.LINGER, 0)
        self.stats = IngestStats()
        self._writer = IngestWriter(self._context, f"inproc://shailoo-ingest-writer-{next(_writer_ids)}", sessions,
                                    self.stats)
        self.cache = _registry_cache(sessions)
        self._front = IngestFront(self._context, endpoint, self._writer.endpoint, self.cache, keys, election_mode)
        self.endpoint = self._front.endpoint

    def stop(self) -> None:
        """Ask the front and the writer to end."""
        self._front.stop()
        self._writer.stop()

    def run(self) -> None:
        """Run the writer in a thread and the front here, until stopped."""
        writer = threading.Thread(target=self._writer.run, name="ingest-writer", daemon=True)
        writer.start()
        try:
            self._front.run()
        finally:
            self._writer.stop()
            writer.join(10)
            self._context.term()


def start_ingest_thread(
    endpoint: str, sessions: sessionmaker[Any], keys: ServerKeys, election_mode: str = "real"
) -> tuple[IngestLoop, threading.Thread]:
    """Bind the ingest socket and run its loop in a daemon thread."""
    loop = IngestLoop(endpoint, sessions, keys, election_mode)
    thread = threading.Thread(target=loop.run, name="zmq-ingest", daemon=True)
    thread.start()
    return loop, thread


def _front_process(index: int, endpoint: str, writer_endpoint: str, database_url: str, keys_dir: str,
                   election_mode: str, parent_pid: int, ready: Any) -> None:
    """Body of one front process: its own engine (registry reads only), keys, context and loop."""
    from sync_server.db import make_engine, make_sessionmaker
    from sync_server.keys import ensure_server_keys

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # one descriptor per connected kit
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s front{index} %(name)s %(levelname)s %(message)s")
    engine = make_engine(database_url)
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    front = IngestFront(context, endpoint, writer_endpoint, _registry_cache(make_sessionmaker(engine)),
                        ensure_server_keys(Path(keys_dir)), election_mode, index)
    signal.signal(signal.SIGTERM, lambda *_: front.stop())
    ready.send(front.endpoint)
    ready.close()
    try:
        front.run(parent_pid)
    finally:
        context.term()
        engine.dispose()


class MultiFrontIngest:
    """The writer in a thread of this process and ``fronts`` front processes; :meth:`start`, then :meth:`stop`."""

    def __init__(self, endpoint: str, fronts: int, sessions: sessionmaker[Any], database_url: str, keys_dir: Path,
                 election_mode: str = "real") -> None:
        self.stats = IngestStats()
        # The writer's socket file lives in a folder only this user can enter: whatever reaches it is stored.
        self._run_dir = Path(tempfile.mkdtemp(prefix="shailoo-ingest-"))
        os.chmod(self._run_dir, 0o700)
        self._context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._writer = IngestWriter(self._context, f"ipc://{self._run_dir / 'writer.sock'}", sessions, self.stats)
        self._thread = threading.Thread(target=self._writer.run, name="ingest-writer", daemon=True)
        self._wanted = front_endpoints(endpoint, fronts)
        self._database_url = database_url
        self._keys_dir = keys_dir
        self._election_mode = election_mode
        self._processes: list[Any] = []
        self._stopping = threading.Event()
        self.endpoints: list[str] = []

    @property
    def endpoint(self) -> str:
        """Front 0's endpoint (the one ``--zmq`` names)."""
        return self.endpoints[0]

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the writer and every front; returns when all fronts are bound (raises if one is not)."""
        self._thread.start()
        pipes = []
        for index, endpoint in enumerate(self._wanted):
            proc, pipe = self._spawn(index, endpoint)
            self._processes.append(proc)
            pipes.append(pipe)
        for index, pipe in enumerate(pipes):
            if not pipe.poll(timeout_s):
                self.stop()
                raise RuntimeError(f"ingest front {index} did not bind {self._wanted[index]} (see the server log)")
            try:
                self.endpoints.append(pipe.recv())
            except EOFError:
                self.stop()
                raise RuntimeError(f"ingest front {index} exited at start (see the server log)") from None
        threading.Thread(target=self._supervise, name="ingest-fronts", daemon=True).start()

    def _spawn(self, index: int, endpoint: str) -> tuple[Any, Any]:
        spawn = multiprocessing.get_context("spawn")  # no fork of a process holding sockets and threads
        parent_end, child_end = spawn.Pipe(duplex=False)
        proc = spawn.Process(
            target=_front_process, name=f"ingest-front-{index}", daemon=True,
            args=(index, endpoint, self._writer.endpoint, self._database_url, str(self._keys_dir),
                  self._election_mode, os.getpid(), child_end),
        )
        proc.start()
        child_end.close()
        return proc, parent_end

    def _supervise(self) -> None:
        """Restart a front process that died (its kits reconnect and resend what was not acknowledged)."""
        while not self._stopping.wait(SUPERVISE_S):
            for index, proc in enumerate(self._processes):
                if not proc.is_alive() and not self._stopping.is_set():
                    log.error("ingest front %d exited (code %s); restarting it on %s", index, proc.exitcode,
                              self.endpoints[index])
                    self._processes[index], pipe = self._spawn(index, self.endpoints[index])
                    if pipe.poll(60):
                        with contextlib.suppress(EOFError):  # it died again: the next check restarts it
                            pipe.recv()

    def stop(self) -> None:
        """Stop the fronts (SIGTERM, then kill), then the writer, and remove the socket folder."""
        self._stopping.set()
        for proc in self._processes:
            if proc.is_alive():
                proc.terminate()
        for proc in self._processes:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
        self._writer.stop()
        if self._thread.is_alive():
            self._thread.join(10)
        self._context.term()
        shutil.rmtree(self._run_dir, ignore_errors=True)
