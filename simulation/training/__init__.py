"""Training mode: scenario files trainers edit (a queue of voters with situations and faults), a runner that plays
them on a training kit store through the kit's own identification API, and a printable scorecard."""

from simulation.training.errors import ScenarioError, TrainingError
from simulation.training.runner import DecisionRecord, Prompt, run_scenario
from simulation.training.scenario import (
    DECISIONS,
    SITUATIONS,
    Scenario,
    VoterCase,
    load_scenario,
    parse_scenario,
)
from simulation.training.scorecard import Score, score, scorecard_html

#: The scenarios shipped with the project.
SCENARIOS_DIR = __path__[0] + "/scenarios"

__all__ = [
    "DECISIONS",
    "SCENARIOS_DIR",
    "SITUATIONS",
    "DecisionRecord",
    "Prompt",
    "Scenario",
    "ScenarioError",
    "Score",
    "TrainingError",
    "VoterCase",
    "load_scenario",
    "parse_scenario",
    "run_scenario",
    "score",
    "scorecard_html",
]
