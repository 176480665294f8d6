"""``shailoo bench ingest``: CEC ingest throughput and kit-commit-to-visible latency with N connected kits.

How the kits are modelled: every kit is a real ``OutboxSender`` (the kit's link code) with its own CURVE key pair
registered at the CEC and its own DEALER socket; the kit's store is an in-memory outbox (a kit's SQLite commit is
measured by ``bench kit``, not here). A process cannot hold more than about 4,000 kits here (each needs about four
descriptors: DEALER, two monitor PAIRs, the TCP connection, and the hard limit is 20,000), so the kits are split over
``--kit-procs`` worker processes; the probe kits live in the main process with the visibility poller and the
dashboard probe. Identifications are generated open-loop at ``--rate`` per second in total, each process offering its
share, spread over its kits at random. The server is the real ``shailoo server run`` in its own process (with
``--fronts`` ingest front processes), on SQLite or on a throwaway PostgreSQL server with production durability (fsync
and synchronous_commit on).

Visibility latency: ``--probes`` kits sit alone at their stations; a poller asks the public API for those stations'
counts every ``POLL_S`` and records when each probe event becomes countable. Latency = that time minus the moment the
kit committed the event to its outbox (the poll interval is included, so figures are pessimistic by up to POLL_S).

CPU: the machine is shared, so the JSON gives the CPU seconds each side used during the identifying window (server
with its front processes, PostgreSQL, the kit processes) next to wall-clock figures, and the load average.

Bounded: kits connect (up to ``--connect-timeout``), identify for ``--seconds``, drain for at most ``--drain``
seconds, then everything is stopped.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import zmq

from link.keys import KitKeys
from link.messages import encode
from link.sender import OutboxSender
from shailoo.ports import free_port, free_ports
from shailoo.settings import REPO_ROOT
from sync_server.config import DEV_ADMIN_TOKEN

_POLLIN = int(zmq.POLLIN)
#: Seconds between the visibility poller's requests.
POLL_S = 0.05
#: Kits per kit process: about four descriptors each under the 20,000 hard limit, with room to spare.
KITS_PER_PROCESS = 4000
#: Kits per ingest front process of the server (one descriptor per connected kit, 20,000 hard limit).
KITS_PER_FRONT = 8000
#: Seconds between a kit process's checks of its kits that wait for acknowledgements.
ACK_CHECK_S = 0.02
#: Seconds between sweeps over every kit (resends with backoff, heartbeats).
SWEEP_S = 1.0
#: Kits a kit process switches on at once, and the longest wait for most of a wave to connect (seconds).
CONNECT_WAVE = 500
CONNECT_WAVE_S = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``shailoo bench ingest``."""
    parser.add_argument("--kits", type=int, default=2500, help="connected kits (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=30.0, help="identifying time (default: %(default)s)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rate", type=float, default=2500.0,
                        help="identifications per second offered by all kits together (default: %(default)s)")
    parser.add_argument("--probes", type=int, default=50, help="kits whose events are timed to visibility")
    parser.add_argument("--heartbeat", type=float, default=60.0, help="seconds between each kit's heartbeats")
    parser.add_argument("--drain", type=float, default=60.0, help="longest wait for the last acknowledgements")
    parser.add_argument("--connect-timeout", type=float, default=180.0, help="longest wait for kits to connect")
    parser.add_argument("--kit-procs", type=int, default=0,
                        help=f"kit processes (default: one per {KITS_PER_PROCESS} kits)")
    parser.add_argument("--fronts", type=int, default=0,
                        help=f"server ingest front processes (default: 2, or one per {KITS_PER_FRONT} kits if more)")
    parser.add_argument("--dashboard", action="store_true",
                        help="also open the live dashboard in headless Chromium, idle and under load (first paint, "
                        "update lag)")
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "ingest.json")


