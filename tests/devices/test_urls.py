"""Devices opened by URL: serial:// to an emulator started separately, emulated:// in-process, bad URLs."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from emulators.printer import PrinterEmulator
from emulators.r30x import R30xEmulator
from station.devices.errors import DeviceError, ProfileError
from station.devices.gt521 import GT521Scanner
from station.devices.health import DeviceState
from station.devices.printer import EscPosPrinter, Slip
from station.devices.r30x import R30xScanner
from station.devices.scanner import FingerprintScanner
from station.devices.urls import open_device, parse_device_url


def test_parse_urls() -> None:
    url = parse_device_url("serial:///dev/ttyUSB0?profile=r307")
    assert (url.scheme, url.target, url.params) == ("serial", "/dev/ttyUSB0", {"profile": "r307"})
    assert parse_device_url("pcsc://Virtual PCD 00 00").target == "Virtual PCD 00 00"
    assert parse_device_url("emulated://r307?images=/tmp/x&pace=1").params == {
        "images": "/tmp/x",
        "pace": "1",
    }


def test_serial_url_drives_an_emulator_by_profile() -> None:
    with R30xEmulator("r307") as emu:
        device = open_device(f"serial://{emu.path}?profile=r307")
        assert isinstance(device, R30xScanner) and device.health.state == DeviceState.READY
        assert device.capture(3).pixels.shape == (288, 256)
        device.close()


def test_emulated_urls_open_each_kind_and_expose_the_emulator(tmp_path: Path) -> None:
    scanner = open_device("emulated://gt521f52")
    assert isinstance(scanner, GT521Scanner) and scanner.emulator is not None
    scanner.emulator.faults.no_finger_polls = 2
    assert scanner.capture(3).pixels.shape == (202, 258)
    emu = scanner.emulator
    scanner.close()
    assert emu.port.closed and scanner.emulator is None

    printer = open_device(f"emulated://escpos80?out={tmp_path}")
    assert isinstance(printer, EscPosPrinter)
    printer.print_slip(Slip(title=("Тест",)))
    printer.close()
    assert (tmp_path / "slip-0001.png").exists()

    r503 = open_device("emulated://r503")
    assert isinstance(r503, FingerprintScanner) and r503.set_led(True)
    r503.close()


def test_emulated_scanner_serves_a_folder(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("L", (300, 400), 17).save(tmp_path / "a.png")
    device = open_device(f"emulated://as608?images={tmp_path}")
    assert isinstance(device, R30xScanner)
    assert int(device.capture(3).pixels[100, 100]) == (17 >> 4) * 17
    device.close()


def test_emulated_scanner_serves_successive_impressions_of_a_synthetic_finger() -> None:
    from emulators.images import fit_to_sensor
    from simulation.fingerprints import generate_impression, generate_master

    device = open_device("emulated://r307?images=synthetic:7")
    assert isinstance(device, R30xScanner)
    try:
        first, second = device.capture(5).pixels, device.capture(5).pixels
    finally:
        device.close()
    master = generate_master(7)
    for index, shot in enumerate((first, second)):
        expected = fit_to_sensor(generate_impression(master, index).image, shot.shape[1], shot.shape[0])
        # The R30x image travels as 4-bit grey: compare at that depth.
        assert np.array_equal(shot, (expected >> 4) * 17)
    assert not np.array_equal(first, second)


def test_synthetic_finger_needs_a_numeric_seed() -> None:
    with pytest.raises((DeviceError, ValueError), match="synthetic:SEED"):
        open_device("emulated://r307?images=synthetic:abc")


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("/dev/ttyUSB0", "not a device URL"),
        ("usb://1234", "unknown device URL scheme 'usb'"),
        ("serial:///dev/ttyUSB0", r"needs \?profile="),
        ("emulated://r307?pace=fast", "pace must be"),
        ("emulated://r307?images=/nonexistent/folder", "device URL"),
    ],
)
def test_bad_urls_are_clear_errors(url: str, complaint: str) -> None:
    with pytest.raises(DeviceError, match=complaint):
        open_device(url)


def test_unknown_profile_in_url() -> None:
    with pytest.raises(ProfileError, match="no device profile named 'r999'"):
        open_device("serial:///dev/ttyUSB0?profile=r999")


def test_emulator_runs_as_its_own_process_for_trainers(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "emulators.printer", "--out", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()
        device = open_device(f"serial://{path}?profile=escpos58")
        device.print_slip(Slip(title=("Процесс",), lines=("ү",)))  # type: ignore[attr-defined]
        device.close()
        deadline = time.monotonic() + 5
        while not (tmp_path / "slip-0001.png").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "slip-0001.png").exists()
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


def test_printer_emulator_in_process_matches_url_semantics() -> None:
    with PrinterEmulator("escpos58") as emu:
        device = open_device(f"serial://{emu.path}?profile=escpos58")
        assert isinstance(device, EscPosPrinter) and device.status().can_print
        device.close()
