"""Malformed and random bytes on the line: drivers raise a DeviceError within their timeout, emulators survive."""

from __future__ import annotations

import dataclasses
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulators.pty_port import SerialEmulator
from emulators.r30x import R30xEmulator
from station.devices.errors import DeviceError
from station.devices.gt521 import GT521Scanner
from station.devices.gt521_protocol import encode_data as gt_data
from station.devices.gt521_protocol import encode_packet as gt_packet
from station.devices.printer import EscPosPrinter
from station.devices.profiles import load_printer_profile
from station.devices.r30x import R30xScanner
from station.devices.r30x_protocol import PacketId, encode_packet
from tests.devices.conftest import quick


class ScriptedDevice(SerialEmulator):
    """Answers every burst the driver sends with the same fixed bytes (the fuzz input)."""

    def __init__(self, reply: bytes) -> None:
        super().__init__()
        self.reply = reply

    def handle(self, buffer: bytearray) -> None:
        buffer.clear()
        self.send(self.reply)


def _ack(confirm: int, data: bytes = b"") -> bytes:
    return encode_packet(PacketId.ACK, bytes([confirm]) + data)


# Random bytes, and near-valid frames: a real acknowledge with one byte flipped, truncated or extended.
frames = st.one_of(
    st.binary(max_size=200),
    st.builds(
        lambda frame, pos, flip: frame[:pos] + bytes([frame[pos] ^ flip]) + frame[pos + 1 :],
        st.sampled_from([_ack(0), _ack(2), _ack(0x13), encode_packet(PacketId.END_DATA, bytes(64))]),
        st.integers(0, 11),
        st.integers(1, 255),
    ),
    st.builds(lambda n: _ack(0)[:n], st.integers(0, 11)),
    st.builds(lambda junk: b"\x55" * junk + _ack(0x02) + b"\xef", st.integers(0, 40)),
)


@settings(max_examples=40)
@given(reply=frames)
def test_r30x_driver_never_crashes_or_hangs_on_malformed_answers(reply: bytes) -> None:
    profile = quick("r307", command_margin_s=0.05, capture_s=0.3)
    with ScriptedDevice(reply) as device:
        scanner = R30xScanner(device.path, profile)
        started = time.monotonic()
        try:
            scanner.open()
            scanner.capture(0.3)
        except DeviceError:
            pass
        finally:
            scanner.close()
        # open (2 commands) + capture: each at most 3 attempts of (wire time + 0.05 s) plus a drain, and the
        # 0.3 s finger wait: a few seconds at the very worst, never the pytest timeout.
        assert time.monotonic() - started < 6.0
        assert device.error is None


@settings(max_examples=25)
@given(noise=st.binary(min_size=1, max_size=300))
def test_r30x_emulator_survives_noise_and_still_answers(noise: bytes) -> None:
    profile = quick("r307")
    with R30xEmulator(profile) as emulator:
        scanner = R30xScanner(emulator.path, profile)
        scanner.open()
        scanner.link.write(noise)
        time.sleep(0.15)  # longer than the emulator's frame gap: a half frame is dropped like on a module
        scanner.link.discard_input()
        assert scanner.capture(2).pixels.shape == (288, 256)
        scanner.close()
        assert emulator.error is None


def test_r30x_emulator_answers_unknown_commands_with_a_receive_error() -> None:
    profile = quick("r307")
    with R30xEmulator(profile) as emulator:
        scanner = R30xScanner(emulator.path, profile)
        scanner.open()
        code, _ = scanner._command(0x7E)
        with pytest.raises(DeviceError, match="receive error"):
            scanner._check(code, "unknown command")
        scanner.close()


gt_frames = st.one_of(
    st.binary(max_size=200),
    st.builds(
        lambda frame, pos, flip: frame[:pos] + bytes([frame[pos] ^ flip]) + frame[pos + 1 :],
        st.sampled_from(
            [gt_packet(0x30, 0), gt_packet(0x31, 0x1012), gt_packet(0x30, 0) + gt_data(bytes(24))]
        ),
        st.integers(0, 11),
        st.integers(1, 255),
    ),
    st.builds(lambda n: gt_packet(0x30, 0)[:n], st.integers(0, 11)),
)


@settings(max_examples=20)
@given(reply=gt_frames)
def test_gt521_driver_never_crashes_or_hangs_on_malformed_answers(reply: bytes) -> None:
    profile = quick("gt521f52", command_margin_s=0.05, capture_s=0.3)
    with ScriptedDevice(reply) as device:
        scanner = GT521Scanner(device.path, profile)
        started = time.monotonic()
        try:
            scanner.open()
            scanner.capture(0.3)
        except DeviceError:
            pass
        finally:
            scanner.close()
        assert time.monotonic() - started < 8.0
        assert device.error is None


@settings(max_examples=25)
@given(reply=st.binary(max_size=8))
def test_printer_driver_never_crashes_or_hangs_on_malformed_status(reply: bytes) -> None:
    profile = dataclasses.replace(load_printer_profile("escpos58"), status_margin_s=0.05)
    with ScriptedDevice(reply) as device:
        printer = EscPosPrinter(device.path, profile)
        started = time.monotonic()
        try:
            printer.open()
            printer.status()
        except DeviceError:
            pass
        finally:
            printer.close()
        assert time.monotonic() - started < 3.0
        assert device.error is None