def _raise_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, needed)
    if hard != resource.RLIM_INFINITY and want > hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))  # root may raise the hard limit
            return want
        except (ValueError, OSError):
            want = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class _KitGroup:
    """Some kits of the bench in one process: connect them, offer identifications at a rate, collect acks."""

    def __init__(self, keys: list[KitKeys], endpoints: list[str], heartbeat_s: float) -> None:
        from sync_server.testing.kits import MemoryOutbox

        self.context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        # Each kit: its DEALER, the PAIR that reads its connection events, and libzmq's own monitor PAIR.
        self.context.MAX_SOCKETS = 3 * len(keys) + 256
        self.keys = keys
        self.endpoints = endpoints
        self.heartbeat_s = heartbeat_s
        self.outboxes = [MemoryOutbox() for _ in keys]
        self.senders: list[OutboxSender] = []
        self.committed_at: list[dict[int, float]] = [{} for _ in keys]
        self.outstanding: set[int] = set()
        self.ack_s: list[float] = []
        self.sent = 0
        self.behind_s = 0.0

    def connect(self, deadline: float) -> int:
        """Open the kits' links in waves of CONNECT_WAVE (kits are switched on over minutes, not in one
        instant; 20,000 simultaneous CURVE handshakes only make every one of them retry) and send each kit's first
        heartbeat (the link is up when it leaves); returns how many kits connected."""
        waiting: set[int] = set()
        for start in range(0, len(self.keys), CONNECT_WAVE):
            for i in range(start, min(len(self.keys), start + CONNECT_WAVE)):
                self.senders.append(OutboxSender(self.outboxes[i], self.endpoints[i], self.keys[i],
                                                 context=self.context, health=lambda: {"scanner": "ready"},
                                                 heartbeat_s=self.heartbeat_s))
                waiting.add(i)
            wave_end = min(deadline, time.monotonic() + CONNECT_WAVE_S)
            while waiting and time.monotonic() < wave_end:
                self._greet(waiting)
                if len(waiting) <= CONNECT_WAVE // 4:  # most of the wave is in: start the next one
                    break
        while waiting and time.monotonic() < deadline:
            self._greet(waiting)
        return len(self.senders) - len(waiting)

    def _greet(self, waiting: set[int]) -> None:
        # Only kits whose handshake completed try their first heartbeat: trying all of them every pass (a refused
        # send each) burned a core per kit process and starved the server's handshakes.
        now = time.monotonic()
        for i in list(waiting):
            sender = self.senders[i]
            if sender.connected:
                sender.send_due(now)
                if sender.heartbeats_sent:
                    waiting.discard(i)
        time.sleep(0.1)

    def identify(self, started: float, end: float, rate: float, seed: int) -> None:
        """Commit identifications open-loop at ``rate`` per second from ``started`` to ``end`` (monotonic clock)."""
        from sync_server.testing.kits import make_event

        rng = random.Random(seed)
        when = datetime.now(UTC)
        last_sweep = last_check = last_full = started
        full_every = min(10.0, self.heartbeat_s / 4)
        n = len(self.senders)
        while (now := time.monotonic()) < end:
            due = int((now - started) * rate) - self.sent
            if due > 0:
                self.behind_s = max(self.behind_s, due / rate)
            for _ in range(max(0, due)):
                i = rng.randrange(n)
                outbox, keys = self.outboxes[i], self.keys[i]
                seq = outbox.next_seq
                outbox.add(encode(make_event(keys.station_id, keys.kit_id, seq, when)), seq)
                self.committed_at[i][seq] = time.monotonic()
                self.senders[i].send_due()
                self.outstanding.add(i)
                self.sent += 1
            if now - last_check >= ACK_CHECK_S:
                last_check = now
                self.collect_acks()
            if now - last_full >= full_every:  # heartbeats of idle kits
                last_full = last_sweep = now
                self.sweep(now)
            elif now - last_sweep >= SWEEP_S:  # resends with backoff of kits that wait for acknowledgements
                last_sweep = now
                for i in list(self.outstanding):
                    self.senders[i].send_due(now)
            time.sleep(0.002)

    def sweep(self, now: float) -> None:
        """Every kit's sender: resend what is due, heartbeat when due."""
        for sender in self.senders:
            sender.send_due(now)

    def collect_acks(self) -> None:
        """Read acknowledgements on the kits that wait for some (no poll over thousands of idle sockets)."""
        now = time.monotonic()
        for i in list(self.outstanding):
            outbox = self.outboxes[i]
            before = len(outbox.delivered)
            # ZMQ_EVENTS is a cheap flag read; a NOBLOCK recv on a socket with nothing raises, which costs more.
            if int(self.senders[i].socket.getsockopt(zmq.EVENTS)) & _POLLIN and self.senders[i].receive_acks():
                stamps = self.committed_at[i]
                self.ack_s.extend(now - stamps[seq] for seq in outbox.delivered[before:])
            if not len(outbox):
                self.outstanding.discard(i)

    def drain(self, deadline: float) -> None:
        """Collect acknowledgements (resending as due) until none is missing or ``deadline``."""
        last_sweep = time.monotonic()
        while self.outstanding and time.monotonic() < deadline:
            self.collect_acks()
            now = time.monotonic()
            if now - last_sweep > 0.5:
                last_sweep = now
                for i in list(self.outstanding):
                    self.senders[i].send_due(now)
            time.sleep(0.005)

    def summary(self) -> dict[str, Any]:
        """What the main process needs from this group."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {"sent": self.sent, "unacknowledged": sum(len(o) for o in self.outboxes),
                "resent": sum(s.resent_total for s in self.senders), "ack_s": self.ack_s,
                "behind_s": round(self.behind_s, 3), "cpu_s": usage.ru_utime + usage.ru_stime}

    def close(self) -> None:
        """Close every kit socket."""
        self.context.destroy(linger=0)


def _kit_process(keys: list[dict[str, Any]], endpoints: list[str], heartbeat_s: float, seed: int, pipe: Any) -> None:
    """A kit process: connect, report, wait for the start, identify, drain, report."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    group = _KitGroup([KitKeys(**k) for k in keys], endpoints, heartbeat_s)
    try:
        deadline = pipe.recv()
        pipe.send(group.connect(deadline))
        started, end, rate, drain_deadline = pipe.recv()
        cpu0 = group.summary()["cpu_s"]
        group.identify(started, end, rate, seed)
        cpu_load = group.summary()["cpu_s"] - cpu0
        group.drain(drain_deadline)
        pipe.send({**group.summary(), "cpu_load_s": cpu_load})
    finally:
        group.close()


