"""Election-day simulator: many light kits speaking the real link protocol to a real CEC server, voters from the
synthetic population arriving on a turnout curve, and scripted faults (offline kits, silent stations, ballot
stuffing, one person at two stations) to rehearse and measure the dashboard and the anomaly detectors."""

from simulation.election.errors import ElectionSimError, FaultFileError
from simulation.election.faults import FaultPlan, load_faults, parse_faults
from simulation.election.plan import DayPlan, build_plan
from simulation.election.run import ElectionOptions, run_election, write_json

#: The fault file used when none is given.
DEFAULT_FAULTS = __path__[0] + "/scenarios/default.toml"

__all__ = [
    "DEFAULT_FAULTS",
    "DayPlan",
    "ElectionOptions",
    "ElectionSimError",
    "FaultFileError",
    "FaultPlan",
    "build_plan",
    "load_faults",
    "parse_faults",
    "run_election",
    "write_json",
]
