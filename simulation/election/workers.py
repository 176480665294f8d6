"""Kit worker processes: each holds a contiguous share of the day's light kits, with its own ZeroMQ context, and
replays the plan rows of its kits against the common start time the driver hands out.

Why several processes: a connected light kit holds about :data:`FDS_PER_KIT` open files, and the hard open-file
limit of one process here is 20,000 (``ulimit -Hn``), so the full country's ~5,000 kits do not fit in one process;
splitting also lets the kits use both cores while the CEC server uses what it needs. Workers are forked after the
plan is built (the plan's arrays are shared copy-on-write, not pickled) and before any ZeroMQ context exists in the
driver (a context must never cross a fork).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import signal
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
import numpy.typing as npt
import zmq

from link.keys import KitKeys
from link.messages import IdentificationEvent, encode
from simulation.election.kits import LightKit
from simulation.election.plan import FALLBACK_REASONS, PATHS, DayPlan
from simulation.election.turnout import OPENING_HOUR
from station.identify import voter_ref

#: Bishkek time, UTC+6 all year.
BISHKEK = timezone(timedelta(hours=6))
#: Seconds between sweeps over every online kit that resend overdue entries and send due heartbeats.
SWEEP_S = 2.0
#: Seconds between sends of the kits that committed something new (a kit's sender looks over its whole window at
#: each call, so calling it once per batch rather than once per identification keeps thousands of kits on one core).
SEND_S = 0.1
#: Open files one connected light kit holds (measured: the link's DEALER, its monitor pair, the TCP connection).
FDS_PER_KIT = 4
#: Open files a worker keeps for itself (libraries, pipes, the context's own sockets).
FDS_RESERVE = 1024
#: Most identifications committed in one pass of the replay loop, so acknowledgements are read even when a worker
#: falls behind the clock.
EMIT_BATCH = 2000
#: Seconds between progress reports from a worker to the driver.
PROGRESS_S = 10.0


def open_file_limit() -> int:
    """The hard open-file limit of a process here (what a worker may raise its soft limit to)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return 1 << 20 if hard == resource.RLIM_INFINITY else int(hard)


def workers_needed(kits: int, limit: int | None = None) -> int:
    """Fewest worker processes whose kits fit under the open-file limit (at least one)."""
    per_worker = (limit or open_file_limit()) - FDS_RESERVE
    return max(1, math.ceil(FDS_PER_KIT * kits / per_worker))


