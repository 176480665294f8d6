"""Run an election day: a real CEC server process, thousands of light kits in this process, the plan replayed at
``speed`` times real time, then a count of what the CEC holds against what the kits committed."""

from __future__ import annotations

import json
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import zmq

from link.keys import KitKeys
from link.messages import IdentificationEvent, encode
from simulation.election.errors import ElectionSimError
from simulation.election.faults import FaultPlan
from simulation.election.kits import LightKit
from simulation.election.plan import FALLBACK_REASONS, PATHS, DayPlan, build_plan
from simulation.election.turnout import DAY_SECONDS, OPENING_HOUR
from station.identify import voter_ref

#: Bishkek time, UTC+6 all year.
BISHKEK = timezone(timedelta(hours=6))
#: Seconds between sweeps over every online kit that resend overdue entries and send due heartbeats.
SWEEP_S = 2.0
#: Seconds between sends of the kits that committed something new (a kit's sender looks over its whole window at
#: each call, so calling it once per batch rather than once per identification keeps 5,000 kits on one core).
SEND_S = 0.1
#: Open files one connected light kit holds (measured; see run_election).
FDS_PER_KIT = 4
#: Most identifications committed in one pass of the replay loop.
EMIT_BATCH = 2000
#: The development admin token the server accepts on loopback (sync_server.config.DEV_ADMIN_TOKEN).
ADMIN_TOKEN = "dev-admin-token"


@dataclass(frozen=True)
class ElectionOptions:
    """One simulated election day."""

    stations: int
    faults: FaultPlan
    speed: float
    work_dir: Path
    voters_per_station: int | None = None
    seed: int = 1
    election_id: str = "SIM-2026"
    http_port: int = 0
    zmq_port: int = 0
    #: Seconds between each kit's heartbeats (real time); the CEC calls a kit silent after 15 min without any.
    heartbeat_s: float = 60.0
    #: Longest wait, real seconds, for the last acknowledgements after the day ends.
    drain_s: float = 1800.0
    #: Called with the result before the server stops (``make demo`` keeps serving until Ctrl-C there).
    hold: Callable[[dict[str, Any]], None] | None = None


def _free_port(preferred: int) -> int:
    if preferred:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _raise_fd_limit(needed: int) -> None:
    """Each kit holds a socket, its TCP connection and a mailbox: raise the open-file limit (root may raise the hard
    limit too; otherwise up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, max(needed, hard) if hard != resource.RLIM_INFINITY
                                                    else hard))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def provision(plan: DayPlan, db_url: str, keys_dir: Path) -> list[KitKeys]:
    """Import the simulated stations into the CEC registry and provision one CURVE key pair per kit, as
    ``shailoo server registry`` and ``shailoo server kit add`` do (same service functions, one transaction)."""
    from sync_server.db import make_engine, make_sessionmaker, migrate
    from sync_server.keys import ensure_server_keys
    from sync_server.services.registry import StationRow, import_registry, provision_kit

    server_keys = ensure_server_keys(keys_dir)
    engine = make_engine(db_url)
    migrate(engine)
    rows = [
        StationRow(station_id=s.number, name=f"Station {s.number}", address=s.address, oblast=s.oblast,
                   district=s.district, commission_id=f"TEC-{s.oblast_code}-{s.district}"[:64],
                   commission_name=f"Territorial commission, {s.district}", registered_voters=s.voters)
        for s in plan.stations
    ]
    keys = []
    with make_sessionmaker(engine).begin() as session:
        import_registry(session, rows)
        for kit in plan.kits:
            keys.append(provision_kit(session, kit.station_id, kit.kit_id, server_keys.curve.public))
    engine.dispose()
    return keys


class _Day:
    """The replay loop's state: kits, which are online, and the acknowledgement poller."""

    def __init__(self, plan: DayPlan, kits: list[LightKit], endpoint: str, election_id: str) -> None:
        self.plan = plan
        self.kits = kits
        self.endpoint = endpoint
        self.election_id = election_id
        self.context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        # libzmq counts more than the DEALER sockets against this limit (measured: about 3 per connected kit).
        self.context.MAX_SOCKETS = 4 * len(kits) + 1024
        self.poller = zmq.Poller()
        self.by_socket: dict[Any, int] = {}
        self.day_start = datetime(plan.election_day.year, plan.election_day.month, plan.election_day.day,
                                  OPENING_HOUR, tzinfo=BISHKEK)
        self.online: set[int] = set()

    def connect(self, i: int) -> None:
        sock = self.kits[i].connect(self.context, self.endpoint)
        self.poller.register(sock, zmq.POLLIN)
        self.by_socket[sock] = i
        self.online.add(i)

    def disconnect(self, i: int) -> None:
        sock = self.kits[i].disconnect()
        if sock is not None:
            self.poller.unregister(sock)
            self.by_socket.pop(sock, None)
        self.online.discard(i)

    def is_offline(self, i: int, sim_t: float) -> bool:
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
            election_id=self.election_id, station_id=kit.keys.station_id, kit_id=kit.keys.kit_id,
            seq=kit.outbox.next_seq, voter_ref=voter_ref(self.election_id, pin), sex=pin_sex(pin),
            birth_year=int(pin[5:9]), path=path, identified_at=self.day_start + timedelta(seconds=float(plan.times[row])),
            fallback_reason=FALLBACK_REASONS[reason] if path == "manual" and reason >= 0 else "",
        )
        kit.outbox.add(encode(event))
        return i

    def collect_acks(self, timeout_ms: int = 0) -> None:
        for sock, _ in self.poller.poll(timeout_ms):
            i = self.by_socket.get(sock)
            if i is not None and self.kits[i].sender is not None:
                self.kits[i].sender.receive_acks()  # type: ignore[union-attr]

    def sweep(self) -> None:
        now = time.monotonic()
        for i in list(self.online):
            sender = self.kits[i].sender
            if sender is not None:
                sender.send_due(now)

    def close(self) -> None:
        for i in list(self.online):
            self.disconnect(i)
        self.context.term()


