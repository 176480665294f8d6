"""R30x driver against its emulator over a real pty: capture, faults, timeouts, unplug, and the wire bytes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emulators.r30x import R30xEmulator
from station.devices.errors import DeviceDisconnected, DeviceError, DeviceTimeout
from station.devices.health import DeviceState, ErrorCode, HealthEvent
from station.devices.profiles import ScannerProfile
from station.devices.r30x import R30xScanner
from station.devices.r30x_protocol import (
    Command,
    encode_command,
    pack_image_4bit,
    unpack_image_4bit,
)
from tests.devices.conftest import quick


def gradient() -> np.ndarray:
    y, x = np.mgrid[0:288, 0:256]
    return ((x + 3 * y) % 256).astype(np.uint8)


@pytest.fixture
def emulator(r307: ScannerProfile) -> Iterator[R30xEmulator]:
    with R30xEmulator(r307, images=gradient) as emu:
        yield emu


@pytest.fixture
def scanner(emulator: R30xEmulator, r307: ScannerProfile) -> Iterator[R30xScanner]:
    dev = R30xScanner(emulator.path, r307)
    dev.open()
    yield dev
    dev.close()


def test_frames_match_the_module_manual() -> None:
    # Worked examples from the R30x manual: GenImg and VfyPwd(0) with the default address.
    assert encode_command(Command.GEN_IMG) == bytes.fromhex("EF01FFFFFFFF010003010005")
    assert encode_command(Command.VFY_PWD, bytes(4)) == bytes.fromhex("EF01FFFFFFFF0100071300000000001B")


def test_four_bit_pixels_are_high_nibble_first() -> None:
    assert unpack_image_4bit(bytes([0xA5, 0x0F]), 4, 1).tolist() == [[0xAA, 0x55, 0x00, 0xFF]]
    img = gradient()
    assert np.array_equal(unpack_image_4bit(pack_image_4bit(img), 256, 288), (img >> 4) * 17)


def test_capture_returns_the_served_image_at_profile_resolution(scanner: R30xScanner) -> None:
    shot = scanner.capture(5)
    assert shot.pixels.shape == (288, 256) and shot.dpi == 500
    assert np.array_equal(shot.pixels, (gradient() >> 4) * 17)
    assert not shot.pixels.flags.writeable


def test_capture_serves_images_from_a_folder_in_order(tmp_path: Path, r307: ScannerProfile) -> None:
    for i, value in enumerate((30, 200)):
        Image.fromarray(np.full((300, 300), value, np.uint8)).save(tmp_path / f"{i}_1.png")
    with R30xEmulator(r307, images=tmp_path) as emu:
        dev = R30xScanner(emu.path, r307)
        dev.open()
        firsts = [int(dev.capture(5).pixels[144, 128]) for _ in range(3)]
        dev.close()
    assert firsts == [(30 >> 4) * 17, (200 >> 4) * 17, (30 >> 4) * 17]


def test_polls_until_a_finger_is_placed_and_reports_busy_then_ready(
    scanner: R30xScanner, emulator: R30xEmulator
) -> None:
    events: list[HealthEvent] = []
    scanner.subscribe(events.append)
    emulator.faults.no_finger_polls = 5
    scanner.capture(5)
    assert emulator.faults.received.count(Command.GEN_IMG) == 6
    assert [e.state for e in events] == [DeviceState.BUSY, DeviceState.READY]


def test_no_finger_gives_up_at_the_timeout_with_a_numbered_error(
    scanner: R30xScanner, emulator: R30xEmulator
) -> None:
    emulator.faults.finger_present = False
    started = time.monotonic()
    with pytest.raises(DeviceError, match="no finger placed") as err:
        scanner.capture(0.5)
    assert err.value.code == ErrorCode.SCANNER_NO_FINGER
    assert 0.4 < time.monotonic() - started < 1.5
    assert scanner.health.state == DeviceState.NOT_READY
    emulator.faults.finger_present = True
    assert scanner.capture(5).pixels.shape == (288, 256)  # the same session recovers


def test_image_failure_is_decoded_from_the_table(scanner: R30xScanner, emulator: R30xEmulator) -> None:
    emulator.faults.genimg_failures = 1
    with pytest.raises(DeviceError, match="clean the sensor") as err:
        scanner.capture(5)
    assert err.value.code == ErrorCode.SCANNER_IMAGE_FAILED


def test_resyncs_after_stray_bytes_and_retries_garbled_frames(
    scanner: R30xScanner, emulator: R30xEmulator
) -> None:
    emulator.faults.stray_before_next = b"\x55\xef\x55"
    assert scanner.capture(5).pixels.shape == (288, 256)
    emulator.faults.corrupt_answers = 1
    emulator.faults.corrupt_data_packets = 1
    assert np.array_equal(scanner.capture(5).pixels, (gradient() >> 4) * 17)


def test_wrong_password_refuses_to_open(r307: ScannerProfile) -> None:
    with R30xEmulator(r307, password=0x1234) as emu:
        dev = R30xScanner(emu.path, r307)
        with pytest.raises(DeviceError, match="wrong module password") as err:
            dev.open()
        assert err.value.code == ErrorCode.SCANNER_WRONG_PASSWORD
        assert dev.health.state == DeviceState.NOT_READY
        good = R30xScanner(emu.path, quick("r307", password=0x1234))
        good.open()
        good.close()


def test_a_silent_module_times_out_within_the_line_rate_budget(
    scanner: R30xScanner, emulator: R30xEmulator
) -> None:
    emulator.faults.silent_answers = 100
    started = time.monotonic()
    with pytest.raises(DeviceTimeout):
        scanner.capture(5)
    # Budget: wire time of a GenImg exchange at 57600 baud (~4 ms) + 0.15 s margin, once per attempt (3 attempts).
    assert time.monotonic() - started < 2.0


def test_unplug_reports_disconnected(scanner: R30xScanner, emulator: R30xEmulator) -> None:
    emulator.unplug()
    with pytest.raises(DeviceDisconnected):
        scanner.capture(2)
    assert scanner.health.state == DeviceState.DISCONNECTED
    assert scanner.health.code == ErrorCode.DEVICE_DISCONNECTED


def test_open_on_a_missing_port_is_a_clear_error(r307: ScannerProfile) -> None:
    dev = R30xScanner("/dev/does-not-exist-ttyUSB9", r307)
    with pytest.raises(DeviceDisconnected, match="cannot open"):
        dev.open()


def test_led_ring_only_where_the_model_has_one() -> None:
    r503 = quick("r503")
    with R30xEmulator(r503) as emu:
        dev = R30xScanner(emu.path, r503)
        dev.open()
        assert dev.set_led(True) and emu.led_on
        assert dev.capture(5).dpi == 508
        assert not emu.led_on  # switched off after the capture
        dev.close()
    r307 = quick("r307")
    with R30xEmulator(r307) as emu:
        dev = R30xScanner(emu.path, r307)
        dev.open()
        assert dev.set_led(True) is False
        dev.close()


def test_module_packet_size_wins_over_the_profile(r307: ScannerProfile) -> None:
    with R30xEmulator(r307, images=gradient, packet_size=32) as emu:
        dev = R30xScanner(emu.path, r307)
        dev.open()
        assert dev.packet_size == 32
        assert np.array_equal(dev.capture(5).pixels, (gradient() >> 4) * 17)
        dev.close()


@pytest.mark.slow
def test_capture_paced_at_57600_baud_fits_the_line_rate_timeouts() -> None:
    profile = quick("r307", command_margin_s=0.5)
    with R30xEmulator(profile, images=gradient, pace=57600) as emu:
        dev = R30xScanner(emu.path, profile)
        dev.open()
        shot = dev.capture(10)
        dev.close()
    # 36,864 image bytes + 288 frames x 11 bytes = 40,032 bytes x 10 bits / 57600 = 6.95 s on the wire.
    assert 6.5 < shot.capture_s < 10.0
    assert np.array_equal(shot.pixels, (gradient() >> 4) * 17)
