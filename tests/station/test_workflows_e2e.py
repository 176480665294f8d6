"""The identification paths end to end: R307 scanner emulator on a real pty, ESC/POS printer emulator on a pty,
real FVC2002 fingerprints, the real extractor and matcher, the signed list package, the kit store.

The card reader is an in-process ``CardData`` hand-over here (the chip stack is tested in tests/devices).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from emulators.images import load_grey
from emulators.printer import PrinterEmulator
from emulators.r30x import R30xEmulator
from fingerprint import dumps
from fingerprint.extract import extract
from shailoo.settings import fingerprint_data_dir
from station.counters import counters
from station.devices.printer import EscPosPrinter
from station.devices.profiles import load_printer_profile, load_scanner_profile
from station.devices.r30x import R30xScanner
from station.gallery import Gallery
from station.identify import FallbackReason, Outcome
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
from station.workflow import CardData, CardFingerFlow, FingerOnlyFlow, ManualFlow, State, reprint
from tests.station.conftest import ELECTION, STATION, national_list

DB = fingerprint_data_dir() / "FVC2002" / "DB1_B"
pytestmark = [
    pytest.mark.data,
    pytest.mark.skipif(not DB.exists(), reason=f"FVC2002 DB1_B not found in {DB} (set SHAILOO_FINGERPRINT_DATA)"),
]
BLANK = np.full((288, 256), 255, np.uint8)


def _img(subject: int, impression: int) -> np.ndarray:
    return load_grey(DB / f"{subject}_{impression}.tif")


def _template(subject: int, impression: int) -> bytes:
    return dumps(extract(_img(subject, impression), 500).template)


class Feed:
    """What the finger on the emulated scanner is: the test sets the next images."""

    def __init__(self) -> None:
        self.queue: list[np.ndarray] = []

    def __call__(self) -> np.ndarray:
        return self.queue.pop(0) if self.queue else BLANK


@dataclass
class Kit:
    store: KitStore
    gallery: Gallery
    matcher: EngineMatcher
    scanner: R30xScanner
    printer: EscPosPrinter
    scanner_emu: R30xEmulator
    printer_emu: PrinterEmulator
    feed: Feed
    pins: list[str]


@pytest.fixture(scope="module")
def enrolled() -> list:
    # Voters 0..4 of station 3152 enrolled with impressions 1 and 3 of FVC subjects 101..105 (fingers 1 and 2).
    voters = [v for v in national_list() if v.station_id == STATION]
    out = []
    for i, v in enumerate(voters):
        templates = {1: _template(101 + i, 1), 2: _template(101 + i, 3)} if i < 4 else {}
        out.append(replace(v, templates=templates))
    return out + [v for v in national_list() if v.station_id != STATION]


@pytest.fixture
def kit(tmp_path: Path, enrolled: list) -> Iterator[Kit]:
    signing, public, list_key = generate_cec_keys(tmp_path / "cec")
    data = build_package(enrolled, ELECTION, STATION, load_cec_signing_key(signing), load_list_key(list_key))
    store = KitStore(tmp_path / "kit.db")
    store.set_kit_info(ELECTION, STATION, "1")
    load_package(store, data, load_cec_public(public), load_list_key(list_key))
    gallery = Gallery(store, load_list_key(list_key))
    matcher = EngineMatcher()
    matcher.load_gallery(gallery.all_templates())
    feed = Feed()
    with R30xEmulator("r307", images=feed) as s_emu, PrinterEmulator("escpos58") as p_emu:
        scanner = R30xScanner(s_emu.path, load_scanner_profile("r307"))
        printer = EscPosPrinter(p_emu.path, load_printer_profile("escpos58"))
        scanner.open()
        printer.open()
        try:
            yield Kit(store, gallery, matcher, scanner, printer, s_emu, p_emu, feed,
                      [v.personal_number for v in enrolled if v.station_id == STATION])
        finally:
            scanner.close()
            printer.close()
            store.close()


def _card_flow(kit: Kit) -> CardFingerFlow:
    flow = CardFingerFlow(kit.store, kit.printer, "op1", scanner=kit.scanner, matcher=kit.matcher, gallery=kit.gallery)
    flow.start()
    return flow


def test_card_then_finger_identifies_and_prints(kit: Kit) -> None:
    flow = _card_flow(kit)
    flow.card_read(CardData(kit.pins[1]))
    assert flow.state is State.AWAIT_FINGER and flow.photo.startswith(b"\x89PNG")
    kit.feed.queue = [_img(102, 2)]
    flow.capture(timeout_s=5)
    assert flow.state is State.CONFIRM, flow.message
    assert flow.voter is not None and flow.voter.surname == "Асанов"
    flow.confirm()
    assert flow.state is State.PRINTED and flow.record is not None
    assert len(kit.printer_emu.slips) == 1
    assert any("Список: 2" in line for line in kit.printer_emu.slips[0].text)
    assert counters(kit.store).by_path == {"card_finger": 1}
    # Second presentation of the same card is refused with when/where/how.
    again = _card_flow(kit)
    again.card_read(CardData(kit.pins[1]))
    assert again.state is State.REFUSED and "ALREADY VOTED" in again.message and "card_finger" in again.message


def test_wrong_finger_then_another_finger_then_failure_to_match(kit: Kit) -> None:
    flow = _card_flow(kit)
    flow.card_read(CardData(kit.pins[0]))
    kit.feed.queue = [_img(107, 1)]  # someone else's finger
    flow.capture(timeout_s=5)
    assert flow.state is State.AWAIT_FINGER and "another finger" in flow.message
    kit.feed.queue = [_img(101, 4)]
    flow.capture(timeout_s=5)
    assert flow.state is State.CONFIRM
    impostor = _card_flow(kit)
    impostor.card_read(CardData(kit.pins[2]))
    for subject in (108, 109, 110):
        kit.feed.queue = [_img(subject, 1)]
        impostor.capture(timeout_s=5)
    assert impostor.state is State.FAILED_MATCH
    c = counters(kit.store)
    assert c.failure_to_match == 1 and c.failure_to_acquire == 0 and c.identified == 0


def test_blank_images_are_failure_to_acquire_counted_apart(kit: Kit) -> None:
    flow = _card_flow(kit)
    flow.card_read(CardData(kit.pins[3]))
    flow.capture(timeout_s=5)
    assert flow.state is State.AWAIT_FINGER and "finger" in flow.message  # the quality verdict's advice
    flow.capture(timeout_s=5)
    flow.capture(timeout_s=5)
    assert flow.state is State.FAILED_ACQUIRE
    c = counters(kit.store)
    assert c.failure_to_acquire == 1 and c.failure_to_match == 0


def test_voter_without_templates_goes_to_typed_fallback(kit: Kit) -> None:
    flow = _card_flow(kit)
    flow.card_read(CardData(kit.pins[4]))
    assert flow.state is State.NO_TEMPLATES
    manual = ManualFlow(kit.store, kit.printer, "op1", gallery=kit.gallery)
    manual.start()
    manual.enter(kit.pins[4], FallbackReason.NO_FINGERPRINTS)
    assert manual.state is State.CONFIRM
    with pytest.raises(Exception, match="second commission member"):
        manual.confirm("op1")
    manual.confirm("chair")
    assert manual.state is State.PRINTED
    c = counters(kit.store)
    assert c.by_path == {"manual": 1} and c.manual_by_reason == {"no_fingerprints": 1}


def test_finger_alone_searches_the_station_and_operator_chooses(kit: Kit) -> None:
    flow = FingerOnlyFlow(kit.store, kit.printer, "op1", scanner=kit.scanner, matcher=kit.matcher, gallery=kit.gallery)
    flow.start()
    kit.feed.queue = [_img(103, 2)]
    flow.capture(timeout_s=5)
    assert flow.state is State.CHOOSE, flow.message
    assert flow.candidates[0].personal_number == kit.pins[2]
    assert all(c.score >= kit.matcher.threshold for c in flow.candidates)
    flow.choose(kit.pins[2])
    assert flow.state is State.CONFIRM
    flow.confirm()
    assert flow.state is State.PRINTED
    assert counters(kit.store).by_path == {"finger": 1}


def test_failed_print_keeps_the_voter_and_supervisor_reprints(kit: Kit) -> None:
    kit.printer_emu.faults.paper_out = True
    manual = ManualFlow(kit.store, kit.printer, "op1", gallery=kit.gallery)
    manual.start()
    manual.enter(kit.pins[0], FallbackReason.INJURY)
    manual.confirm("chair")
    assert manual.state is State.PRINT_FAILED and manual.record is not None
    assert manual.result is not None and manual.result.outcome is Outcome.IDENTIFIED
    assert counters(kit.store).identified == 1
    kit.printer_emu.faults.paper_out = False
    reprint(kit.store, kit.printer, manual.record.id, "chair")
    # The REPRINT banner holds Kyrgyz letters outside the printer's code page, so the driver sends it as a raster
    # line: the reprinted slip has it, a normal slip does not.
    assert "[raster]" in kit.printer_emu.slips[-1].text
    normal = ManualFlow(kit.store, kit.printer, "op1", gallery=kit.gallery)
    normal.start()
    normal.enter(kit.pins[1], FallbackReason.INJURY)
    normal.confirm("chair")
    assert normal.state is State.PRINTED and "[raster]" not in kit.printer_emu.slips[-1].text
    assert counters(kit.store).reprints == 1
    # On a training kit the supervisor's reprint is a training slip too.
    reprint(kit.store, kit.printer, manual.record.id, "chair", training=True)
    deadline = time.monotonic() + 10
    while len(kit.printer_emu.slips) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kit.printer_emu.slips[-1].text[0] == "*** ТРЕНИНГ / TRAINING ***"
    assert kit.printer_emu.slips[-3].text[0] != "*** ТРЕНИНГ / TRAINING ***"


def test_scanner_unplugged_is_a_device_fault_and_nothing_is_recorded(kit: Kit) -> None:
    flow = _card_flow(kit)
    flow.card_read(CardData(kit.pins[0]))
    kit.scanner_emu.unplug()
    flow.capture(timeout_s=3)
    assert flow.state is State.DEVICE_FAULT and "scanner" in flow.message
    c = counters(kit.store)
    assert c.identified == 0 and c.failure_to_acquire == 0 and c.failure_to_match == 0
    # The typed fallback with the reason "device fault" still works.
    manual = ManualFlow(kit.store, kit.printer, "op1", gallery=kit.gallery)
    manual.start()
    manual.enter(kit.pins[0], FallbackReason.DEVICE_FAULT)
    manual.confirm("chair")
    assert manual.state is State.PRINTED and counters(kit.store).manual_by_reason == {"device_fault": 1}


def test_closing_receipt_prints_a_qr_that_an_observer_verifies(kit: Kit) -> None:
    from station.receipts import ReceiptKind, make_receipt, receipt_slip, verify_receipt_payload

    kit.printer.print_slip(receipt_slip(make_receipt(kit.store, ReceiptKind.OPENING)))
    manual = ManualFlow(kit.store, kit.printer, "op1", gallery=kit.gallery)
    manual.start()
    manual.enter(kit.pins[3], FallbackReason.INJURY)
    manual.confirm("chair")
    kit.printer.print_slip(receipt_slip(make_receipt(kit.store, ReceiptKind.CLOSING)))
    opening, closing = kit.printer_emu.slips[0], kit.printer_emu.slips[-1]
    # What an observer scans: the QR payloads exactly as the printer received them to print.
    first = verify_receipt_payload(opening.qr_payloads[0].decode(), kit.store.kit_info().public_key)
    last = verify_receipt_payload(closing.qr_payloads[0].decode(), kit.store.kit_info().public_key)
    assert first["counters"]["identified"] == 0 and last["counters"]["identified"] == 1
    assert last["kind"] == "closing" and last["counters"]["manual_by_reason"] == {"injury": 1}
