"""``shailoo bench ingest``: CEC ingest throughput and kit-commit-to-visible latency with N connected kits.

How the kits are modelled: every kit is a real ``OutboxSender`` (the kit's link code) with its own CURVE key pair
registered at the CEC and its own DEALER socket, all in this one process and one ZeroMQ context; the kit's store is
an in-memory outbox (a kit's SQLite commit is measured by ``bench kit``, not here). Identifications are generated
open-loop at ``--rate`` per second in total, spread over the kits at random. The server is the real ``shailoo server
run`` in its own process (so it has the second core), on SQLite or on a throwaway PostgreSQL server with production
durability (fsync on).

Visibility latency: ``--probes`` kits sit alone at their stations; a poller asks the public API for those stations'
counts every ``POLL_S`` and records when each probe event becomes countable. Latency = that time minus the moment the
kit committed the event to its outbox (the poll interval is included, so figures are pessimistic by up to POLL_S).

Bounded: kits connect (up to ``--connect-timeout``), identify for ``--seconds``, drain for at most ``--drain``
seconds, then everything is stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import zmq

from link.messages import encode
from link.sender import OutboxSender
from shailoo.settings import REPO_ROOT
from sync_server.config import DEV_ADMIN_TOKEN

#: Seconds between the visibility poller's requests.
POLL_S = 0.05


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
    parser.add_argument("--connect-timeout", type=float, default=120.0, help="longest wait for kits to connect")
    parser.add_argument("--dashboard", action="store_true",
                        help="also open the live dashboard in headless Chromium under load (first paint, updates)")
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "ingest.json")


@dataclass
class _Kit:
    sender: OutboxSender
    outbox: Any
    station_id: str
    kit_id: str
    committed_at: dict[int, float] = field(default_factory=dict)


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


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; prints a table and writes JSON."""
    from sync_server.db import make_engine, make_sessionmaker, migrate
    from sync_server.keys import ensure_server_keys
    from sync_server.sample_registry import sample_registry
    from sync_server.services.registry import import_registry, provision_kit
    from sync_server.testing.kits import MemoryOutbox, make_event
    from sync_server.testing.postgres import TempPostgres

    n_kits = args.kits
    # Per kit in this process: DEALER, two monitor PAIRs and the TCP connection, one descriptor each; the server
    # process needs one per connected kit. Refuse clearly rather than fail half-way inside libzmq.
    fd_limit = _raise_fd_limit(8 * n_kits + 4096)
    if fd_limit < 4 * n_kits + 1024:
        print(f"bench ingest: {n_kits} kits need about {4 * n_kits + 1024} file descriptors in one process but the "
              f"limit is {fd_limit} and cannot be raised here (ulimit -Hn); run fewer kits or raise the hard limit",
              file=sys.stderr)
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
    per_region = min(999, max(10, -(-max(n_kits, args.probes * 2) // 9)))
    stations = [r.station_id for r in sample_registry(per_region)]
    probe_stations = stations[: args.probes]
    other_stations = stations[args.probes:]
    setup_started = time.monotonic()
    engine = make_engine(db_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    kit_keys = []
    with sessions.begin() as session:
        import_registry(session, sample_registry(per_region))
        for i in range(n_kits):
            if i < args.probes:
                station, kit = probe_stations[i], "1"
            else:
                j = i - args.probes
                station, kit = other_stations[j % len(other_stations)], str(j // len(other_stations) + 1)
            kit_keys.append(provision_kit(session, station, kit, server_keys.curve.public))
    engine.dispose()
    setup_s = time.monotonic() - setup_started

    http_port, zmq_port = _free_port(), _free_port()
    endpoint = f"tcp://127.0.0.1:{zmq_port}"
    url = f"http://127.0.0.1:{http_port}"
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "shailoo", "server", "run", "--db", db_url, "--keys", str(keys_dir),
         "--port", str(http_port), "--zmq", endpoint],
        stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT,
    )
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    # Each kit: its DEALER, the PAIR that reads its connection events, and libzmq's own monitor PAIR.
    ctx.MAX_SOCKETS = 3 * n_kits + 256
    kits: list[_Kit] = []
    result: dict[str, Any] = {}
    stop_poll = threading.Event()
    try:
        _wait_health(url, server)
        connect_started = time.monotonic()
        for keys in kit_keys:
            outbox = MemoryOutbox()
            sender = OutboxSender(outbox, endpoint, keys, context=ctx, health=lambda: {"scanner": "ready"},
                                  heartbeat_s=args.heartbeat)
            kits.append(_Kit(sender, outbox, keys.station_id, keys.kit_id))
        # Connected = the server has a heartbeat from every kit (each kit's first one goes out at once).
        pending_hb = set(range(n_kits))
        deadline = time.monotonic() + args.connect_timeout
        while pending_hb and time.monotonic() < deadline:
            now = time.monotonic()
            for i in list(pending_hb):
                kits[i].sender.send_due(now)
                if kits[i].sender.heartbeats_sent:  # the first heartbeat left: the link is up
                    pending_hb.discard(i)
            time.sleep(0.05)
        connected = n_kits - len(pending_hb)
        _wait_heartbeats(url, connected, time.monotonic() + max(5.0, deadline - time.monotonic()))
        connect_s = time.monotonic() - connect_started

        ack_poller = zmq.Poller()
        index: dict[Any, int] = {}
        for i, each in enumerate(kits):
            ack_poller.register(each.sender.socket, zmq.POLLIN)
            index[each.sender.socket] = i
        probe_visible: list[float] = []
        probe_lock = threading.Lock()
        poller = threading.Thread(target=_poll_visibility, args=(url, kits[: args.probes], probe_visible, probe_lock,
                                                                 stop_poll), daemon=True)
        poller.start()
        base = _health(url)["ingest"]["ingested"]
        rng = random.Random(7)
        sent = 0
        outstanding: set[int] = set()
        dashboard: dict[str, Any] = {}
        dash_thread = None
        global_commits: list[float] = []
        ack_s: list[float] = []
        if args.dashboard:
            dash_thread = threading.Thread(target=_dashboard_probe, args=(url, global_commits, dashboard, base),
                                           daemon=True)
        started = time.monotonic()
        last_resend_sweep = started
        end = started + args.seconds
        when = datetime.now(UTC)
        while (now := time.monotonic()) < end:
            due = int((now - started) * args.rate) - sent
            for _ in range(due):
                i = rng.randrange(n_kits)
                target = kits[i]
                seq = target.outbox.next_seq
                target.outbox.add(encode(make_event(target.station_id, target.kit_id, seq, when)), seq)
                target.committed_at[seq] = time.monotonic()
                global_commits.append(target.committed_at[seq])
                target.sender.send_due()
                outstanding.add(i)
                sent += 1
            if dash_thread is not None and not dash_thread.is_alive() and now - started > args.seconds / 3:
                dash_thread.start()
            _collect_acks(kits, outstanding, ack_poller, index, ack_s)
            if now - last_resend_sweep > 1.0:  # resends with backoff, and heartbeats
                last_resend_sweep = now
                for i in list(outstanding):
                    kits[i].sender.send_due(now)
            time.sleep(0.002)
        load_end = time.monotonic()
        ingested_in_window = _health(url)["ingest"]["ingested"] - base
        drain_deadline = load_end + args.drain
        while outstanding and time.monotonic() < drain_deadline:
            _collect_acks(kits, outstanding, ack_poller, index)
            now = time.monotonic()
            if now - last_resend_sweep > 0.5:
                last_resend_sweep = now
                for i in list(outstanding):
                    kits[i].sender.send_due(now)
            time.sleep(0.005)
        drained_s = time.monotonic() - load_end
        time.sleep(POLL_S * 4)
        stop_poll.set()
        poller.join(5)
        if dash_thread is not None and dash_thread.is_alive():
            dash_thread.join(60)
        total = int(httpx.get(f"{url}/api/turnout", timeout=30).json()["total"])
        unacked = sum(len(k.outbox) for k in kits)
        result = {
            "benchmark": "ingest",
            "db": args.db,
            "kits": n_kits,
            "kits_connected": connected,
            "offered_rate_per_s": args.rate,
            "seconds": args.seconds,
            "sent": sent,
            "ingested": total,
            "unacknowledged_after_drain": unacked,
            "resent": sum(k.sender.resent_total for k in kits),
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
            "connect_s": round(connect_s, 1),
            "setup_s": round(setup_s, 1),
            "heartbeat_s": args.heartbeat,
            "fd_limit": fd_limit,
            **{f"dashboard_{k}": v for k, v in dashboard.items()},
            # The machine is shared: the 1-minute load average at the end says how much CPU the run really had.
            "load_average_1min": round(os.getloadavg()[0], 2),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "zmq": zmq.zmq_version()},
        }
    finally:
        stop_poll.set()
        ctx.destroy(linger=0)  # closes every kit socket, also those of a kit whose setup failed half-way
        server.terminate()
        try:
            server.wait(20)
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


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def _collect_acks(kits: list[_Kit], outstanding: set[int], poller: zmq.Poller, index: dict[Any, int],
                  ack_s: list[float] | None = None) -> None:
    for sock, _ in poller.poll(0):
        i = index[sock]
        kit = kits[i]
        before = len(kit.outbox.delivered)
        kit.sender.receive_acks()
        if ack_s is not None:
            now = time.monotonic()
            ack_s.extend(now - kit.committed_at[seq] for seq in kit.outbox.delivered[before:])
        if not len(kit.outbox):
            outstanding.discard(i)


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


def _poll_visibility(url: str, probes: list[_Kit], out: list[float], lock: threading.Lock,
                     stop: threading.Event) -> None:
    ids = ",".join(k.station_id for k in probes)
    seen = {k.station_id: 0 for k in probes}
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            try:
                counts = client.get(f"{url}/api/turnout/stations", params={"ids": ids}).json()
            except httpx.HTTPError:
                time.sleep(POLL_S)
                continue
            now = time.monotonic()
            for kit in probes:
                count = int(counts.get(kit.station_id, 0))
                for seq in range(seen[kit.station_id] + 1, count + 1):
                    committed = kit.committed_at.get(seq)
                    if committed is not None:
                        with lock:
                            out.append(now - committed)
                seen[kit.station_id] = max(seen[kit.station_id], count)
            time.sleep(POLL_S)


def _dashboard_probe(url: str, commits: list[float], out: dict[str, Any], base_ingested: int) -> None:
    """Open the live page under load: first paint, and the lag of pushed totals behind the kits' commits."""
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
        page = browser.new_page()
        started = time.monotonic()
        page.goto(f"{url}/dashboard?token={DEV_ADMIN_TOKEN}")
        page.wait_for_function("Number(document.body.dataset.updates) >= 1", timeout=120_000)
        out["first_paint_ms"] = round((time.monotonic() - started) * 1000, 1)
        last = int(page.evaluate("document.body.dataset.updates"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                page.wait_for_function(f"Number(document.body.dataset.updates) > {last}", timeout=20_000)
            except Exception:  # noqa: BLE001 - playwright's timeout: no more pushes in time
                break
            now = time.monotonic()
            last = int(page.evaluate("document.body.dataset.updates"))
            total = int(page.evaluate("document.body.dataset.total")) - base_ingested
            # The dashboard shows `total` events: the total-th committed event is the newest it can include.
            if 0 < total <= len(commits):
                lags.append(now - commits[total - 1])
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
