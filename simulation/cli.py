"""``shailoo sim ...``: simulation and training."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from shailoo.settings import var_dir
from simulation.fingerprints.commands import add_command as add_fingerprints_command
from simulation.population.commands import add_command as add_population_command
from simulation.training.commands import add_command as add_training_command


def register(subparsers: Any) -> None:
    """Add ``shailoo sim``."""
    parser = subparsers.add_parser(
        "sim",
        help="simulation and training: synthetic voters, emulated kits, an election-day rehearsal",
        description="Simulation and training. Nothing real is used: synthetic voters, simulated kits, "
        "a local CEC server.",
    )
    parser.set_defaults(role_parser=parser)
    sub = parser.add_subparsers(dest="sim_command", metavar="COMMAND")
    add_fingerprints_command(sub)
    add_population_command(sub)
    add_training_command(sub)

    demo = sub.add_parser(
        "demo",
        help="a small election-day rehearsal: a CEC server and light kits at six stations, with scripted faults",
        description="A small run of 'sim election': a CEC server on SQLite and light kits at six stations; the "
        "day is compressed into 60%% of --seconds (a minute without it); print the URL of the server; check that the "
        "CEC counted every identification; without --seconds, keep serving until Ctrl-C.",
    )
    demo.add_argument("--seconds", type=float, default=None, help="stop by itself after this many seconds")
    demo.add_argument("--port", type=int, default=8000, help="web port of the CEC server (default: %(default)s)")
    demo.add_argument("--zmq-port", type=int, default=5570, help="port kits connect to (default: %(default)s)")
    demo.add_argument("--var", type=Path, default=var_dir(), help="folder for the demo's files (default: %(default)s)")
    demo.set_defaults(handler=_demo)

    election = sub.add_parser(
        "election",
        help="rehearse an election day: many light kits against a real CEC server, with scripted faults",
        description="Replay a simulated election day (07:00-20:00, compressed by --speed) from light kits that speak "
        "the real link protocol (OutboxSender over CURVE, in-memory outbox, in one or more worker processes) to a "
        "real CEC server process on SQLite; then compare what the kits sent with what the CEC ingested and which injected "
        "faults its anomaly detectors flagged.",
    )
    election.add_argument("--stations", type=int, default=20, help="polling stations (default: %(default)s)")
    election.add_argument("--voters-per-station", type=int, default=None,
                          help="cap each station's list at this many voters (default: the population's list size)")
    election.add_argument("--speed", type=float, default=78.0,
                          help="simulated seconds per real second (default: %(default)s: the day in 10 minutes)")
    election.add_argument("--faults", type=Path, default=None,
                          help="fault scenario file (TOML; default: simulation/election/scenarios/default.toml)")
    election.add_argument("--no-faults", action="store_true", help="a day without scripted faults")
    election.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    election.add_argument("--json", type=Path, default=None, help="write the result as JSON here")
    election.add_argument("--var", type=Path, default=var_dir(), help="work folder parent (default: %(default)s)")
    election.add_argument("--port", type=int, default=0, help="web port of the CEC server (default: any free)")
    election.add_argument("--zmq-port", type=int, default=0, help="port kits connect to (default: any free)")
    election.add_argument("--drain", type=float, default=1800.0,
                          help="longest wait for the last acknowledgements, seconds (default: %(default)s)")
    election.add_argument("--workers", type=int, default=None,
                          help="kit worker processes (default: the fewest whose kits fit under the open-file limit)")
    election.add_argument("--fronts", type=int, default=1,
                          help="ingest front processes of the CEC server (shailoo server run --fronts; default: 1)")
    election.set_defaults(handler=_election)

    kit = sub.add_parser(
        "kit",
        help="run one simulated kit: identifications by a script, sent to a CEC server",
        description="Run one simulated kit with the real kit store and link; voters are identified by a paced "
        "script instead of a person.",
    )
    kit.add_argument("--db", type=Path, required=True, help="the kit's store file")
    kit.add_argument("--server", required=True, help="CEC endpoint, e.g. tcp://127.0.0.1:5570")
    kit.add_argument("--election", default="sim-2026", help="election id (default: %(default)s)")
    kit.add_argument("--station", required=True, help="station number")
    kit.add_argument("--kit", default="1", help="kit number at the station (default: %(default)s)")
    kit.add_argument("--voters", type=int, default=100, help="voters on the synthetic list (default: %(default)s)")
    kit.add_argument("--rate", type=float, default=60.0, help="identifications per minute (default: %(default)s)")
    kit.add_argument("--max", type=int, default=10**9, help="stop after this many identifications")
    kit.add_argument("--seconds", type=float, default=60.0, help="stop identifying after this long")
    kit.add_argument("--seed", type=int, default=1, help="random seed (default: %(default)s)")
    kit.add_argument("--share", default="0/1", help="INDEX/COUNT: this kit's share of the station's queue")
    kit.add_argument("--keys", type=Path, required=True, help="the kit's key file ('shailoo server kit add')")
    kit.add_argument("--drain", type=float, default=10.0,
                     help="after identifying, wait at most this long for the CEC to acknowledge (default: %(default)s)")
    kit.set_defaults(handler=_kit)


def _demo(args: argparse.Namespace) -> int:
    from simulation.demo import DemoOptions, run_demo

    return run_demo(DemoOptions(seconds=args.seconds, var_dir=args.var, http_port=args.port, zmq_port=args.zmq_port))


def _election(args: argparse.Namespace) -> int:
    import json

    from simulation.election import (
        DEFAULT_FAULTS,
        ElectionOptions,
        ElectionSimError,
        FaultPlan,
        load_faults,
        run_election,
        write_json,
    )

    try:
        faults = FaultPlan() if args.no_faults else load_faults(args.faults or Path(DEFAULT_FAULTS))
        result = run_election(
            ElectionOptions(stations=args.stations, faults=faults, speed=args.speed,
                            work_dir=args.var / "election", voters_per_station=args.voters_per_station,
                            seed=args.seed, http_port=args.port, zmq_port=args.zmq_port, drain_s=args.drain,
                            workers=args.workers, fronts=args.fronts),
            progress=lambda msg: print(f"election: {msg}", flush=True),
            ready=lambda url: print(f"election: CEC dashboard at {url}/dashboard?token=dev-admin-token", flush=True),
        )
    except ElectionSimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        write_json(result, args.json)
    summary = {k: result[k] for k in ("stations", "kits", "sent", "ingested", "difference", "injected_flagged",
                                      "injected_total", "day_real_s", "drain_real_s", "achieved_speed", "worker_processes")}
    print(json.dumps(summary, indent=2))
    for inj in result["injected"]:
        print(f"  injected {inj['kind']:<18} at {inj['station_id']}: {'flagged' if inj['flagged'] else 'NOT flagged'}")
    for extra in result["flagged_unexpected"]:
        print(f"  flagged without injection: {extra['kind']} at {extra['station_id']} ({extra['detail']})")
    return 0 if result["difference"] == 0 and result["unacknowledged"] == 0 else 1


def _kit(args: argparse.Namespace) -> int:
    from link.keys import KitKeys
    from simulation.kit_model import prepare_kit, run_simulated_kit
    from station.store import KitStore

    index, count = (int(x) for x in args.share.split("/"))
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    store = KitStore(args.db)
    prepare_kit(store, args.election, args.station, args.kit, args.voters, seed=int(args.station))
    result = run_simulated_kit(
        store,
        args.server,
        KitKeys.load(args.keys),
        drain_seconds=args.drain,
        rate_per_min=args.rate,
        max_identifications=args.max,
        seconds=args.seconds,
        seed=args.seed,
        share=(index, count),
        stop=stop,
    )
    print(
        f"kit summary: {args.station}/{args.kit} identified={result.identified} "
        f"delivered={result.delivered} pending={result.pending}",
        flush=True,
    )
    return 0
