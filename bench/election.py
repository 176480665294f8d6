"""``shailoo bench election``: a full simulated election day, compressed in time, every identification accounted for.

Default: 2,500 stations (the size of the real country), 07:00-20:00 compressed by 78 into 10 minutes, the default
fault file. Kits are the election simulator's light kits (the link's own OutboxSender over CURVE, one DEALER socket
per kit, in-memory outboxes) in as many worker processes as the open-file limit requires (``--workers`` for more);
the CEC is a real ``shailoo server run`` process on SQLite. The JSON states ``sent`` (identifications the kits
committed), ``ingested`` (the CEC's count) and ``difference``, the speed asked for and the speed achieved, and the
CPU seconds of the kit workers and of the server next to the wall clock (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from pathlib import Path
from typing import Any

from shailoo.settings import REPO_ROOT, var_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``shailoo bench election``."""
    parser.add_argument("--stations", type=int, default=2500, help="polling stations (default: %(default)s)")
    parser.add_argument("--speed", type=float, default=78.0, help="simulated seconds per second (default: 78)")
    parser.add_argument("--voters-per-station", type=int, default=None, help="cap on each station's list")
    parser.add_argument("--faults", type=Path, default=None, help="fault file (default: the simulator's default)")
    parser.add_argument("--drain", type=float, default=1800.0, help="longest wait for the last acknowledgements, s")
    parser.add_argument("--workers", type=int, default=None, help="kit worker processes (default: as few as fit)")
    parser.add_argument("--fronts", type=int, default=1, help="ingest front processes of the server (default: 1)")
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "election.json")


def run(args: argparse.Namespace) -> int:
    """Run the day; print a table; write JSON. Exit 0 only when the difference is zero."""
    from simulation.election import DEFAULT_FAULTS, ElectionOptions, load_faults, run_election, write_json

    started = time.monotonic()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    result = run_election(
        ElectionOptions(stations=args.stations, faults=load_faults(args.faults or Path(DEFAULT_FAULTS)),
                        speed=args.speed, work_dir=var_dir() / "bench-election",
                        voters_per_station=args.voters_per_station, drain_s=args.drain,
                        workers=args.workers, fronts=args.fronts),
        progress=lambda msg: print(f"  {msg}", flush=True),
    )
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    result["wall_s"] = round(time.monotonic() - started, 1)
    result["driver_process_cpu_s"] = round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 1)
    result["load_average_end"] = os.getloadavg()
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    _print(result)
    write_json(result, args.json)
    print(f"wrote {args.json}")
    return 0 if result["difference"] == 0 and result["unacknowledged"] == 0 else 1


def _print(result: dict[str, Any]) -> None:
    keys = ("stations", "kits", "worker_processes", "planned_identifications", "speed", "achieved_speed",
            "simulated_hours", "day_real_s", "drain_real_s", "wall_s", "sent", "ingested", "difference",
            "unacknowledged", "injected_flagged", "injected_total", "kit_workers_cpu_s", "server_cpu_s",
            "driver_process_cpu_s", "load_average_end")
    width = max(len(k) for k in keys)
    print("\nElection day (light kits against a real CEC server)")
    for key in keys:
        print(f"  {key:<{width}}  {result[key]}")
    for inj in result["injected"]:
        print(f"  injected {inj['kind']} at {inj['station_id']}: {'flagged' if inj['flagged'] else 'NOT flagged'}")
    for extra in result["flagged_unexpected"]:
        print(f"  flagged without injection: {extra['kind']} at {extra['station_id']}: {extra['detail']}")