def split_kits(kits: int, workers: int) -> list[range]:
    """Contiguous kit index ranges, one per worker, sizes differing by at most one."""
    bounds = np.linspace(0, kits, workers + 1).round().astype(int)
    return [range(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


@dataclass(frozen=True)
class WorkerTask:
    """What one worker replays: its kits (global indices), their keys, and where the CEC listens."""

    index: int
    kits: range
    keys: list[KitKeys]
    #: The CEC endpoint of each kit (its ingest front's), in the order of ``keys``.
    endpoints: list[str]
    election_id: str
    heartbeat_s: float
    speed: float
    end_s: float
    drain_s: float


def pin_sex(pin: str) -> str:
    """Sex from the personal number's first digit (1 female, 2 male)."""
    return "F" if pin[0] == "1" else "M"


class KitShare:
    """One worker's kits: which are online, their sockets in one poller, and the plan rows they commit."""

    def __init__(self, plan: DayPlan, task: WorkerTask) -> None:
        self.plan = plan
        self.task = task
        self.kits = {i: LightKit(k, task.heartbeat_s) for i, k in zip(task.kits, task.keys, strict=True)}
        self.endpoints = dict(zip(task.kits, task.endpoints, strict=True))
        self.context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        # libzmq counts more than the DEALER sockets against this limit (measured: about 3 per connected kit).
        self.context.MAX_SOCKETS = FDS_PER_KIT * len(self.kits) + FDS_RESERVE
        self.poller = zmq.Poller()
        self.by_socket: dict[Any, int] = {}
        day = plan.election_day
        self.day_start = datetime(day.year, day.month, day.day, OPENING_HOUR, tzinfo=BISHKEK)
        self.online: set[int] = set()
        #: Plan rows of these kits, in time order.
        self.rows: npt.NDArray[np.intp] = np.flatnonzero(
            (plan.kit_index >= task.kits.start) & (plan.kit_index < task.kits.stop))
        self.transitions = [i for i in task.kits if plan.kits[i].offline]

    def connect(self, i: int) -> None:
        """Bring kit ``i``'s link up."""
        sock = self.kits[i].connect(self.context, self.endpoints[i])
        self.poller.register(sock, zmq.POLLIN)
        self.by_socket[sock] = i
        self.online.add(i)

    def disconnect(self, i: int) -> None:
        """Take kit ``i``'s link down; its outbox stays."""
        sock = self.kits[i].disconnect()
        if sock is not None:
            self.poller.unregister(sock)
            self.by_socket.pop(sock, None)
        self.online.discard(i)

    def is_offline(self, i: int, sim_t: float) -> bool:
        """Whether the plan has kit ``i`` cut off from the CEC at ``sim_t`` seconds after opening."""
        kit = self.plan.kits[i]
        return kit.silent or any(a <= sim_t < b for a, b in kit.offline)

    def emit(self, row: int) -> int:
        """Commit row ``row`` of the plan to its kit's outbox; returns the kit index."""
        plan = self.plan
        i = int(plan.kit_index[row])
        kit = self.kits[i]
        pin = plan.pin(row)
        path = PATHS[int(plan.path[row])]
        reason = int(plan.reason[row])
        event = IdentificationEvent(
            election_id=self.task.election_id, station_id=kit.keys.station_id, kit_id=kit.keys.kit_id,
            seq=kit.outbox.next_seq, voter_ref=voter_ref(self.task.election_id, pin), sex=pin_sex(pin),
            birth_year=int(pin[5:9]), path=path,
            identified_at=self.day_start + timedelta(seconds=float(plan.times[row])),
            fallback_reason=FALLBACK_REASONS[reason] if path == "manual" and reason >= 0 else "",
        )
        kit.outbox.add(encode(event))
        return i

    def collect_acks(self, timeout_ms: int = 0) -> None:
        """Read the acknowledgements waiting on any online kit's socket."""
        for sock, _ in self.poller.poll(timeout_ms):
            i = self.by_socket.get(sock)
            sender = self.kits[i].sender if i is not None else None
            if sender is not None:
                sender.receive_acks()

    def sweep(self) -> None:
        """Resend overdue entries and send due heartbeats on every online kit."""
        now = time.monotonic()
        for i in list(self.online):
            sender = self.kits[i].sender
            if sender is not None:
                sender.send_due(now)

    def counts(self) -> tuple[int, int, int]:
        """(committed, acknowledged, unacknowledged) over these kits."""
        committed = sum(k.committed for k in self.kits.values())
        delivered = sum(k.outbox.delivered for k in self.kits.values())
        return committed, delivered, committed - delivered

    def close(self) -> None:
        """Close every socket and the context."""
        for i in list(self.online):
            self.disconnect(i)
        self.context.term()


def replay(share: KitShare, started: float, conn: Connection) -> dict[str, float]:
    """Commit each row when its simulated time comes, send, read acknowledgements, then drain; returns timings."""
    task, plan, rows = share.task, share.plan, share.rows
    next_pos, last_sweep, last_report, last_send = 0, started, started, started
    touched: set[int] = set()
    while True:
        now = time.monotonic()
        sim_t = min(task.end_s, (now - started) * task.speed)
        for i in share.transitions:
            offline = share.is_offline(i, sim_t)
            if offline and i in share.online:
                share.disconnect(i)
            elif not offline and i not in share.online:
                share.connect(i)
        limit = next_pos + EMIT_BATCH
        while next_pos < rows.size and next_pos < limit and plan.times[rows[next_pos]] <= sim_t:
            touched.add(share.emit(int(rows[next_pos])))
            next_pos += 1
        if now - last_send >= SEND_S:
            for i in touched:
                sender = share.kits[i].sender
                if sender is not None:
                    sender.send_due(now)
            touched.clear()
            last_send = now
        share.collect_acks(0)
        if now - last_sweep >= SWEEP_S:
            share.sweep()
            last_sweep = now
        if now - last_report >= PROGRESS_S:
            last_report = now
            conn.send(("progress", sim_t, *share.counts()))
        if sim_t >= task.end_s and next_pos >= rows.size:
            break
        time.sleep(0.005)
    day_s = time.monotonic() - started
    conn.send(("progress", task.end_s, *share.counts()))
    deadline = time.monotonic() + task.drain_s
    while time.monotonic() < deadline and any(len(share.kits[i].outbox) for i in share.online):
        share.collect_acks(50)
        if time.monotonic() - last_sweep >= SWEEP_S:
            share.sweep()
            last_sweep = time.monotonic()
        if time.monotonic() - last_report >= PROGRESS_S:
            last_report = time.monotonic()
            conn.send(("progress", task.end_s, *share.counts()))
    return {"day_s": day_s, "drain_s": time.monotonic() - started - day_s}


def kit_report(share: KitShare) -> list[dict[str, Any]]:
    """Per kit, in global index order: what it committed, what the CEC acknowledged, how it reconnected."""
    return [
        {"committed": k.committed, "acknowledged": k.outbox.delivered, "unacknowledged": len(k.outbox),
         "reconnections": max(0, k.connections - 1), "acknowledged_out_of_order": k.outbox.out_of_order}
        for _, k in sorted(share.kits.items())
    ]


def _raise_own_fd_limit(kits: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = FDS_PER_KIT * kits + FDS_RESERVE
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, open_file_limit()), hard))


