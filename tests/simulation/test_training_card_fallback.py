"""When the machine cannot provide the training kit's card reader (no vpcd driver, no pcscd, no permission) or its
training CEC, the session does not fail: it says why, and the card and network situations are told to the trainee
on the trainer's page as before, with that reason; decisions are still read and scored."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulators.card import pcscd
from emulators.card.personalisation import make_test_pki
from simulation.training import parse_scenario
from simulation.training.devices import TrainingCardReader, TrainingDevices
from simulation.training.kit import build_training_kit
from simulation.training.runner import SIGNS
from simulation.training.session import ScreenSession

SCENARIO = """
[training]
title = "Fallback test"
station = "1001"
seed = 1

[[voter]]
list_number = 3
situation = "card_unreadable"

[[voter]]
list_number = 2
situation = "forged_card"

[[voter]]
list_number = 7
situation = "network_down"
"""


def test_no_vpcd_driver_means_no_reader_and_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pcscd, "VPCD_DRIVER", tmp_path / "libifdvpcd.so")
    card = TrainingCardReader(make_test_pki(label="TRAINING"))
    why = card.start()
    assert why is not None and "vpcd" in why and "apt-get install" in why
    assert card.reader is None and card.station is None
    card.put(None)  # nothing to do, nothing raised
    card.stop()


@pytest.mark.slow
def test_card_and_network_situations_are_told_when_the_kit_has_neither(tmp_path: Path) -> None:
    scenario = parse_scenario(SCENARIO, "fallback-test.toml")
    files = build_training_kit(scenario, tmp_path / "kit")
    assert files.card_pki is not None and (tmp_path / "kit" / "training-csca.pem").read_bytes().startswith(b"-----")
    devices = TrainingDevices()
    devices.start()
    session = ScreenSession(scenario, files, devices, make_screen=lambda kit: kit,
                            card_missing="pcscd is not installed on this machine", link_missing="no training CEC")
    try:
        session.power_on()
        assert session.kit.card_reader is None and session.kit.link is None
        told = []
        for action in ("refuse", "refuse", None):
            session.begin_next()
            told.append(session.signs())
            if action:
                session.act(action)
            session.finish_current()
        assert told[0] == f"{SIGNS['card_unreadable']} (Told here: pcscd is not installed on this machine.)"
        assert told[1] == f"{SIGNS['forged_card']} (Told here: pcscd is not installed on this machine.)"
        assert told[2] == f"{SIGNS['network_down']} (Told here: no training CEC.)"
        scored = [(r.case.situation, r.decision, r.correct) for r in session.records]
        assert scored == [("card_unreadable", "refuse", False), ("forged_card", "refuse", True),
                          ("network_down", "none", False)]
        assert session.link_summary() == ""
        assert not any("CEC link" in line for line in session.events())
    finally:
        session.stop()
