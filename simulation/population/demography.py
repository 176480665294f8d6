"""Sex and age of adult voters, and the draw of (sex, birth date) that keeps personal numbers unique.

Age structure: shares of the population aged 18 and over by 5-year band, rounded from the age pyramid of the 2022
population census published by the National Statistical Committee of the Kyrgyz Republic (stat.gov.kg). We could
not read the official table itself here, so the figures are our reading of the pyramid: take them as ±1 percentage
point per band. They keep the pyramid's known features: a young adult population, the large cohorts born in
1985-1992, the small ones born in the late 1990s, and few voters over 75.
Sex: women outnumber men from about 35 years on and are about twice as many at 80 (National Statistical Committee,
2015 demographic report), hence the female shares per band.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt

#: (first age, last age, share of adults in %, share of women).
AGE_BANDS: tuple[tuple[int, int, float, float], ...] = (
    (18, 19, 3.9, 0.49),
    (20, 24, 10.0, 0.49),
    (25, 29, 11.0, 0.49),
    (30, 34, 12.4, 0.495),
    (35, 39, 11.6, 0.505),
    (40, 44, 9.8, 0.51),
    (45, 49, 8.3, 0.52),
    (50, 54, 7.3, 0.53),
    (55, 59, 6.9, 0.545),
    (60, 64, 6.2, 0.56),
    (65, 69, 4.9, 0.58),
    (70, 74, 3.2, 0.61),
    (75, 79, 1.7, 0.64),
    (80, 84, 1.3, 0.67),
    (85, 100, 0.6, 0.70),
)

#: Voting age (years on election day).
VOTING_AGE = 18


def band_shares() -> dict[str, float]:
    """Share of adults per band, normalised to sum to 1, keyed "18-19", "20-24", ..."""
    total = sum(b[2] for b in AGE_BANDS)
    return {f"{lo}-{hi}": share / total for lo, hi, share, _f in AGE_BANDS}


def female_share() -> float:
    """Expected share of women among adults."""
    total = sum(b[2] for b in AGE_BANDS)
    return sum(share * f for _lo, _hi, share, f in AGE_BANDS) / total


def age_on(birth: date, day: date) -> int:
    """Age in whole years on ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True, eq=False)
class BirthCells:
    """Every (sex, birth date) a voter may have, ordered women first then by date, with its probability.

    ``strata`` splits the cells into equal-probability groups: voters whose personal numbers share a serial are put
    in different strata, so their (sex, birth date) differ and their PINs can never collide (see ``voters.py``).
    """

    first_day: date
    days: int
    cdf: npt.NDArray[np.float64]  # cumulative probability after each cell, last = 1
    strata_start: npt.NDArray[np.int64]  # first cell of each stratum
    strata_end: npt.NDArray[np.int64]  # one past the last cell of each stratum

    def draw(
        self, strata: npt.NDArray[np.int64], uniform: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
        """(is_female, birth day offsets from ``first_day``) for voters in ``strata``, drawn within each stratum by
        ``uniform`` in [0, 1)."""
        start, end = self.strata_start[strata], self.strata_end[strata]
        low = np.where(start > 0, self.cdf[np.maximum(start - 1, 0)], 0.0)
        high = self.cdf[end - 1]
        cells = np.searchsorted(self.cdf, low + uniform * (high - low), side="right")
        cells = np.clip(cells, start, end - 1)
        female = cells < self.days
        return female, np.where(female, cells, cells - self.days).astype(np.int64)

    def birth_date(self, offset: int) -> date:
        """The birth date ``offset`` days after ``first_day``."""
        return self.first_day + timedelta(days=int(offset))


@lru_cache(maxsize=8)
def birth_cells(election_day: date, strata: int) -> BirthCells:
    """The (sex, birth date) cells of voters on ``election_day`` split into ``strata`` equal-probability groups."""
    oldest = AGE_BANDS[-1][1]
    first = _years_before(election_day, oldest + 1) + timedelta(days=1)
    last = _years_before(election_day, VOTING_AGE)
    days = (last - first).days + 1
    ages = np.array([age_on(first + timedelta(days=i), election_day) for i in range(days)])
    female_mass = np.zeros(days)
    male_mass = np.zeros(days)
    for lo, hi, share, women in AGE_BANDS:
        in_band = (ages >= lo) & (ages <= hi)
        per_day = share / max(1, int(in_band.sum()))
        female_mass[in_band] = per_day * women
        male_mass[in_band] = per_day * (1.0 - women)
    mass = np.concatenate([female_mass, male_mass])
    cdf = np.cumsum(mass / mass.sum())
    cdf[-1] = 1.0
    middle = cdf - (mass / mass.sum()) / 2
    group = np.minimum((middle * strata).astype(np.int64), strata - 1)
    cells = np.arange(len(mass))
    starts = np.searchsorted(group, np.arange(strata), side="left")
    ends = np.searchsorted(group, np.arange(strata), side="right")
    if np.any(ends <= starts):
        raise ValueError(f"{strata} strata are too many for {len(cells)} birth cells")
    return BirthCells(first, days, cdf, starts.astype(np.int64), ends.astype(np.int64))
