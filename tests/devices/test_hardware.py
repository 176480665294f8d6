"""Real devices on a technician's bench: skipped unless SHAILOO_HARDWARE=1 and the device URLs are given.

  SHAILOO_HARDWARE=1 SHAILOO_SCANNER_URL='serial:///dev/ttyUSB0?profile=r307' \\
  SHAILOO_PRINTER_URL='serial:///dev/ttyUSB1?profile=escpos58' .venv/bin/pytest tests/devices/test_hardware.py
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from station.devices import FingerprintScanner, Printer, Slip, open_device

pytestmark = pytest.mark.hardware


def _url(name: str) -> str:
    if os.environ.get("SHAILOO_HARDWARE") != "1":
        pytest.skip("real-device test: set SHAILOO_HARDWARE=1 and the device URL to run it")
    url = os.environ.get(name)
    if not url:
        pytest.skip(f"set {name} to the device URL, e.g. serial:///dev/ttyUSB0?profile=r307")
    return url


def test_real_scanner_captures_a_finger() -> None:
    device = open_device(_url("SHAILOO_SCANNER_URL"))
    assert isinstance(device, FingerprintScanner)
    try:
        print("place a finger on the scanner")
        shot = device.capture(30)
    finally:
        device.close()
    assert shot.pixels.std() > 10  # ridges, not a blank frame
    assert np.count_nonzero(shot.pixels < 128) > shot.pixels.size // 20


def test_real_printer_prints_a_test_slip() -> None:
    device = open_device(_url("SHAILOO_PRINTER_URL"))
    assert isinstance(device, Printer)
    try:
        result = device.print_slip(Slip(title=("ТЕСТ",), lines=("Ң ң Ө ө Ү ү",), qr_payload="shailoo:hw"))
    finally:
        device.close()
    assert result.status_after.can_print
