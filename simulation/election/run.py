"""Run an election day: a real CEC server process, thousands of light kits in worker processes
(:mod:`simulation.election.workers`), the plan replayed at ``speed`` times real time, then a count of what the CEC
holds against what the kits committed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from link.keys import KitKeys
from shailoo.ports import free_port, free_ports
from simulation.election.errors import ElectionSimError
from simulation.election.faults import FaultPlan
from simulation.election.plan import DayPlan, build_plan
from simulation.election.turnout import DAY_SECONDS, OPENING_HOUR
from simulation.election.workers import (
    BISHKEK,
    FDS_PER_KIT,
    WorkerTask,
    open_file_limit,
    split_kits,
    start_workers,
    stop_workers,
    workers_needed,
)

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
    #: Kit worker processes (default: the fewest whose kits fit under the open-file limit).
    workers: int | None = None
    #: Ingest front processes of the CEC server (``shailoo server run --fronts``); each kit connects to its front.
    fronts: int = 1


def _front_ports(preferred: int, count: int) -> int:
    """The first of ``count`` consecutive free ports for the server's ingest fronts (``preferred`` when free)."""
    try:
        return free_ports(count, preferred)
    except RuntimeError as exc:
        raise ElectionSimError(f"{exc} for the server's ingest fronts") from exc


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


Progress = Callable[[str], None]