def pin_sex(pin: str) -> str:
    """Sex from the personal number's first digit (1 female, 2 male)."""
    return "F" if pin[0] == "1" else "M"


Progress = Callable[[str], None]


def run_election(options: ElectionOptions, progress: Progress | None = None,
                 ready: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the day and return the result (also the JSON of ``--json``); raises :class:`ElectionSimError`."""
    say = progress or (lambda _msg: None)
    if options.speed <= 0:
        raise ElectionSimError("--speed must be above 0 (78 compresses 07:00-20:00 into 10 minutes)")
    work = options.work_dir
    work.mkdir(parents=True, exist_ok=True)
    for old in ("cec.db", "cec.db-wal", "cec.db-shm"):
        (work / old).unlink(missing_ok=True)
    planned_at = time.monotonic()
    plan = build_plan(options.stations, options.faults, options.seed, options.voters_per_station)
    say(f"planned {len(plan)} identifications at {len(plan.stations)} stations on {len(plan.kits)} kits "
        f"in {time.monotonic() - planned_at:.1f} s")
    _raise_fd_limit(6 * len(plan.kits) + 4096)
    # Measured: a connected kit holds about 4 descriptors here (the link's DEALER, its monitor pair, the TCP
    # connection). Refuse up front rather than fail mid-day when the first offline kit reconnects.
    allowed = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if FDS_PER_KIT * len(plan.kits) + 1024 > allowed:
        raise ElectionSimError(
            f"{len(plan.kits)} kits need about {FDS_PER_KIT * len(plan.kits) + 1024} open files, and this process may "
            f"open {allowed}: simulate fewer stations, or cap --voters-per-station so stations need fewer kits")
    db_url = f"sqlite:///{work / 'cec.db'}"
    keys_dir = work / "keys"
    kits = [LightKit(k, options.heartbeat_s) for k in provision(plan, db_url, keys_dir)]
    http_port, zmq_port = _free_port(options.http_port), _free_port(options.zmq_port)
    endpoint, url = f"tcp://127.0.0.1:{zmq_port}", f"http://127.0.0.1:{http_port}"
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "shailoo", "server", "run", "--db", db_url, "--keys", str(keys_dir),
         "--port", str(http_port), "--zmq", endpoint],
        stdout=log, stderr=subprocess.STDOUT,
    )
    day = _Day(plan, kits, endpoint, options.election_id)
    try:
        _wait_health(url, server)
        if ready is not None:
            ready(url)
        for i in range(len(kits)):
            if not day.is_offline(i, 0.0):
                day.connect(i)
        end_s = max(DAY_SECONDS, float(plan.times[-1]) + 1.0 if len(plan) else 0.0)
        started = time.monotonic()
        next_row, last_sweep, last_report, last_send = 0, started, started, started
        touched: set[int] = set()
        transitions = [i for i, k in enumerate(plan.kits) if k.offline]
        while True:
            now = time.monotonic()
            sim_t = min(end_s, (now - started) * options.speed)
            for i in transitions:
                offline = day.is_offline(i, sim_t)
                if offline and i in day.online:
                    day.disconnect(i)
                elif not offline and i not in day.online:
                    day.connect(i)
            # At most EMIT_BATCH rows per pass, so acknowledgements are read even when this process falls behind.
            limit = next_row + EMIT_BATCH
            while next_row < len(plan) and next_row < limit and plan.times[next_row] <= sim_t:
                touched.add(day.emit(next_row))
                next_row += 1
            if now - last_send >= SEND_S:
                for i in touched:
                    sender = kits[i].sender
                    if sender is not None:
                        sender.send_due(now)
                touched.clear()
                last_send = now
            day.collect_acks(0)
            if now - last_sweep >= SWEEP_S:
                day.sweep()
                last_sweep = now
            if now - last_report >= 10.0:
                last_report = now
                clock = plan.election_day and (day.day_start + timedelta(seconds=sim_t)).strftime("%H:%M")
                say(f"{clock}: committed {next_row}, acknowledged {sum(k.outbox.delivered for k in kits)}")
            if sim_t >= end_s and next_row >= len(plan):
                break
            time.sleep(0.005)
        day_s = time.monotonic() - started
        say(f"the day is over after {day_s:.0f} s; waiting for the last acknowledgements")
        deadline = time.monotonic() + options.drain_s
        while time.monotonic() < deadline and any(len(kits[i].outbox) for i in day.online):
            day.collect_acks(50)
            if time.monotonic() - last_sweep >= SWEEP_S:
                day.sweep()
                last_sweep = time.monotonic()
                if time.monotonic() - last_report >= 10.0:
                    last_report = time.monotonic()
                    say(f"draining: {sum(len(k.outbox) for k in kits)} entries not yet acknowledged")
        drain_s = time.monotonic() - started - day_s
        result = _result(options, plan, kits, url, day_s, drain_s)
        if options.hold is not None:
            options.hold(result)
        return result
    finally:
        day.close()
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _wait_health(url: str, server: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise ElectionSimError("the CEC server exited at start; see server.log in the work folder")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ElectionSimError("the CEC server did not answer within a minute; see server.log in the work folder")


def _result(options: ElectionOptions, plan: DayPlan, kits: list[LightKit], url: str, day_s: float,
            drain_s: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(timeout=120, headers=headers) as client:
        turnout = client.get(f"{url}/api/turnout").json()
        flagged = client.get(f"{url}/api/anomalies").json()
        summary = client.get(f"{url}/api/turnout/summary").json()
    sent = sum(k.committed for k in kits)
    ingested = int(turnout["total"])
    injected = plan.injected
    found = []
    for inj in injected:
        hit = any(a["kind"] == inj["kind"] and (a["station_id"] == inj["station_id"]
                                                 or inj["station_id"] in a.get("stations", [])) for a in flagged)
        found.append({**inj, "flagged": hit})
    injected_keys = {(i["kind"], i["station_id"]) for i in injected}
    faulty = {i["station_id"] for i in injected} | {i.get("also", "") for i in injected}
    unexpected = [a for a in flagged if (a["kind"], a["station_id"]) not in injected_keys
                  and not (a["kind"] == "same_person_twice" and set(a.get("stations", [])) & faulty)]
    offline = [
        {"station_id": k.keys.station_id, "kit_id": k.keys.kit_id, "committed": k.committed,
         "acknowledged": k.outbox.delivered, "reconnections": k.connections - 1,
         "acknowledged_out_of_order": k.outbox.out_of_order}
        for k, p in zip(kits, plan.kits, strict=True) if p.offline
    ]
    stuffing_ids = {i["station_id"] for i in injected if i["fault"] == "stuffing"}
    return {
        "simulator": "election",
        "kit_model": "light kits in one process: the link's OutboxSender over CURVE, one DEALER socket per kit, "
                     "in-memory outbox; a real `shailoo server run` process on SQLite",
        "stations": len(plan.stations),
        "kits": len(kits),
        "kits_silent": sum(1 for p in plan.kits if p.silent),
        "speed": options.speed,
        "simulated_hours": round(float(plan.times[-1]) / 3600, 2) if len(plan) else 0,
        "day_real_s": round(day_s, 1),
        "drain_real_s": round(drain_s, 1),
        "sent": sent,
        "ingested": ingested,
        "difference": sent - ingested,
        "not_identified_silent_stations": plan.dropped_silent,
        "unacknowledged": sum(len(k.outbox) for k in kits),
        "offline_kits": offline,
        "injected": found,
        "injected_flagged": sum(1 for f in found if f["flagged"]),
        "injected_total": len(found),
        "flagged_total": len(flagged),
        "flagged_unexpected": [
            {k: a[k] for k in ("kind", "station_id", "detail")} for a in unexpected
            if a["station_id"] not in stuffing_ids or a["kind"] != "far_from_peers"
        ],
        "flagged_far_from_peers_at_stuffed_station": [a["station_id"] for a in flagged if a["kind"] == "far_from_peers"
                                                      and a["station_id"] in stuffing_ids],
        "turnout_percent": summary.get("percent"),
        "by_path": summary.get("by_path"),
        "by_sex": summary.get("by_sex"),
        "by_hour": [{"hour": h["hour"], "identified": h["identified"]} for h in summary.get("by_hour", [])],
    }


def write_json(result: dict[str, Any], path: Path) -> None:
    """Write the result as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
