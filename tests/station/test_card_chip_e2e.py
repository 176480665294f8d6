"""Card, then finger, with the real card stack: an emulated eMRTD chip on vpcd through a real pcscd, BAC and passive
authentication, then the R307 emulator and the fingerprint engine; card-to-identified time measured."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from shailoo.settings import fingerprint_data_dir
from tests.station.conftest import ELECTION, STATION, national_list

DB = fingerprint_data_dir() / "FVC2002" / "DB1_B"
READER = "Virtual PCD 00 00"
pytestmark = [
    pytest.mark.pcsc,
    pytest.mark.data,
    pytest.mark.skipif(not DB.exists(), reason=f"FVC2002 DB1_B not found in {DB}"),
]


@pytest.fixture(scope="module")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from emulators.card.pcscd import PcscDaemon, missing_card_stack

    if (why := missing_card_stack()) is not None:
        pytest.skip(why)
    daemon = PcscDaemon(log_path=tmp_path_factory.mktemp("pcscd") / "pcscd.log")
    daemon.start(READER)
    yield daemon
    daemon.stop()


def test_card_chip_then_finger_identifies(pcscd: object, tmp_path: Path) -> None:
    from emulators.card.personalisation import CardHolder
    from emulators.images import load_grey
    from emulators.r30x import R30xEmulator
    from fingerprint import dumps
    from fingerprint.extract import extract
    from station.devices.card import CardInserted, parse_mrz
    from station.devices.profiles import load_scanner_profile
    from station.devices.r30x import R30xScanner
    from station.devices.urls import open_device
    from station.gallery import Gallery
    from station.list_package import (
        build_package,
        generate_cec_keys,
        load_cec_public,
        load_cec_signing_key,
        load_list_key,
        load_package,
    )
    from station.matching import EngineMatcher
    from station.store import KitStore
    from station.workflow import CardFingerFlow, State
    from station.workflow.chip_card import ChipCardReader

    holder = CardHolder()
    voters = national_list()
    voters[0] = replace(voters[0], personal_number=holder.personal_number, birth_date=date(1990, 2, 15),
                        templates={1: dumps(extract(load_grey(DB / "101_1.tif"), 500).template)})
    signing, public, list_key = generate_cec_keys(tmp_path / "cec")
    data = build_package(voters, ELECTION, STATION, load_cec_signing_key(signing), load_list_key(list_key))
    store = KitStore(tmp_path / "kit.db")
    store.set_kit_info(ELECTION, STATION, "1")
    load_package(store, data, load_cec_public(public), load_list_key(list_key))
    gallery = Gallery(store, load_list_key(list_key))
    device = open_device("emulated://emrtd")
    probe = load_grey(DB / "101_2.tif")
    try:
        station = device.emulator
        reader = ChipCardReader(device, lambda: parse_mrz(station.files.mrz))  # type: ignore[arg-type]
        station.insert()
        # Wait until pcscd reports the card, as the kit's screen does before it offers "read card".
        deadline = time.monotonic() + 10
        while not isinstance(device.events.get(timeout=10), CardInserted):  # type: ignore[attr-defined]
            assert time.monotonic() < deadline, "the emulated card never appeared on the reader"
        with R30xEmulator("r307", images=lambda: probe) as emu:
            scanner = R30xScanner(emu.path, load_scanner_profile("r307"))
            scanner.open()
            try:
                faults = []
                for _attempt in range(3):
                    # On a loaded machine a read can time out; the operator then presses "read card" again, which
                    # starts a new flow (a device fault is final for its flow).
                    started = time.perf_counter()
                    flow = CardFingerFlow(store, None, "op1", scanner=scanner, matcher=EngineMatcher(),
                                          gallery=gallery)
                    flow.start()
                    flow.read_card(reader)
                    if flow.state is not State.DEVICE_FAULT:
                        break
                    faults.append(flow.message)
                    time.sleep(0.5)
                assert flow.state is State.AWAIT_FINGER, (flow.message, faults)
                flow.capture(timeout_s=5)
                assert flow.state is State.CONFIRM, flow.message
                flow.confirm()
                elapsed_ms = (time.perf_counter() - started) * 1000
            finally:
                scanner.close()
        assert flow.state is State.PRINT_FAILED  # no printer on this kit: identified, slip pending a reprint
        assert flow.record is not None and flow.record.personal_number == holder.personal_number
        assert flow.photo  # the list's photo, or the chip's DG2 face
        print(f"card (chip read) -> identified: {elapsed_ms:.0f} ms")
        assert np.isfinite(elapsed_ms)
    finally:
        device.close()
        store.close()
