"""When voters come: a turnout curve by hour (07:00-20:00 local) with regional variation.

Assumption, stated because no hourly per-station series is published: the CEC of the Kyrgyz Republic publishes
cumulative turnout at fixed hours on election day (10:00, 12:00, 14:00, 16:00, 18:00, 20:00), and those reports show
the same shape every election: a morning peak (10:00-12:00), a lunchtime dip, and an evening rise, with lower final
turnout and a later, larger evening share in the two cities than in the rural oblasts. The weights and turnout levels
below are this project's own assumptions shaped after that pattern, not published figures.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Polls open and close (local time, Bishkek UTC+6), hours.
OPENING_HOUR = 7
CLOSING_HOUR = 20
DAY_SECONDS = (CLOSING_HOUR - OPENING_HOUR) * 3600

#: Relative arrivals per hour 07..19 in rural oblasts: morning peak at 09-11, dip at 13-14, a small evening rise.
_RURAL = (0.045, 0.085, 0.115, 0.115, 0.095, 0.075, 0.065, 0.07, 0.075, 0.08, 0.075, 0.06, 0.045)
#: Cities (Bishkek, Osh): later start, working people vote after work, so a larger evening rise.
_CITY = (0.03, 0.06, 0.085, 0.095, 0.085, 0.075, 0.07, 0.075, 0.085, 0.095, 0.1, 0.085, 0.06)
#: Population codes of the two cities of republican significance.
CITY_CODES = ("bishkek", "osh_city")
#: Mean final turnout (share of the list) by kind of area; station turnout scatters around it (SD TURNOUT_SD).
CITY_TURNOUT = 0.33
RURAL_TURNOUT = 0.45
TURNOUT_SD = 0.04


def hourly_weights(oblast_code: str) -> npt.NDArray[np.float64]:
    """Share of the day's voters arriving in each hour 07:00..19:00 (13 values summing to 1)."""
    weights = np.array(_CITY if oblast_code in CITY_CODES else _RURAL, dtype=np.float64)
    return weights / weights.sum()


def mean_turnout(oblast_code: str) -> float:
    """Expected share of the list that votes in this oblast."""
    return CITY_TURNOUT if oblast_code in CITY_CODES else RURAL_TURNOUT


def arrival_seconds(rng: np.random.Generator, count: int, oblast_code: str) -> npt.NDArray[np.float64]:
    """``count`` arrival times in seconds after opening, sorted: an hour drawn from the curve, uniform inside it."""
    hours = rng.choice(len(_RURAL), size=count, p=hourly_weights(oblast_code))
    return np.sort(hours * 3600.0 + rng.random(count) * 3600.0)
