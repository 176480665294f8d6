"""The training session's device events without a browser: a power cut closes the kit and the power button brings it
back with every identification kept; an unplugged scanner fails on the real driver and works again once plugged
back in; a voter nobody handled is scored as no decision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from simulation.training import parse_scenario
from simulation.training.devices import TrainingDevices
from simulation.training.kit import build_training_kit
from simulation.training.session import ScreenSession
from station.devices.errors import DeviceError
from station.identify import Path as KitPath
from station.identify import mark

SCENARIO = """
[training]
title = "Session test"
station = "1001"
seed = 1

[[voter]]
list_number = 5
situation = "normal"

[[voter]]
list_number = 6
situation = "power_cut"

[[voter]]
list_number = 8
situation = "scanner_unplugged"
"""


@pytest.mark.slow
def test_power_cut_and_unplugged_scanner_act_on_the_kit_and_its_devices(tmp_path: Path) -> None:
    scenario = parse_scenario(SCENARIO, "session-test.toml")
    files = build_training_kit(scenario, tmp_path / "kit")
    devices = TrainingDevices()
    devices.start()
    screens: list[Any] = []

    def make_screen(kit: Any) -> Any:
        screens.append(kit)
        return kit

    session = ScreenSession(scenario, files, devices, make_screen=make_screen)
    try:
        session.power_on()
        # 1. Nobody identifies the voter and the trainee takes no action: "none", scored wrong.
        session.begin_next()
        first = session.finish_current()
        assert (first.decision, first.correct, first.kit_outcome) == ("none", False, "no identification")

        # 2. Power cut: the kit is off (no screen); the power button restarts it from its store.
        state = session.begin_next()
        assert state is not None and not session.powered and session.screen is None
        mark_store = session.identified_count()
        answer = session.act("restart")
        assert session.powered and len(screens) == 2 and "0 of 0 identifications kept" in answer
        mark(session.kit.store, state.voter.personal_number, KitPath.FINGER, "trainee")
        second = session.finish_current()
        assert (second.decision, second.correct) == ("restart", True)
        assert "finger path" in second.kit_outcome and mark_store == 0

        # 3. The scanner's cable comes out: its driver fails; plugged back in, a new driver captures the finger.
        session.begin_next()
        assert not devices.scanner_plugged
        assert devices.scanner is not None
        with pytest.raises(DeviceError):
            devices.scanner.capture(1.0)
        session.act("plug_scanner")
        assert devices.scanner_plugged and session.kit.scanner is devices.scanner
        image = devices.scanner.capture(5.0)
        assert image.pixels.shape == (288, 256) and image.pixels.min() < 128  # a finger, not the blank window
        session.act("refuse")
        third = session.finish_current()
        assert (third.decision, third.correct) == ("refuse", False)
        assert session.finished
        assert "scanner: unplug -> unplugged" in devices.log.lines
    finally:
        session.stop()
