"""Training scenarios: a queue of voters, each with a situation the trainee must handle, in a TOML file trainers edit.

Format (documented for trainers in ``simulation/training/README.md``)::

    [training]
    title = "Morning with faults"
    station = "1001"          # the population station whose list the training kit loads
    seed = 1                  # the synthetic country's seed

    [[voter]]
    list_number = 12          # the voter of the station's list who comes to the table
    situation = "worn_finger" # what happens (SITUATIONS)
    expect = ["card_photo", "manual:worn_prints"]   # optional: correct decisions (default: by situation)
    note = "an elderly farmer"                       # optional: shown on the scorecard
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulation import toml_files
from simulation.training.errors import ScenarioError

#: Situation -> the decisions a well-trained operator may take (Shailoo ID operator procedure).
SITUATIONS: dict[str, tuple[str, ...]] = {
    "normal": ("card_finger", "finger"),
    # Worn ridges do not match: confirm by the card's photo, or the supervised typed fallback.
    "worn_finger": ("card_photo", "manual:worn_prints"),
    # The chip does not answer: the finger alone still identifies, or typed with the reason.
    "card_unreadable": ("finger", "manual:card_unreadable"),
    # On another station's list: send the voter to their own station (the kit finds nobody here).
    "wrong_station": ("redirect",),
    # Identified earlier today: no second ballot.
    "already_voted": ("refuse",),
    # The chip's passive authentication fails or the photo is not the person: no ballot, call the chair.
    "forged_card": ("refuse",),
    # The scanner is unplugged while the voter is at the table: card photo or typed with device_fault.
    "scanner_unplugged": ("card_photo", "manual:device_fault"),
    # The printer runs out of paper after the identification: load paper and reprint the slip.
    "paper_out": ("reload_paper",),
    # The network is down: the kit keeps identifying, the outbox sends later. Stopping is the error.
    "network_down": ("card_finger", "finger"),
    # Power cut mid-identification: restart the kit; the store kept everything; then identify as usual.
    "power_cut": ("restart",),
}

#: Every decision a trainee can take.
DECISIONS = ("card_finger", "finger", "card_photo", "manual:worn_prints", "manual:no_fingerprints", "manual:injury",
             "manual:device_fault", "manual:card_unreadable", "refuse", "redirect", "reload_paper", "restart")

_FIELDS = {"list_number", "situation", "expect", "note"}


@dataclass(frozen=True)
class VoterCase:
    """One voter of the queue: who comes, what happens, what the trainee should decide."""

    position: int
    list_number: int
    situation: str
    expect: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class Scenario:
    """A whole training session."""

    title: str
    station: str
    seed: int
    voters: tuple[VoterCase, ...]
    source: str = ""

    @property
    def election_id(self) -> str:
        """The training election id: a real election's kits and server refuse it."""
        return f"TRAINING-{self.station}"


def load_scenario(path: Path) -> Scenario:
    """Read a scenario file; :class:`ScenarioError` says what to fix."""
    return parse_scenario(toml_files.read_text(path, "scenario", ScenarioError), str(path))


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Parse a scenario's TOML text."""
    doc = toml_files.parse(text, source, ScenarioError)
    extra = set(doc) - {"training", "voter"}
    if extra:
        raise ScenarioError(f"{source}: unknown section(s) {sorted(extra)}; a scenario has [training] and [[voter]]")
    head = doc.get("training")
    if not isinstance(head, dict):
        raise ScenarioError(f"{source}: the [training] section (title, station, seed) is missing")
    title = head.get("title")
    station = head.get("station")
    seed = head.get("seed", 1)
    if not isinstance(title, str) or not title.strip():
        raise ScenarioError(f"{source}: [training] needs a title")
    if not isinstance(station, str) or not (station.isdigit() and len(station) == 4):
        raise ScenarioError(f"{source}: [training] station must be a quoted four-digit number such as \"1001\"")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ScenarioError(f"{source}: [training] seed must be a whole number, 0 or more")
    raw = doc.get("voter", [])
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(f"{source}: the queue is empty: add [[voter]] entries")
    voters = [_voter(entry, i, source) for i, entry in enumerate(raw)]
    return Scenario(title=title.strip(), station=station, seed=seed, voters=tuple(voters), source=source)


def _voter(entry: Any, i: int, source: str) -> VoterCase:
    where = f"{source}: [[voter]] #{i + 1}"
    if not isinstance(entry, dict):
        raise ScenarioError(f"{where}: write [[voter]], not [voter]")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ScenarioError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(_FIELDS)}")
    number = entry.get("list_number")
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise ScenarioError(f"{where}: list_number must be the voter's number on the list (1, 2, ...)")
    situation = entry.get("situation", "normal")
    if situation not in SITUATIONS:
        raise ScenarioError(f"{where}: unknown situation {situation!r}; choose one of {sorted(SITUATIONS)}")
    expect = entry.get("expect", list(SITUATIONS[situation]))
    if isinstance(expect, str):
        expect = [expect]
    if not isinstance(expect, list) or not expect or any(d not in DECISIONS for d in expect):
        raise ScenarioError(f"{where}: expect must list decisions from {list(DECISIONS)}, got {expect!r}")
    note = entry.get("note", "")
    if not isinstance(note, str):
        raise ScenarioError(f"{where}: note must be text")
    return VoterCase(position=i + 1, list_number=number, situation=situation, expect=tuple(expect), note=note)
