"""The country's polling stations: numbers, places and list sizes, deterministic from a seed.

About 2,500 stations (2,492 at home in 2025) of 1,000 to 3,000 voters each, spread over oblasts by their share of
the national voter list and over districts by population. The layout is small (one record per station) and is
built whole; voters are generated a station at a time (``voters.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from simulation.population.errors import PopulationError
from simulation.population.geography import OBLASTS, STATION_BUILDINGS, STREETS, District, Oblast

#: Domestic polling stations at the 30 November 2025 parliamentary election (CEC).
REAL_STATION_COUNT = 2492
#: Smallest and largest station list (voters); the national mean was about 1,720 in 2025 (4,294,243 / 2,492).
MIN_VOTERS = 1000
MAX_VOTERS = 3000
#: Beta(a, b) shape of (voters - MIN) / (MAX - MIN): mean a / (a + b) = 0.36, i.e. about 1,720 voters.
_SIZE_SHAPE = (2.0, 3.55)
#: The election the population is drawn for: ages are counted on this day.
DEFAULT_ELECTION_DAY = date(2025, 11, 30)


@dataclass(frozen=True, slots=True)
class PollingStation:
    """One polling station: 4-digit number, where it is, how many voters are on its list.

    ``first_ordinal`` is the national ordinal of its voter number 1: ordinals number every voter of the country
    once, which is what keeps personal numbers and card numbers unique without building the whole country.
    """

    index: int
    number: str
    oblast_code: str
    oblast: str
    district: str
    settlement: str
    address: str
    voters: int
    first_ordinal: int


@dataclass(frozen=True, eq=False)
class Country:
    """Every polling station of a synthetic country, and the seed and election day its voters are drawn for."""

    seed: int
    election_day: date
    stations: tuple[PollingStation, ...]

    @property
    def total_voters(self) -> int:
        """Voters on all lists."""
        last = self.stations[-1]
        return last.first_ordinal + last.voters

    def station(self, number: str) -> PollingStation:
        """The station with ``number``; :class:`PopulationError` if there is none."""
        for station in self.stations:
            if station.number == number:
                return station
        raise PopulationError(f"no polling station {number!r} in this synthetic country; see `shailoo sim population`")


def _largest_remainder(weights: list[float], total: int, minimum: int = 0) -> list[int]:
    """``total`` split in proportion to ``weights`` (Hamilton's method), each part at least ``minimum``."""
    spare = total - minimum * len(weights)
    exact = [w / sum(weights) * spare for w in weights]
    parts = [math.floor(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - parts[i], reverse=True)
    for i in order[: spare - sum(parts)]:
        parts[i] += 1
    return [p + minimum for p in parts]


def generate_country(
    seed: int = 1, stations: int = REAL_STATION_COUNT, election_day: date = DEFAULT_ELECTION_DAY
) -> Country:
    """The polling stations of a synthetic Kyrgyzstan; the same arguments always give the same country."""
    if seed < 0:
        raise PopulationError(f"seed must be 0 or more, not {seed}")
    # Every oblast gets at least as many stations as the oblast with most districts has districts.
    floor = max(len(o.districts) for o in OBLASTS)
    if not floor * len(OBLASTS) <= stations <= 8000:
        raise PopulationError(f"station count must be between {floor * len(OBLASTS)} and 8000, not {stations}")
    rng = np.random.default_rng([seed, 0x57A7])
    per_oblast = _largest_remainder([o.voter_share for o in OBLASTS], stations, minimum=floor)
    out: list[PollingStation] = []
    ordinal = 0
    for oblast, count in zip(OBLASTS, per_oblast, strict=True):
        if count > 999:
            raise PopulationError(f"{count} stations in {oblast.name} do not fit 4-digit numbers; ask for fewer")
        per_district = _largest_remainder([d.weight for d in oblast.districts], count, minimum=1)
        serial = 0
        for district, n in zip(oblast.districts, per_district, strict=True):
            for _ in range(n):
                serial += 1
                station = _station(rng, len(out), oblast, district, serial, ordinal)
                out.append(station)
                ordinal += station.voters
    return Country(seed, election_day, tuple(out))


def _station(
    rng: np.random.Generator, index: int, oblast: Oblast, district: District, serial: int, ordinal: int
) -> PollingStation:
    settlement = district.settlements[int(rng.integers(len(district.settlements)))]
    street = STREETS[int(rng.integers(len(STREETS)))]
    building = STATION_BUILDINGS[int(rng.integers(len(STATION_BUILDINGS)))]
    number = f"{oblast.station_prefix}{serial:03d}"
    voters = MIN_VOTERS + int(round((MAX_VOTERS - MIN_VOTERS) * rng.beta(*_SIZE_SHAPE)))
    where = settlement if settlement.startswith("г.") and oblast.name == settlement else f"{oblast.name}, {settlement}"
    address = f"{where}, {street}, {int(rng.integers(1, 120))} ({building})"
    return PollingStation(
        index=index,
        number=number,
        oblast_code=oblast.code,
        oblast=oblast.name,
        district=district.name,
        settlement=settlement,
        address=address,
        voters=voters,
        first_ordinal=ordinal,
    )
