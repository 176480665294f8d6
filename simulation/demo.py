"""``make demo``: a small run of the election-day simulator (``shailoo sim election``).

A CEC server process on SQLite and light kits at six stations of the synthetic population; the whole day
(07:00-20:00, and the ballot stuffing of the default fault file after closing) is compressed into about 60% of
``--seconds`` (a minute without it). The demo prints the dashboard URL and exits 0 only when the CEC counted every
identification the kits committed. Without ``--seconds`` it keeps the server up after the day until Ctrl-C.
"""

from __future__ import annotations

import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from simulation.election import DEFAULT_FAULTS, ElectionOptions, ElectionSimError, load_faults, run_election
from simulation.election.turnout import DAY_SECONDS

#: Stations of the demo: enough for every fault of the default fault file (it names positions 0..5).
DEMO_STATION_COUNT = 6
#: Simulated seconds the demo day lasts: opening to closing plus the default stuffing after closing (20:10-20:30).
DEMO_DAY_S = DAY_SECONDS + 3600


@dataclass(frozen=True)
class DemoOptions:
    """How long and how hard the demo runs."""

    seconds: float | None
    var_dir: Path
    http_port: int
    zmq_port: int
    voters_per_station: int = 120


def run_demo(options: DemoOptions) -> int:
    """Run the demo; returns 0 when the CEC counts every identification the kits made."""
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    day_real_s = options.seconds * 0.6 if options.seconds else 60.0

    def _hold(result: dict[str, Any]) -> None:
        _report(result)
        if options.seconds is None:
            print("demo: the day is over; the server stays up until Ctrl-C", flush=True)
            stop.wait()

    try:
        result = run_election(
            ElectionOptions(
                stations=DEMO_STATION_COUNT, faults=load_faults(Path(DEFAULT_FAULTS)), speed=DEMO_DAY_S / day_real_s,
                work_dir=options.var_dir / "demo", voters_per_station=options.voters_per_station,
                http_port=options.http_port, zmq_port=options.zmq_port, election_id="demo-2026",
                drain_s=max(10.0, (options.seconds or 60.0) * 0.4), hold=_hold,
            ),
            progress=lambda msg: print(f"demo: {msg}", flush=True),
            ready=lambda url: print(f"\nShailoo ID demo: CEC turnout at {url}/api/turnout  (API docs: {url}/docs)\n"
                                    f"Live dashboard: {url}/dashboard?token=dev-admin-token\n", flush=True),
        )
    except ElectionSimError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    if result["sent"] > 0 and result["difference"] == 0 and result["unacknowledged"] == 0:
        print("demo: every identification is accounted for", flush=True)
        return 0
    print(f"demo: counts differ (see the logs in {options.var_dir / 'demo'})", file=sys.stderr)
    return 1


def _report(result: dict[str, Any]) -> None:
    print(f"demo: kits committed {result['sent']} identifications; the CEC counts {result['ingested']}", flush=True)
    for inj in result["injected"]:
        print(f"demo: injected {inj['kind']} at {inj['station_id']}: "
              f"{'flagged by the CEC' if inj['flagged'] else 'NOT flagged'}", flush=True)
