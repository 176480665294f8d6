"""Slip printer driver against the ESC/POS emulator over a real pty: rendering, Kyrgyz letters, QR, status faults."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from emulators.printer import PrinterEmulator
from station.devices import escpos
from station.devices.errors import DeviceDisconnected, DeviceError, DeviceTimeout, ProtocolError
from station.devices.escpos import Align, StatusRequest
from station.devices.health import DeviceState, ErrorCode
from station.devices.printer import EscPosPrinter, Slip, encode_slip
from station.devices.profiles import PrinterProfile, load_printer_profile
from station.devices.serial_link import wire_time_s

KYRGYZ = "Өкүлү: Үсөнбаев Төлөгөн ң"
SLIP = Slip(
    title=("ШАЙЛОО 2026", "№ 3152"),
    lines=("Участок 3152, Каракол", "Шайлоочу: Асанов Бакыт", KYRGYZ, "2026-11-23 08:20"),
    qr_payload="shailoo:e-2026/3152/1/17/9f2c",
)


@pytest.fixture
def profile() -> PrinterProfile:
    # A fast head keeps these tests quick; test_waits_for_the_head_before_the_status_after uses the real speed.
    return dataclasses.replace(
        load_printer_profile("escpos58"), status_margin_s=0.3, print_speed_mm_s=10_000.0
    )


@pytest.fixture
def emulator(profile: PrinterProfile, tmp_path: Path) -> Iterator[PrinterEmulator]:
    with PrinterEmulator(profile, out_dir=tmp_path / "slips") as emu:
        yield emu


@pytest.fixture
def printer(emulator: PrinterEmulator, profile: PrinterProfile) -> Iterator[EscPosPrinter]:
    dev = EscPosPrinter(emulator.path, profile)
    dev.open()
    yield dev
    dev.close()


def wait_for_slips(emulator: PrinterEmulator, n: int) -> None:
    deadline = time.monotonic() + 5
    while len(emulator.slips) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(emulator.slips) >= n


def find_band(page: np.ndarray, band: np.ndarray) -> bool:
    """True if ``band`` appears pixel for pixel as a horizontal strip of ``page``."""
    return any(
        np.array_equal(page[y : y + band.shape[0]], band) for y in range(page.shape[0] - band.shape[0] + 1)
    )


def test_slip_renders_to_a_png_at_203_dpi_with_its_text(
    printer: EscPosPrinter, emulator: PrinterEmulator
) -> None:
    result = printer.print_slip(SLIP)
    wait_for_slips(emulator, 1)
    slip = emulator.slips[0]
    assert slip.complete and slip.path is not None and slip.path.exists()
    with Image.open(slip.path) as png:
        assert png.width == 384 and round(png.info["dpi"][0]) == 203
    assert slip.text[:3] == ["ШАЙЛОО 2026", "№ 3152", "Участок 3152, Каракол"]
    assert "Шайлоочу: Асанов Бакыт" in slip.text
    assert result.bytes_sent > 0 and printer.health.state == DeviceState.READY


def test_kyrgyz_letters_are_printed_as_dots_that_show_the_right_letters(
    printer: EscPosPrinter, emulator: PrinterEmulator, profile: PrinterProfile
) -> None:
    data = encode_slip(SLIP, profile)
    assert KYRGYZ.encode("cp866", errors="replace") not in data  # not sent as text with '?' for the letters
    assert escpos.raster(escpos.render_text(KYRGYZ, 384)) in data
    with pytest.raises(UnicodeEncodeError):
        KYRGYZ.encode("cp866")  # the reason for the raster path
    printer.print_slip(SLIP)
    wait_for_slips(emulator, 1)
    page = np.asarray(emulator.slips[0].image)
    right = np.asarray(escpos.render_text(KYRGYZ, 384))
    wrong = np.asarray(escpos.render_text("Окулу: Усонбаев Тологен н", 384))
    assert find_band(page, right)
    assert not find_band(page, wrong)
    assert emulator.slips[0].text.count("[raster]") == 1


def test_qr_code_on_the_slip_decodes_to_the_payload(
    printer: EscPosPrinter, emulator: PrinterEmulator
) -> None:
    printer.print_slip(SLIP)
    wait_for_slips(emulator, 1)
    page = np.asarray(emulator.slips[0].image)
    decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(page)
    assert decoded == SLIP.qr_payload
    assert emulator.slips[0].qr_payloads == [SLIP.qr_payload.encode()]


def test_training_and_reprint_slips_are_marked(printer: EscPosPrinter, emulator: PrinterEmulator) -> None:
    printer.print_slip(dataclasses.replace(SLIP, training=True, qr_payload=None))
    printer.print_slip(dataclasses.replace(SLIP, reprint=True, qr_payload=None))
    wait_for_slips(emulator, 2)
    training, reprint = emulator.slips
    assert training.text[0] == training.text[-1] == "*** ТРЕНИНГ / TRAINING ***"
    # "КӨЧҮРМӨ" has Kyrgyz letters, so the REPRINT banner is a raster line after the text lines.
    assert reprint.text[-1] == "[raster]" and reprint.text.count("[raster]") == 2
    page = np.asarray(reprint.image)
    assert find_band(
        page, np.asarray(escpos.render_text("*** КӨЧҮРМӨ / REPRINT ***", 384, True, 1, Align.CENTER))
    )


def test_control_bytes_in_slip_text_do_not_become_commands(
    printer: EscPosPrinter, emulator: PrinterEmulator
) -> None:
    printer.print_slip(Slip(title=("A",), lines=("cut here\x1dV\x00 and here\x10\x04\x01",)))
    wait_for_slips(emulator, 1)
    time.sleep(0.1)
    assert len(emulator.slips) == 1 and emulator.slips[0].text[1] == "cut hereV and here"


def test_paper_near_end_prints_but_warns(printer: EscPosPrinter, emulator: PrinterEmulator) -> None:
    emulator.faults.paper_near_end = True
    printer.print_slip(SLIP)
    assert printer.health.state == DeviceState.READY
    assert printer.health.code == ErrorCode.PRINTER_PAPER_NEAR_END
    assert "new roll" in printer.health.message


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        ("paper_out", ErrorCode.PRINTER_PAPER_OUT, "load a new roll"),
        ("cover_open", ErrorCode.PRINTER_COVER_OPEN, "cover is open"),
    ],
)
def test_refuses_to_print_when_it_cannot(
    printer: EscPosPrinter, emulator: PrinterEmulator, fault: str, code: ErrorCode, words: str
) -> None:
    setattr(emulator.faults, fault, True)
    with pytest.raises(DeviceError, match=words) as err:
        printer.print_slip(SLIP)
    assert err.value.code == code
    assert printer.health.state == DeviceState.NOT_READY
    time.sleep(0.1)
    assert emulator.slips == []  # the slip bytes were never sent
    setattr(emulator.faults, fault, False)
    printer.print_slip(SLIP)
    assert printer.status().can_print


def test_paper_running_out_during_a_slip_is_reported(
    printer: EscPosPrinter, emulator: PrinterEmulator
) -> None:
    emulator.faults.paper_left_mm = 25.0  # about a third of a slip
    with pytest.raises(DeviceError, match="may be incomplete") as err:
        printer.print_slip(SLIP)
    assert err.value.code == ErrorCode.PRINTER_PAPER_OUT
    wait_for_slips(emulator, 1)
    assert not emulator.slips[0].complete


def test_a_printer_that_does_not_answer_times_out_quickly(
    printer: EscPosPrinter, emulator: PrinterEmulator
) -> None:
    emulator.faults.silent_status = 10
    started = time.monotonic()
    with pytest.raises(DeviceTimeout, match="does not answer") as err:
        printer.status()
    assert err.value.code == ErrorCode.PRINTER_OFFLINE
    assert time.monotonic() - started < 1.0


def test_unplugged_printer(printer: EscPosPrinter, emulator: PrinterEmulator) -> None:
    emulator.unplug()
    with pytest.raises(DeviceDisconnected):
        printer.print_slip(SLIP)
    assert printer.health.state == DeviceState.DISCONNECTED


def test_80mm_printer_uses_the_wider_line(tmp_path: Path) -> None:
    profile = load_printer_profile("escpos80")
    with PrinterEmulator(profile) as emu:
        dev = EscPosPrinter(emu.path, profile)
        dev.open()
        dev.print_slip(SLIP)
        dev.close()
        wait_for_slips(emu, 1)
        assert emu.slips[0].image.width == 576
        decoded, _, _ = cv2.QRCodeDetector().detectAndDecode(np.asarray(emu.slips[0].image))
        assert decoded == SLIP.qr_payload


def test_paced_at_9600_baud_the_after_status_waits_for_the_slip(tmp_path: Path) -> None:
    profile = dataclasses.replace(load_printer_profile("escpos58"), status_margin_s=0.3)
    with PrinterEmulator(profile, pace=True) as emu:
        dev = EscPosPrinter(emu.path, profile)
        dev.open()
        slip = Slip(title=("T",), lines=("Line one", "Line two"))
        result = dev.print_slip(slip)
        dev.close()
    # The status after the slip can only come back once the slip's bytes crossed the 9600-baud line.
    assert result.seconds >= wire_time_s(result.bytes_sent, 9600)


def test_status_bytes_decode_and_reject_noise() -> None:
    ok = {n: 0x12 for n in StatusRequest}
    assert escpos.decode_status(ok).can_print
    assert escpos.decode_status({**ok, StatusRequest.PAPER: 0x12 | 0x0C}).paper_near_end
    assert escpos.decode_status({**ok, StatusRequest.OFFLINE_CAUSE: 0x12 | 0x04}).cover_open
    with pytest.raises(ProtocolError):
        escpos.decode_status({**ok, StatusRequest.PRINTER: 0xFF})


@settings(max_examples=30)
@given(noise=st.binary(max_size=400))
def test_printer_emulator_survives_any_bytes_and_still_answers(noise: bytes) -> None:
    profile = load_printer_profile("escpos58")
    with PrinterEmulator(profile) as emu:
        dev = EscPosPrinter(emu.path, profile)
        dev.open()
        dev.link.write(noise)
        time.sleep(0.15)  # the emulator drops a half command after its frame gap
        dev.link.discard_input()
        assert dev.status().can_print
        dev.close()
        assert emu.error is None


def test_waits_for_the_head_before_the_status_after(emulator: PrinterEmulator) -> None:
    # DLE EOT is answered on receipt on a real printer: asking before the slip is printed would miss a paper-out.
    profile = dataclasses.replace(load_printer_profile("escpos58"), print_speed_mm_s=200.0)
    dev = EscPosPrinter(emulator.path, profile)
    dev.open()
    result = dev.print_slip(SLIP)
    dev.close()
    wait_for_slips(emulator, 1)
    # The emulator's slip is the paper length; at 200 mm/s the driver must have waited at least that long.
    paper_mm = (emulator.slips[0].image.height - 16) * 25.4 / 203
    assert result.seconds >= 0.9 * paper_mm / 200.0