def worker_main(plan: DayPlan, task: WorkerTask, conn: Connection) -> None:
    """Entry point of a worker process: connect its kits, report ready, wait for the start time, replay, report."""
    # The driver decides when workers stop (it terminates them); a Ctrl-C or a handler inherited from the driver
    # (``make demo`` installs its own) must not leave a worker running or kill it half-way through a report.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    share: KitShare | None = None
    try:
        _raise_own_fd_limit(len(task.kits))
        share = KitShare(plan, task)
        for i in task.kits:
            if not share.is_offline(i, 0.0):
                share.connect(i)
        conn.send(("ready", len(share.online)))
        message = conn.recv()
        if message[0] != "start":
            return
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        timings = replay(share, float(message[1]), conn)
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu_s = cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime
        conn.send(("done", {**timings, "cpu_s": cpu_s, "kits": kit_report(share), "pid": os.getpid()}))
    except Exception:  # reported to the driver, which stops the run with this text
        conn.send(("error", traceback.format_exc()))
    finally:
        if share is not None:
            share.close()
        conn.close()


def start_workers(plan: DayPlan, tasks: list[WorkerTask]) -> list[tuple[multiprocessing.process.BaseProcess,
                                                                            Connection]]:
    """Fork one process per task; returns (process, the driver's end of its pipe)."""
    ctx = multiprocessing.get_context("fork")
    started: list[tuple[multiprocessing.process.BaseProcess, Connection]] = []
    for task in tasks:
        ours, theirs = ctx.Pipe()
        proc = ctx.Process(target=worker_main, args=(plan, task, theirs), name=f"sim-kits-{task.index}", daemon=True)
        proc.start()
        theirs.close()
        started.append((proc, ours))
    return started


def stop_workers(workers: list[tuple[multiprocessing.process.BaseProcess, Connection]]) -> None:
    """Terminate the workers still running (after an error or at the end) and close the pipes."""
    for proc, conn in workers:
        if proc.is_alive():
            proc.terminate()
        proc.join(10)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
        conn.close()