def run_election(options: ElectionOptions, progress: Progress | None = None,
                 ready: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the day and return the result (also the JSON of ``--json``); raises :class:`ElectionSimError`."""
    say = progress or (lambda _msg: None)
    if options.speed <= 0:
        raise ElectionSimError("--speed must be above 0 (78 compresses 07:00-20:00 into 10 minutes)")
    if options.workers is not None and options.workers < 1:
        raise ElectionSimError("--workers must be 1 or more")
    work = options.work_dir
    work.mkdir(parents=True, exist_ok=True)
    for old in ("cec.db", "cec.db-wal", "cec.db-shm"):
        (work / old).unlink(missing_ok=True)
    planned_at = time.monotonic()
    plan = build_plan(options.stations, options.faults, options.seed, options.voters_per_station)
    say(f"planned {len(plan)} identifications at {len(plan.stations)} stations on {len(plan.kits)} kits "
        f"in {time.monotonic() - planned_at:.1f} s")
    # Refuse up front rather than fail mid-day when the first offline kit reconnects.
    needed = workers_needed(len(plan.kits))
    workers = options.workers or needed
    if workers < needed:
        raise ElectionSimError(
            f"{len(plan.kits)} kits need about {FDS_PER_KIT * len(plan.kits)} open files, and one process may open "
            f"{open_file_limit()}: use --workers {needed} or more (or leave it out)")
    workers = min(workers, len(plan.kits))
    db_url = f"sqlite:///{work / 'cec.db'}"
    keys_dir = work / "keys"
    provisioned_at = time.monotonic()
    keys = provision(plan, db_url, keys_dir)
    say(f"registered {len(plan.stations)} stations and provisioned {len(keys)} kit keys in "
        f"{time.monotonic() - provisioned_at:.1f} s")
    from sync_server.services.registry import kit_endpoint

    http_port, zmq_port = free_port(options.http_port), _front_ports(options.zmq_port, options.fronts)
    endpoint, url = f"tcp://127.0.0.1:{zmq_port}", f"http://127.0.0.1:{http_port}"
    endpoints = [kit_endpoint(endpoint, options.fronts, k.station_id, k.kit_id) for k in keys]
    end_s = max(DAY_SECONDS, float(plan.times[-1]) + 1.0 if len(plan) else 0.0)
    tasks = [WorkerTask(index=w, kits=r, keys=keys[r.start:r.stop], endpoints=endpoints[r.start:r.stop],
                        election_id=options.election_id, heartbeat_s=options.heartbeat_s, speed=options.speed,
                        end_s=end_s, drain_s=options.drain_s)
             for w, r in enumerate(split_kits(len(plan.kits), workers))]
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "shailoo", "server", "run", "--db", db_url, "--keys", str(keys_dir),
         "--port", str(http_port), "--zmq", endpoint, "--fronts", str(options.fronts)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    procs: list[Any] = []
    try:
        _wait_health(url, server)
        if ready is not None:
            ready(url)
        # Forked only now: the server is up, and this process has created no ZeroMQ context.
        procs = start_workers(plan, tasks)
        connected_at = time.monotonic()
        replies = _gather(procs, "ready", server, timeout_s=600.0)
        say(f"{workers} kit worker process(es) connected {sum(int(r[1]) for r in replies)} kits in "
            f"{time.monotonic() - connected_at:.1f} s")
        started = time.monotonic() + 0.2
        for _, conn in procs:
            conn.send(("start", started))
        reports = _follow(procs, server, plan, started, say, options.drain_s + end_s / options.speed * 3 + 600)
        result = _result(options, plan, keys, reports, url)
        result["server_cpu_s"] = _process_cpu_s(server.pid)
        if options.hold is not None:
            options.hold(result)
        return result
    finally:
        stop_workers(procs)
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _gather(procs: list[Any], kind: str, server: subprocess.Popen[bytes], timeout_s: float) -> list[Any]:
    """Wait for one ``kind`` message from every worker; raise on a worker's error or exit."""
    replies: dict[int, Any] = {}
    deadline = time.monotonic() + timeout_s
    while len(replies) < len(procs):
        if time.monotonic() > deadline:
            raise ElectionSimError(f"kit workers did not report '{kind}' within {timeout_s:.0f} s")
        _check_server(server)
        for w, (proc, conn) in enumerate(procs):
            if w in replies:
                continue
            if conn.poll(0.05):
                message = _receive(conn, w)
                if message[0] == kind:
                    replies[w] = message
            elif not proc.is_alive():
                raise ElectionSimError(f"kit worker {w} exited (code {proc.exitcode}) before reporting '{kind}'")
    return [replies[w] for w in range(len(procs))]


def _receive(conn: Any, w: int) -> Any:
    try:
        message = conn.recv()
    except EOFError as exc:
        raise ElectionSimError(f"kit worker {w} closed its pipe unexpectedly") from exc
    if message[0] == "error":
        raise ElectionSimError(f"kit worker {w} failed:\n{message[1]}")
    return message


def _check_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        raise ElectionSimError("the CEC server exited during the day; see server.log in the work folder")


def _follow(procs: list[Any], server: subprocess.Popen[bytes], plan: DayPlan, started: float, say: Progress,
            timeout_s: float) -> list[dict[str, Any]]:
    """Print the workers' progress until each sends its final report; returns the reports in worker order."""
    latest: dict[int, tuple[float, int, int, int]] = {}
    done: dict[int, dict[str, Any]] = {}
    last_say = time.monotonic()
    deadline = time.monotonic() + timeout_s
    day_start = datetime(plan.election_day.year, plan.election_day.month, plan.election_day.day, OPENING_HOUR,
                         tzinfo=BISHKEK)
    while len(done) < len(procs):
        if time.monotonic() > deadline:
            raise ElectionSimError(f"kit workers did not finish within {timeout_s:.0f} s")
        _check_server(server)
        for w, (proc, conn) in enumerate(procs):
            if w in done:
                continue
            while conn.poll(0):
                message = _receive(conn, w)
                if message[0] == "progress":
                    latest[w] = message[1:]
                elif message[0] == "done":
                    done[w] = message[1]
                    break
            if w not in done and not proc.is_alive() and not conn.poll(0):
                raise ElectionSimError(f"kit worker {w} exited (code {proc.exitcode}) before its final report")
        if time.monotonic() - last_say >= 10.0 and latest:
            last_say = time.monotonic()
            sim_t = min(v[0] for v in latest.values())
            committed = sum(v[1] for v in latest.values())
            acked = sum(v[2] for v in latest.values())
            clock = (day_start + timedelta(seconds=sim_t)).strftime("%H:%M")
            say(f"{clock} ({time.monotonic() - started:.0f} s): committed {committed}, acknowledged {acked}, "
                f"waiting {committed - acked}")
        time.sleep(0.05)
    return [done[w] for w in range(len(procs))]


def _process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds so far of a running process and its running descendants (the server's ingest
    front processes) from Linux ``/proc``; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children: list[int] = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        return None
    # Fields 14 and 15 of proc(5) (utime, stime) in clock ticks; after the ")" the list starts at field 3.
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return round(own + sum(_process_cpu_s(c) or 0.0 for c in children), 1)


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


def _result(options: ElectionOptions, plan: DayPlan, keys: list[KitKeys], reports: list[dict[str, Any]],
            url: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(timeout=300, headers=headers) as client:
        turnout = client.get(f"{url}/api/turnout").json()
        flagged = client.get(f"{url}/api/anomalies").json()
        summary = client.get(f"{url}/api/turnout/summary").json()
    kits = [k for r in reports for k in r["kits"]]
    sent = sum(k["committed"] for k in kits)
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
        {"station_id": key.station_id, "kit_id": key.kit_id, "committed": k["committed"],
         "acknowledged": k["acknowledged"], "reconnections": k["reconnections"],
         "acknowledged_out_of_order": k["acknowledged_out_of_order"]}
        for key, k, p in zip(keys, kits, plan.kits, strict=True) if p.offline
    ]
    stuffing_ids = {i["station_id"] for i in injected if i["fault"] == "stuffing"}
    simulated_s = float(plan.times[-1]) if len(plan) else 0.0
    day_s = max(r["day_s"] for r in reports)
    return {
        "simulator": "election",
        "kit_model": f"light kits in {len(reports)} worker process(es), each with its own ZeroMQ context: the link's "
                     "OutboxSender over CURVE, one DEALER socket per kit, in-memory outbox; a real "
                     "`shailoo server run` process on SQLite",
        "stations": len(plan.stations),
        "kits": len(kits),
        "kits_silent": sum(1 for p in plan.kits if p.silent),
        "worker_processes": len(reports),
        "server_fronts": options.fronts,
        "kits_per_worker": [len(r["kits"]) for r in reports],
        "planned_identifications": len(plan),
        "speed": options.speed,
        "simulated_hours": round(simulated_s / 3600, 2),
        "day_real_s": round(day_s, 1),
        "drain_real_s": round(max(r["drain_s"] for r in reports), 1),
        # What the run achieved: simulated seconds of the day per real second (below ``speed`` when the kits or
        # the server could not keep up and the replay fell behind its clock).
        "achieved_speed": round(simulated_s / day_s, 1) if day_s else None,
        "kit_workers_cpu_s": round(sum(r["cpu_s"] for r in reports), 1),
        "sent": sent,
        "ingested": ingested,
        "difference": sent - ingested,
        "not_identified_silent_stations": plan.dropped_silent,
        "unacknowledged": sum(k["unacknowledged"] for k in kits),
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
        "load_average": os.getloadavg(),
    }


def write_json(result: dict[str, Any], path: Path) -> None:
    """Write the result as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