def _proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu_s(root: int) -> float:
    """CPU seconds of ``root`` and every live descendant (the server's front processes, PostgreSQL's backends)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += _proc_cpu_s(pid)
        todo.extend(children.get(pid, []))
    return total


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; prints a table and writes JSON."""
    from sync_server.db import make_engine, make_sessionmaker, migrate
    from sync_server.keys import ensure_server_keys
    from sync_server.sample_registry import sample_registry
    from sync_server.services.registry import import_registry, kit_endpoint, provision_kits
    from sync_server.testing.postgres import TempPostgres

    n_kits = args.kits
    probes = min(args.probes, n_kits)
    load_kits = n_kits - probes
    kit_procs = args.kit_procs or max(1, math.ceil(load_kits / KITS_PER_PROCESS))
    # Two fronts at least: measured at 2,500 kits on this 2-core machine (load average 12-14), one front thread sharing
    # the server process's GIL with the writer and HTTP did 1,720 events/s (visible p95 4.6 s), two front processes
    # 2,280/s (p95 1.9 s).
    fronts = args.fronts or max(2, math.ceil(n_kits / KITS_PER_FRONT))
    fd_limit = _raise_fd_limit(8 * probes + 4096)
    per_proc = math.ceil(load_kits / kit_procs) if load_kits else 0
    if 4 * per_proc + 1024 > fd_limit or 4 * probes + 1024 > fd_limit:
        print(f"bench ingest: {per_proc} kits per process need about {4 * per_proc + 1024} file descriptors but the "
              f"limit is {fd_limit} (ulimit -Hn); use more --kit-procs", file=sys.stderr)
        return 2
    if math.ceil(n_kits / fronts) + 1024 > fd_limit:
        print(f"bench ingest: {n_kits} kits over {fronts} server fronts exceed {fd_limit} descriptors per front; "
              f"use more --fronts", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="shailoo-bench-ingest-"))
    pg: TempPostgres | None = None
    if args.db == "postgresql":
        pg = TempPostgres(durable=True)
        pg.start()
        db_url = pg.new_database("bench")
    else:
        db_url = f"sqlite:///{work / 'cec.db'}"
    keys_dir = work / "keys"
    server_keys = ensure_server_keys(keys_dir)

    # Registry and kits: probe kits alone at their stations, the others spread over the remaining stations.
    per_region = min(999, max(10, -(-max(n_kits, probes * 2) // 9)))
    stations = [r.station_id for r in sample_registry(per_region)]
    probe_stations = stations[:probes]
    other_stations = stations[probes:]
    setup_started = time.monotonic()
    engine = make_engine(db_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    pairs = []
    for i in range(n_kits):
        if i < probes:
            pairs.append((probe_stations[i], "1"))
        else:
            j = i - probes
            pairs.append((other_stations[j % len(other_stations)], str(j // len(other_stations) + 1)))
    with sessions.begin() as session:
        import_registry(session, sample_registry(per_region))
        kit_keys = provision_kits(session, pairs, server_keys.curve.public)
    engine.dispose()
    setup_s = time.monotonic() - setup_started

    http_port = free_port()
    zmq_port = free_ports(fronts)
    endpoint = f"tcp://127.0.0.1:{zmq_port}"
    endpoints = [kit_endpoint(endpoint, fronts, k.station_id, k.kit_id) for k in kit_keys]
    url = f"http://127.0.0.1:{http_port}"
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "shailoo", "server", "run", "--db", db_url, "--keys", str(keys_dir),
         "--port", str(http_port), "--zmq", endpoint, "--fronts", str(fronts)],
        stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
    )
    spawn = multiprocessing.get_context("spawn")
    workers: list[tuple[Any, Any]] = []
    probe_group: _KitGroup | None = None
    result: dict[str, Any] = {}
    stop_poll = threading.Event()
    try:
        _wait_health(url, server)
        connect_started = time.monotonic()
        deadline = connect_started + args.connect_timeout
        for w in range(kit_procs):
            lo, hi = probes + w * per_proc, min(n_kits, probes + (w + 1) * per_proc)
            if lo >= hi:
                continue
            mine, theirs = spawn.Pipe()
            proc = spawn.Process(target=_kit_process, daemon=True, name=f"bench-kits-{w}",
                                 args=([asdict(k) for k in kit_keys[lo:hi]], endpoints[lo:hi], args.heartbeat,
                                       1000 + w, theirs))
            proc.start()
            mine.send(deadline)
            workers.append((proc, mine))
        probe_group = _KitGroup(kit_keys[:probes], endpoints[:probes], args.heartbeat)
        connected = probe_group.connect(deadline)
        for _, pipe in workers:
            connected += pipe.recv() if pipe.poll(max(1.0, deadline - time.monotonic() + 30)) else 0
        _wait_heartbeats(url, connected, time.monotonic() + max(10.0, deadline - time.monotonic()))
        connect_s = time.monotonic() - connect_started

        dashboard: dict[str, Any] = {}
        if args.dashboard:  # first paint with every kit connected and nothing happening
            _dashboard_probe(url, dashboard, 0.0, 1.0, idle=True)
        probe_visible: list[float] = []
        probe_lock = threading.Lock()
        poller = threading.Thread(target=_poll_visibility, args=(url, probe_group, probe_visible, probe_lock,
                                                                 stop_poll), daemon=True)
        poller.start()
        base = _health(url)["ingest"]["ingested"]
        started = time.monotonic() + 0.5
        end = started + args.seconds
        drain_deadline = end + args.drain
        for w, (_, pipe) in enumerate(workers):
            lo, hi = probes + w * per_proc, min(n_kits, probes + (w + 1) * per_proc)
            pipe.send((started, end, args.rate * (hi - lo) / n_kits, drain_deadline))
        cpu_server0, cpu_pg0, cpu_self0 = _tree_cpu_s(server.pid), _pg_cpu_s(pg), _self_cpu_s()
        load_started_wall = time.time()
        dash_thread = None
        if args.dashboard:
            dash_thread = threading.Thread(target=_dashboard_probe, args=(url, dashboard, started, args.rate),
                                           daemon=True)
            dash_thread.start()
        while time.monotonic() < started:
            time.sleep(0.01)
        probe_group.identify(started, end, args.rate * probes / n_kits, 7)
        load_end = time.monotonic()
        ingested_in_window = _health(url)["ingest"]["ingested"] - base
        cpu_server = _tree_cpu_s(server.pid) - cpu_server0
        cpu_pg = _pg_cpu_s(pg) - cpu_pg0
        cpu_main = _self_cpu_s() - cpu_self0
        load_avg_during = os.getloadavg()[0]
        probe_group.drain(drain_deadline)
        reports = [pipe.recv() if pipe.poll(args.drain + 60) else None for _, pipe in workers]
        drained_s = time.monotonic() - load_end
        time.sleep(POLL_S * 4)
        stop_poll.set()
        poller.join(5)
        if dash_thread is not None and dash_thread.is_alive():
            dash_thread.join(90)
        total = int(httpx.get(f"{url}/api/turnout", timeout=60).json()["total"])
        health = _health(url)["ingest"]
        groups = [probe_group.summary()] + [r for r in reports if r is not None]
        ack_s = [a for g in groups for a in g["ack_s"]]
        sent = sum(g["sent"] for g in groups)
        result = {
            "benchmark": "ingest",
            "db": args.db,
            "kits": n_kits,
            "kits_connected": connected,
            "kit_processes": len(workers) + 1,
            "server_fronts": fronts,
            "offered_rate_per_s": args.rate,
            "seconds": args.seconds,
            "sent": sent,
            "ingested": total,
            "unacknowledged_after_drain": sum(g["unacknowledged"] for g in groups),
            "kit_processes_lost": sum(r is None for r in reports),
            "resent": sum(g["resent"] for g in groups),
            "events_per_s": round(ingested_in_window / (load_end - started), 1),
            "events_per_s_including_drain": round(total / (load_end - started + drained_s), 1),
            "drain_s": round(drained_s, 2),
            "ack_ms_p50": _ms(_percentile(ack_s, 0.50)),
            "ack_ms_p95": _ms(_percentile(ack_s, 0.95)),
            "visible_ms_p50": _ms(_percentile(probe_visible, 0.50)),
            "visible_ms_p95": _ms(_percentile(probe_visible, 0.95)),
            "visible_ms_max": _ms(max(probe_visible) if probe_visible else None),
            "visible_samples": len(probe_visible),
            "poll_interval_ms": POLL_S * 1000,
            "kits_behind_schedule_ms_max": _ms(max(g["behind_s"] for g in groups)),
            # CPU seconds used during the identifying window (wall: args.seconds) by each side.
            "cpu_s_server": round(cpu_server, 1),
            "cpu_s_postgresql": round(cpu_pg, 1) if pg is not None else None,
            "cpu_s_kit_processes": round(sum(r["cpu_load_s"] for r in reports if r is not None), 1),
            "cpu_s_bench_main": round(cpu_main, 1),
            "server_commits": health.get("commits"),
            "server_largest_commit": health.get("largest_commit"),
            "server_db_s": round(health.get("db_s", 0.0), 1),
            "server_writer_cpu_s": round(health.get("writer_cpu_s", 0.0), 1),
            "connect_s": round(connect_s, 1),
            "setup_s": round(setup_s, 1),
            "heartbeat_s": args.heartbeat,
            "fd_limit": fd_limit,
            **{f"dashboard_{k}": v for k, v in dashboard.items()},
            # The machine is shared: the 1-minute load average says how much CPU the run really had.
            "load_average_1min_end_of_load": round(load_avg_during, 2),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "started_utc": datetime.fromtimestamp(load_started_wall, UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "zmq": zmq.zmq_version()},
        }
    finally:
        stop_poll.set()
        for proc, _ in workers:
            if proc.is_alive():
                proc.terminate()
            proc.join(10)
        if probe_group is not None:
            probe_group.close()
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if pg is not None:
            pg.stop()
    _print(result)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.json}")
    return 0 if result and result["ingested"] == result["sent"] else 1


def _self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _pg_cpu_s(pg: Any) -> float:
    if pg is None:
        return 0.0
    try:
        pid = int((pg.data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return _tree_cpu_s(pid)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def _health(url: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{url}/api/health", timeout=30).json()
    return body


def _wait_health(url: str, server: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the CEC server exited at start; see its log")
        try:
            _health(url)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the CEC server did not start")


def _wait_heartbeats(url: str, expected: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        if _health(url)["ingest"]["heartbeats"] >= expected:
            return
        time.sleep(0.2)


def _poll_visibility(url: str, group: _KitGroup, out: list[float], lock: threading.Lock,
                     stop: threading.Event) -> None:
    ids = ",".join(k.station_id for k in group.keys)
    seen = {k.station_id: 0 for k in group.keys}
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            try:
                counts = client.get(f"{url}/api/turnout/stations", params={"ids": ids}).json()
            except httpx.HTTPError:
                time.sleep(POLL_S)
                continue
            now = time.monotonic()
            for i, keys in enumerate(group.keys):
                count = int(counts.get(keys.station_id, 0))
                for seq in range(seen[keys.station_id] + 1, count + 1):
                    committed = group.committed_at[i].get(seq)
                    if committed is not None:
                        with lock:
                            out.append(now - committed)
                seen[keys.station_id] = max(seen[keys.station_id], count)
            time.sleep(POLL_S)


def _dashboard_probe(url: str, out: dict[str, Any], started: float, rate: float, idle: bool = False) -> None:
    """Open the live page: time to first paint (the first pushed state rendered), and under load the lag of the
    pushed totals behind the kits' commits. Events are committed open-loop on a schedule, so the k-th event of the run
    was committed at ``started + k / rate`` (the JSON's kits_behind_schedule_ms_max says how well that held)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        out["error"] = "playwright is not installed"
        return
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"]
    lags: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=flags)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        if not idle:
            while time.monotonic() < started + 3.0:  # open the page once identifications are flowing
                time.sleep(0.05)
        opened = time.monotonic()
        page.goto(f"{url}/dashboard?token={DEV_ADMIN_TOKEN}")
        page.wait_for_function("Number(document.body.dataset.updates) >= 1", timeout=120_000)
        out["first_paint_idle_ms" if idle else "first_paint_ms"] = round((time.monotonic() - opened) * 1000, 1)
        # The charts follow once the charting library (fetched after the first paint) has loaded.
        page.wait_for_function("Number(document.body.dataset.charts) >= 1 && document.body.dataset.tableRows",
                               timeout=120_000)
        out["charts_and_table_idle_ms" if idle else "charts_and_table_ms"] = round(
            (time.monotonic() - opened) * 1000, 1)
        if idle:
            browser.close()
            return
        last = int(page.evaluate("document.body.dataset.updates"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                page.wait_for_function(f"Number(document.body.dataset.updates) > {last}", timeout=20_000)
            except Exception:  # noqa: BLE001 - playwright's timeout: no more pushes in time
                break
            now = time.monotonic()
            last = int(page.evaluate("document.body.dataset.updates"))
            total = int(page.evaluate("document.body.dataset.total"))
            committed = started + total / rate
            if total > 0 and committed <= now:
                lags.append(now - committed)
        browser.close()
    out["updates_seen"] = len(lags)
    out["update_lag_ms_p50"] = _ms(_percentile(lags, 0.5))
    out["update_lag_ms_max"] = _ms(max(lags) if lags else None)


def _print(result: dict[str, Any]) -> None:
    if not result:
        print("ingest benchmark did not complete")
        return
    rows = [(k, v) for k, v in result.items() if k != "machine"]
    width = max(len(k) for k, _ in rows)
    print(f"\nCEC ingest, {result['kits']} kits, {result['db']}")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
