"""Scripted faults of an election-day rehearsal, read from a TOML file a trainer or analyst can edit.

Format (times are local ``HH:MM``; ``station`` is either an integer, the position of the station among the
simulated ones so a file works for any ``--stations``, or a quoted four-digit station number)::

    [[offline]]            # a kit loses its network, keeps identifying, then reconnects and delivers in order
    station = 0
    kit = "1"              # optional: every kit of the station when absent
    from = "10:00"
    until = "12:30"

    [[silent]]             # a station whose kits never reach the CEC all day
    station = 5

    [[stuffing]]           # ballot stuffing: typed (manual) identifications, faster than a person, after closing
    station = 3
    at = "20:10"
    count = 300
    interval_s = 4

    [[same_person]]        # one voter of a station identified again at another station
    voter_station = 1
    at_station = 2
    at = "15:00"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulation import toml_files
from simulation.election.errors import FaultFileError
from simulation.election.turnout import OPENING_HOUR

StationRef = int | str

_TIME_RE = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_STATION_RE = re.compile(r"\d{4}")


@dataclass(frozen=True)
class Offline:
    """Kits of ``station`` (or only ``kit``) cannot reach the CEC between ``start_s`` and ``end_s``."""

    station: StationRef
    kit: str | None
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Silent:
    """No kit of ``station`` ever reaches the CEC."""

    station: StationRef


@dataclass(frozen=True)
class Stuffing:
    """``count`` manual identifications at ``station`` every ``interval_s`` seconds from ``start_s``."""

    station: StationRef
    start_s: float
    count: int
    interval_s: float


@dataclass(frozen=True)
class SamePerson:
    """A voter who voted at ``voter_station`` is identified again at ``at_station`` at ``at_s``."""

    voter_station: StationRef
    at_station: StationRef
    at_s: float


@dataclass(frozen=True)
class FaultPlan:
    """Every scripted fault of one run. Times are seconds after opening (07:00 local); negative is before."""

    offline: tuple[Offline, ...] = ()
    silent: tuple[Silent, ...] = ()
    stuffing: tuple[Stuffing, ...] = ()
    same_person: tuple[SamePerson, ...] = field(default_factory=tuple)


_KNOWN: dict[str, set[str]] = {
    "offline": {"station", "kit", "from", "until"},
    "silent": {"station"},
    "stuffing": {"station", "at", "count", "interval_s"},
    "same_person": {"voter_station", "at_station", "at"},
}


def load_faults(path: Path) -> FaultPlan:
    """Read a fault file; :class:`FaultFileError` names the file, entry and field of anything wrong."""
    return parse_faults(toml_files.read_text(path, "fault file", FaultFileError), str(path))


def parse_faults(text: str, source: str = "<faults>") -> FaultPlan:
    """Parse the TOML text of a fault file (see the module docstring for the format)."""
    doc = toml_files.parse(text, source, FaultFileError)
    unknown = set(doc) - set(_KNOWN)
    if unknown:
        raise FaultFileError(f"{source}: unknown section(s) {sorted(unknown)}; known: {sorted(_KNOWN)}")
    entries: dict[str, list[dict[str, Any]]] = {}
    for kind in _KNOWN:
        raw = doc.get(kind, [])
        if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
            raise FaultFileError(f"{source}: [[{kind}]] must be an array of tables (write [[{kind}]], not [{kind}])")
        for i, entry in enumerate(raw):
            extra = set(entry) - _KNOWN[kind]
            if extra:
                raise FaultFileError(f"{source}: [[{kind}]] #{i + 1}: unknown field(s) {sorted(extra)}")
        entries[kind] = raw
    offline = []
    for i, e in enumerate(entries["offline"]):
        where = f"{source}: [[offline]] #{i + 1}"
        start, end = _time(e, "from", where), _time(e, "until", where)
        if end <= start:
            raise FaultFileError(f"{where}: 'until' must be after 'from'")
        kit = e.get("kit")
        if kit is not None and not isinstance(kit, str):
            raise FaultFileError(f"{where}: 'kit' must be a quoted kit number such as \"1\"")
        offline.append(Offline(_station(e, "station", where), kit, start, end))
    silent = [Silent(_station(e, "station", f"{source}: [[silent]] #{i + 1}")) for i, e in enumerate(entries["silent"])]
    stuffing = []
    for i, e in enumerate(entries["stuffing"]):
        where = f"{source}: [[stuffing]] #{i + 1}"
        count = _number(e, "count", where, int, 1, 100_000)
        interval = _number(e, "interval_s", where, (int, float), 0.5, 3600)
        stuffing.append(Stuffing(_station(e, "station", where), _time(e, "at", where), int(count), float(interval)))
    same = []
    for i, e in enumerate(entries["same_person"]):
        where = f"{source}: [[same_person]] #{i + 1}"
        a, b = _station(e, "voter_station", where), _station(e, "at_station", where)
        if a == b:
            raise FaultFileError(f"{where}: 'voter_station' and 'at_station' must differ")
        same.append(SamePerson(a, b, _time(e, "at", where)))
    return FaultPlan(tuple(offline), tuple(silent), tuple(stuffing), tuple(same))


def _time(entry: dict[str, Any], key: str, where: str) -> float:
    value = entry.get(key)
    if not isinstance(value, str) or not _TIME_RE.fullmatch(value):
        raise FaultFileError(f"{where}: '{key}' must be a local time \"HH:MM\", got {value!r}")
    hours, minutes = int(value[:2]), int(value[3:])
    return float((hours - OPENING_HOUR) * 3600 + minutes * 60)


def _station(entry: dict[str, Any], key: str, where: str) -> StationRef:
    value = entry.get(key)
    if isinstance(value, bool) or value is None:
        raise FaultFileError(f"{where}: '{key}' is required (a station position such as 0 or a number like \"1001\")")
    if isinstance(value, int):
        if value < 0:
            raise FaultFileError(f"{where}: '{key}' position must be 0 or more")
        return value
    if isinstance(value, str) and _STATION_RE.fullmatch(value):
        return value
    raise FaultFileError(f"{where}: '{key}' must be a position (0, 1, ...) or a four-digit number, got {value!r}")


def _number(entry: dict[str, Any], key: str, where: str, kind: Any, low: float, high: float) -> float:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        raise FaultFileError(f"{where}: '{key}' must be a number from {low} to {high}, got {value!r}")
    return float(value)
