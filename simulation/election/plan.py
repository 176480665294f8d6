"""The day's plan: who is identified where and when, built before the run so a run is reproducible from its seed.

Voters come from the synthetic population (:mod:`simulation.population`): each station's list, its oblast and
district, and each voter's sex, birth date and personal number (the same numbers ``station_voters`` gives, computed
with its vectorised ``identity_keys`` so 2,500 stations plan in seconds). Arrivals follow the turnout curve of
:mod:`simulation.election.turnout`; each kit then serves its queue one voter at a time, so identifications at one kit
are never closer than a person can be identified.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import numpy as np
import numpy.typing as npt

from simulation.election.errors import ElectionSimError
from simulation.election.faults import FaultPlan, StationRef
from simulation.election.turnout import DAY_SECONDS, TURNOUT_SD, arrival_seconds, mean_turnout
from simulation.population import Country, PollingStation, format_pin, generate_country
from simulation.population.demography import BirthCells, birth_cells
from simulation.population.voters import identity_keys

#: Seconds one kit takes per voter (card, finger, slip): uniform in this range. About 60 voters per hour per kit
#: (the CEC server's MIN_SECONDS_PER_VOTER comment); the floor stays above its 15 s too-fast threshold.
SERVICE_S = (25.0, 70.0)
#: Kits per station are sized so the busiest hour's arrivals fit with this much spare capacity.
CAPACITY_MARGIN = 1.25
#: Most kits at one station (a large school with several rooms).
MAX_KITS = 12
#: Identification paths on the wire, and their assumed national shares. Assumption after Kenya's 2017 KIEMS
#: reports (most voters identified by fingerprint, a minority by card/ID search or typed number); each station's
#: shares scatter around these (Dirichlet with PATH_CONCENTRATION).
PATHS = ("biometric", "card", "manual")
PATH_SHARES = (0.82, 0.10, 0.08)
PATH_CONCENTRATION = 200.0
#: Reason codes for the manual path (the kit's FallbackReason values), with assumed shares.
FALLBACK_REASONS = ("worn_prints", "no_fingerprints", "injury", "device_fault", "card_unreadable")
FALLBACK_SHARES = (0.45, 0.1, 0.1, 0.15, 0.2)
#: Stuffing and double identifications use the fastest plausible reason: no fingerprints to check.
STUFFING_REASON = 1


@dataclass(frozen=True)
class SimKitPlan:
    """One simulated kit: its station and number, and the intervals (seconds after opening) it is offline."""

    station_id: str
    kit_id: str
    silent: bool = False
    offline: tuple[tuple[float, float], ...] = ()


@dataclass
class DayPlan:
    """Every identification of the day as parallel arrays sorted by time (struct of arrays: 1.5 M rows fit in tens
    of MB, where as many Python objects would not)."""

    country: Country
    stations: list[PollingStation]
    kits: list[SimKitPlan]
    #: Seconds after 07:00 local.
    times: npt.NDArray[np.float64]
    kit_index: npt.NDArray[np.int32]
    path: npt.NDArray[np.int8]
    reason: npt.NDArray[np.int8]
    female: npt.NDArray[np.bool_]
    birth_offset: npt.NDArray[np.int32]
    serial: npt.NDArray[np.int64]
    #: What the faults should make the CEC flag: {"kind", "station_id", "fault"}.
    injected: list[dict[str, str]] = field(default_factory=list)
    #: Identifications that did not happen because their station is silent (not sent, not expected at the CEC).
    dropped_silent: int = 0

    @property
    def election_day(self) -> date:
        """The day the population is drawn for."""
        return self.country.election_day

    @cached_property
    def _cells(self) -> BirthCells:
        return birth_cells(self.country.election_day, _strata(self.country))

    def pin(self, i: int) -> str:
        """Personal number of the voter of row ``i``."""
        cells = self._cells
        return format_pin("F" if self.female[i] else "M", cells.birth_date(int(self.birth_offset[i])),
                          int(self.serial[i]))

    def __len__(self) -> int:
        return int(self.times.size)


def _strata(country: Country) -> int:
    from simulation.population.voters import _strata as strata

    return strata(country)


def choose_stations(count: int, seed: int) -> tuple[Country, list[PollingStation]]:
    """``count`` stations from a synthetic country: spread evenly over the real-sized country, or a country of
    exactly ``count`` stations when more are asked for."""
    if count < 1:
        raise ElectionSimError("--stations must be 1 or more")
    country = generate_country(seed=seed)
    if count > len(country.stations):
        country = generate_country(seed=seed, stations=count)
        return country, list(country.stations)
    picks = np.linspace(0, len(country.stations) - 1, count).round().astype(int)
    return country, [country.stations[i] for i in sorted(set(picks.tolist()))]


def _resolve(ref: StationRef, stations: list[PollingStation]) -> PollingStation:
    if isinstance(ref, int):
        if ref >= len(stations):
            raise ElectionSimError(f"the fault file names station position {ref}, but only {len(stations)} stations "
                                   "are simulated: raise --stations or edit the file")
        return stations[ref]
    for s in stations:
        if s.number == ref:
            return s
    raise ElectionSimError(f"the fault file names station {ref}, which is not among the simulated stations")


def _serve(rng: np.random.Generator, arrivals: npt.NDArray[np.float64], kits: int) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.int32]]:
    """First-come first-served queue over ``kits`` kits: identification times and the kit of each voter."""
    free = [(0.0, k) for k in range(kits)]
    done = np.empty(arrivals.size)
    which = np.empty(arrivals.size, dtype=np.int32)
    service = rng.uniform(*SERVICE_S, size=arrivals.size)
    for i, arrival in enumerate(arrivals.tolist()):
        at, k = heapq.heappop(free)
        finish = max(at, arrival) + float(service[i])
        done[i], which[i] = finish, k
        heapq.heappush(free, (finish, k))
    return done, which


def build_plan(
    stations: int, faults: FaultPlan, seed: int = 1, voters_per_station: int | None = None
) -> DayPlan:
    """Plan the day for ``stations`` stations (list size from the population, or capped at ``voters_per_station``)."""
    country, chosen = choose_stations(stations, seed)
    strata = _strata(country)
    rng = np.random.default_rng([seed, 0xE1EC])
    silent_ids = {_resolve(f.station, chosen).number for f in faults.silent}
    offline: dict[tuple[str, str | None], list[tuple[float, float]]] = {}
    for f in faults.offline:
        offline.setdefault((_resolve(f.station, chosen).number, f.kit), []).append((f.start_s, f.end_s))
    cols: dict[str, list[npt.NDArray[np.generic]]] = {k: [] for k in
                                                       ("t", "k", "p", "r", "f", "b", "s")}
    kits: list[SimKitPlan] = []
    absent: dict[str, tuple[npt.NDArray[np.bool_], npt.NDArray[np.int32], npt.NDArray[np.int64]]] = {}
    voted: dict[str, tuple[bool, int, int]] = {}
    first_kit: dict[str, int] = {}
    dropped = 0
    for station in chosen:
        size = station.voters if voters_per_station is None else min(station.voters, voters_per_station)
        # The same uniform stream station_voters draws first: the same personal numbers as the population's lists.
        uniform = np.random.default_rng([country.seed, 0x7073, station.index]).random(station.voters)[:size]
        ordinals = station.first_ordinal + np.arange(size, dtype=np.int64)
        female, offsets, serials = identity_keys(country, ordinals, uniform)
        share = float(np.clip(rng.normal(mean_turnout(station.oblast_code), TURNOUT_SD), 0.05, 0.95))
        n = int(rng.binomial(size, share))
        order = rng.permutation(size)
        who, rest = order[:n], order[n:]
        # Arrivals stop one longest service before closing, so the last voter is identified by 20:00.
        arrivals = arrival_seconds(rng, n, station.oblast_code) * ((DAY_SECONDS - SERVICE_S[1]) / DAY_SECONDS)
        per_hour = np.bincount((arrivals // 3600).astype(int), minlength=13).max() if n else 0
        count = max(1, math.ceil(per_hour * sum(SERVICE_S) / 2 / 3600 * CAPACITY_MARGIN))
        while True:  # add a kit until the queue is served before closing (those in line at 20:00 still vote)
            done, which = _serve(rng, arrivals, count)
            if not n or done.max() < DAY_SECONDS or count >= MAX_KITS:
                break
            count += 1
        first_kit[station.number] = len(kits)
        silent = station.number in silent_ids
        for k in range(count):
            kit_id = str(k + 1)
            windows = tuple(offline.get((station.number, None), []) + offline.get((station.number, kit_id), []))
            kits.append(SimKitPlan(station.number, kit_id, silent=silent, offline=windows))
        absent[station.number] = (female[rest], offsets[rest].astype(np.int32), serials[rest])
        if n:
            voted[station.number] = (bool(female[who[0]]), int(offsets[who[0]]), int(serials[who[0]]))
        if silent:
            dropped += n
            continue
        weights = rng.dirichlet(np.array(PATH_SHARES) * PATH_CONCENTRATION)
        paths = rng.choice(len(PATHS), size=n, p=weights).astype(np.int8)
        reasons = np.where(paths == 2, rng.choice(len(FALLBACK_REASONS), size=n, p=FALLBACK_SHARES), -1)
        cols["t"].append(done)
        cols["k"].append((which + first_kit[station.number]).astype(np.int32))
        cols["p"].append(paths)
        cols["r"].append(reasons.astype(np.int8))
        cols["f"].append(female[who])
        cols["b"].append(offsets[who].astype(np.int32))
        cols["s"].append(serials[who])
    injected: list[dict[str, str]] = []
    for quiet in faults.silent:
        injected.append({"kind": "silent_station", "station_id": _resolve(quiet.station, chosen).number,
                         "fault": "silent"})
    for stuff in faults.stuffing:
        station = _resolve(stuff.station, chosen)
        fem, off, ser = absent[station.number]
        if not fem.size:
            raise ElectionSimError(f"station {station.number} has no absent voters to stuff ballots for")
        pick = np.arange(stuff.count) % fem.size  # names of voters who stayed home, as a stuffer would use
        cols["t"].append(stuff.start_s + np.arange(stuff.count) * stuff.interval_s)
        cols["k"].append(np.full(stuff.count, first_kit[station.number], dtype=np.int32))
        cols["p"].append(np.full(stuff.count, 2, dtype=np.int8))
        cols["r"].append(np.full(stuff.count, STUFFING_REASON, dtype=np.int8))
        cols["f"].append(fem[pick])
        cols["b"].append(off[pick])
        cols["s"].append(ser[pick])
        kinds = ["too_fast", "manual_burst"]
        if stuff.start_s + (stuff.count - 1) * stuff.interval_s >= DAY_SECONDS or stuff.start_s < 0:
            kinds.append("outside_hours")
        injected += [{"kind": kind, "station_id": station.number, "fault": "stuffing"} for kind in kinds]
    for same in faults.same_person:
        home, there = _resolve(same.voter_station, chosen), _resolve(same.at_station, chosen)
        if home.number not in voted:
            raise ElectionSimError(f"nobody voted at station {home.number}; pick another voter_station")
        fem1, off1, ser1 = voted[home.number]
        cols["t"].append(np.array([same.at_s]))
        cols["k"].append(np.array([first_kit[there.number]], dtype=np.int32))
        cols["p"].append(np.array([1], dtype=np.int8))
        cols["r"].append(np.array([-1], dtype=np.int8))
        cols["f"].append(np.array([fem1]))
        cols["b"].append(np.array([off1], dtype=np.int32))
        cols["s"].append(np.array([ser1], dtype=np.int64))
        injected.append({"kind": "same_person_twice", "station_id": there.number, "fault": "same_person",
                         "also": home.number})
    times = np.concatenate(cols["t"]) if cols["t"] else np.empty(0)
    order = np.argsort(times, kind="stable")
    def _cat(key: str, dtype: type) -> npt.NDArray[np.generic]:
        if not cols[key]:
            return np.empty(0, dtype=dtype)
        return np.concatenate(cols[key]).astype(dtype)[order]

    del strata
    return DayPlan(
        country=country, stations=chosen, kits=kits, times=times[order],
        kit_index=_cat("k", np.int32), path=_cat("p", np.int8), reason=_cat("r", np.int8),  # type: ignore[arg-type]
        female=_cat("f", np.bool_), birth_offset=_cat("b", np.int32), serial=_cat("s", np.int64),  # type: ignore[arg-type]
        injected=injected, dropped_silent=dropped,
    )
