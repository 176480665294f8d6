"""The day's plan: voters from the population, the turnout curve, kits never faster than a person, the faults."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulation.election import (
    DEFAULT_FAULTS,
    DayPlan,
    ElectionSimError,
    FaultPlan,
    build_plan,
    load_faults,
    parse_faults,
)
from simulation.election.plan import SERVICE_S
from simulation.election.turnout import DAY_SECONDS, hourly_weights
from simulation.population import station_voters


@pytest.fixture(scope="module")
def plan() -> DayPlan:
    return build_plan(12, load_faults(Path(DEFAULT_FAULTS)), seed=3)


def test_rows_sorted_and_voters_are_the_populations(plan: DayPlan) -> None:
    assert len(plan) > 1000
    assert np.all(np.diff(plan.times) >= 0)
    # Personal numbers are the population's own: every normal identification is of a voter on its station's list.
    station = plan.stations[0]
    on_list = {v.personal_number for v in station_voters(plan.country, station)}
    rows = [i for i in range(len(plan)) if plan.kits[plan.kit_index[i]].station_id == station.number]
    assert rows and all(plan.pin(i) in on_list for i in rows)
    assert len({plan.pin(i) for i in rows}) == len(rows)  # nobody twice at their own station


def test_kits_are_never_faster_than_a_person_during_the_day(plan: DayPlan) -> None:
    stuffed = {i["station_id"] for i in plan.injected if i["fault"] == "stuffing"}
    doubled = {i["station_id"] for i in plan.injected if i["fault"] == "same_person"}
    for k, kit in enumerate(plan.kits):
        if kit.station_id in stuffed | doubled:
            continue
        times = plan.times[plan.kit_index == k]
        if times.size > 1:
            assert np.diff(times).min() >= SERVICE_S[0] - 1e-6
        if times.size:
            assert times.max() < DAY_SECONDS  # nobody identified after closing at honest stations


def test_curve_has_morning_peak_lunch_dip_and_city_evening_rise() -> None:
    rural, city = hourly_weights("naryn"), hourly_weights("bishkek")
    assert rural.sum() == pytest.approx(1.0) and city.sum() == pytest.approx(1.0)
    assert rural[2:4].max() > rural[6] < rural[9]  # peak 09-11, dip 13, rise 16
    assert city[9:12].sum() > rural[9:12].sum()  # cities vote more after work


def test_faults_shape_the_plan(plan: DayPlan) -> None:
    kinds = {(i["kind"], i["fault"]) for i in plan.injected}
    assert kinds == {("silent_station", "silent"), ("too_fast", "stuffing"), ("manual_burst", "stuffing"),
                     ("outside_hours", "stuffing"), ("same_person_twice", "same_person")}
    silent = next(i["station_id"] for i in plan.injected if i["fault"] == "silent")
    silent_kits = [k for k, kit in enumerate(plan.kits) if kit.station_id == silent]
    assert all(plan.kits[k].silent for k in silent_kits)
    assert not np.isin(plan.kit_index, silent_kits).any() and plan.dropped_silent > 0
    assert plan.kits[0].offline == ((3 * 3600.0, 6 * 3600.0),)
    stuffed = next(i["station_id"] for i in plan.injected if i["fault"] == "stuffing")
    late = plan.times >= DAY_SECONDS
    assert late.sum() == 300
    assert {plan.kits[k].station_id for k in plan.kit_index[late]} == {stuffed}
    assert (plan.path[late] == 2).all()
    same = next(i for i in plan.injected if i["fault"] == "same_person")
    pins_home = {plan.pin(i) for i in range(len(plan)) if plan.kits[plan.kit_index[i]].station_id == same["also"]}
    pins_there = {plan.pin(i) for i in range(len(plan)) if plan.kits[plan.kit_index[i]].station_id == same["station_id"]}
    assert len(pins_home & pins_there) == 1


def test_same_seed_same_day() -> None:
    a = build_plan(3, FaultPlan(), seed=9, voters_per_station=100)
    b = build_plan(3, FaultPlan(), seed=9, voters_per_station=100)
    assert np.array_equal(a.times, b.times) and np.array_equal(a.serial, b.serial)


def test_fault_outside_the_simulated_stations_is_refused() -> None:
    with pytest.raises(ElectionSimError, match="only 3 stations"):
        build_plan(3, parse_faults("[[silent]]\nstation = 5\n"), voters_per_station=50)
