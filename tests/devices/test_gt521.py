"""GT-521Fxx driver against its emulator over a real pty: baud change, LED, capture, NACK table, faults."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np
import pytest

from emulators.gt521 import GT521Emulator
from station.devices.errors import DeviceDisconnected, DeviceError, DeviceTimeout
from station.devices.gt521 import GT521Scanner
from station.devices.gt521_protocol import Command, encode_data, encode_packet
from station.devices.health import DeviceState, ErrorCode
from station.devices.profiles import ScannerProfile
from tests.devices.conftest import quick


def pattern() -> np.ndarray:
    y, x = np.mgrid[0:202, 0:258]
    return ((7 * x + y) % 251).astype(np.uint8)


@pytest.fixture
def gt() -> ScannerProfile:
    return quick("gt521f52")


@pytest.fixture
def emulator(gt: ScannerProfile) -> Iterator[GT521Emulator]:
    with GT521Emulator(gt, images=pattern) as emu:
        yield emu


@pytest.fixture
def scanner(emulator: GT521Emulator, gt: ScannerProfile) -> Iterator[GT521Scanner]:
    dev = GT521Scanner(emulator.path, gt)
    dev.open()
    yield dev
    dev.close()


def test_packets_match_the_datasheet_layout() -> None:
    # Open with param 0: 55 AA 01 00 00000000 0100 checksum 0x0101 (little-endian).
    assert encode_packet(Command.OPEN, 0) == bytes.fromhex("55AA01000000000001000101")
    assert encode_packet(Command.CMOS_LED, 1) == bytes.fromhex("55AA01000100000012001301")
    assert encode_data(b"\x01\x02") == bytes.fromhex("5AA5010001020301")


def test_open_switches_to_the_fast_rate_and_close_switches_back(
    emulator: GT521Emulator, gt: ScannerProfile
) -> None:
    dev = GT521Scanner(emulator.path, gt)
    dev.open()
    assert dev.link.baud == 115200 and emulator.baud == 115200
    assert dev.health.state == DeviceState.READY and dev.firmware == 0x20120101
    dev.close()
    assert emulator.baud == 9600
    assert emulator.faults.received[-1] == Command.CLOSE


def test_open_finds_a_module_left_at_the_fast_rate(emulator: GT521Emulator, gt: ScannerProfile) -> None:
    emulator.baud = 115200  # as after a kit crash without close: the module keeps its rate until power-off
    dev = GT521Scanner(emulator.path, gt)
    dev.open()
    assert dev.link.baud == 115200
    dev.close()


def test_capture_lights_the_led_and_returns_the_8_bit_image(
    scanner: GT521Scanner, emulator: GT521Emulator
) -> None:
    emulator.faults.no_finger_polls = 3
    shot = scanner.capture(5)
    assert shot.pixels.shape == (202, 258) and shot.dpi == 450
    assert np.array_equal(shot.pixels, pattern())
    assert emulator.faults.received.count(Command.IS_PRESS_FINGER) == 4
    assert not emulator.led_on


def test_no_finger_times_out_and_bad_finger_is_decoded(
    scanner: GT521Scanner, emulator: GT521Emulator
) -> None:
    emulator.faults.finger_present = False
    started = time.monotonic()
    with pytest.raises(DeviceError, match="no finger placed") as err:
        scanner.capture(0.4)
    assert err.value.code == ErrorCode.SCANNER_NO_FINGER and time.monotonic() - started < 1.5
    emulator.faults.finger_present = True
    emulator.faults.bad_captures = 1
    with pytest.raises(DeviceError, match="clean and dry") as err:
        scanner.capture(2)
    assert err.value.code == ErrorCode.SCANNER_POOR_IMAGE
    assert scanner.capture(2).pixels.shape == (202, 258)


def test_resync_and_retry_on_garbled_answers(scanner: GT521Scanner, emulator: GT521Emulator) -> None:
    emulator.faults.stray_before_next = b"\x55\x00\x55"
    emulator.faults.corrupt_answers = 1
    emulator.faults.corrupt_data_packets = 1
    assert np.array_equal(scanner.capture(5).pixels, pattern())


def test_silence_and_unplug(scanner: GT521Scanner, emulator: GT521Emulator) -> None:
    emulator.faults.silent_answers = 10
    with pytest.raises(DeviceTimeout):
        scanner.capture(2)
    emulator.unplug()
    with pytest.raises(DeviceDisconnected):
        scanner.capture(2)
    assert scanner.health.state == DeviceState.DISCONNECTED


def test_gt521f32_profile_works_too() -> None:
    profile = quick("gt521f32")
    with GT521Emulator(profile) as emu:
        dev = GT521Scanner(emu.path, profile)
        dev.open()
        assert dev.capture(3).pixels.shape == (202, 258)
        dev.close()
