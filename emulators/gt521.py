"""Emulator of a GT-521F52 / GT-521F32 module on a pty, with injectable faults.

Like the real module it starts at its power-up rate and switches after ChangeBaudRate; if the driver's port is set to
a different rate than the module's (read from the pty's termios), the module hears garbage and stays silent, as on a
real line. Run for trainers: ``python -m emulators.gt521 --profile gt521f52 --images DIR --pace``.
"""

from __future__ import annotations

import argparse
import struct
from dataclasses import dataclass, field
from pathlib import Path

from emulators.images import ImageSource, fit_to_sensor, make_source
from emulators.pty_port import SerialEmulator
from station.devices.gt521_protocol import (
    ACK,
    COMMAND_START,
    DEVICE_ID,
    DEVICE_INFO_LEN,
    NACK,
    PACKET_LEN,
    Command,
    checksum,
    encode_data,
    encode_packet,
)
from station.devices.profiles import BAUD_RATES, ScannerProfile, load_scanner_profile

NACK_INVALID_BAUDRATE, NACK_COMM_ERR, NACK_NOT_SUPPORTED, NACK_INVALID_PARAM, NACK_FINGER_NOT_PRESSED = (
    0x1002,
    0x1006,
    0x100E,
    0x1011,
    0x1012,
)
#: Firmware version reported in the device-information block.
FIRMWARE = 0x20120101


@dataclass
class GT521Faults:
    """Faults to inject while the emulator runs."""

    no_finger_polls: int = 0
    finger_present: bool = True
    #: CaptureFinger answers NACK "bad finger" this many more times.
    bad_captures: int = 0
    stray_before_next: bytes = b""
    corrupt_answers: int = 0
    corrupt_data_packets: int = 0
    silent_answers: int = 0
    received: list[int] = field(default_factory=list)


class GT521Emulator(SerialEmulator):
    """A GT-521Fxx module serving 8-bit images from a source."""

    def __init__(
        self,
        profile: ScannerProfile | str = "gt521f52",
        images: str | Path | ImageSource | None = None,
        pace: bool = False,
    ) -> None:
        self.profile = load_scanner_profile(profile) if isinstance(profile, str) else profile
        self.paced = pace
        self.baud = self.profile.baud
        super().__init__(pace_baud=self.baud if pace else None)
        self.source = make_source(images, self.profile.image_width, self.profile.image_height)
        self.faults = GT521Faults()
        self.led_on = False
        self.image: bytes | None = None
        self.images_served = 0

    def handle(self, buffer: bytearray) -> None:
        peer = self.port.peer_baud()
        if peer is not None and peer != self.baud:
            buffer.clear()  # wrong line rate: the module's UART sees framing errors only
            return
        while True:
            start = buffer.find(COMMAND_START)
            if start < 0:
                del buffer[: max(0, len(buffer) - 1)]
                return
            del buffer[:start]
            if len(buffer) < PACKET_LEN:
                return
            packet = bytes(buffer[:PACKET_LEN])
            del buffer[:PACKET_LEN]
            device_id, param, code, got = struct.unpack("<HIHH", packet[2:])
            if got != checksum(packet[:-2]) or device_id != DEVICE_ID:
                self._answer(False, NACK_COMM_ERR)
                continue
            self._command(code, param)

    def _answer(self, ok: bool, param: int = 0, data: bytes | None = None) -> None:
        faults = self.faults
        if faults.silent_answers > 0:
            faults.silent_answers -= 1
            return
        frame = encode_packet(ACK if ok else NACK, param)
        if faults.corrupt_answers > 0:
            faults.corrupt_answers -= 1
            frame = frame[:-1] + bytes([frame[-1] ^ 0xFF])
        if data is not None:
            packet = encode_data(data)
            if faults.corrupt_data_packets > 0:
                faults.corrupt_data_packets -= 1
                packet = packet[:-1] + bytes([packet[-1] ^ 0xFF])
            frame += packet
        stray, faults.stray_before_next = faults.stray_before_next, b""
        self.send(stray + frame)

    def _command(self, code: int, param: int) -> None:
        self.faults.received.append(code)
        if code == Command.OPEN:
            info = struct.pack("<II", FIRMWARE, 0) + bytes(range(16))
            assert len(info) == DEVICE_INFO_LEN
            self._answer(True, 0, info if param else None)
        elif code == Command.CLOSE:
            self._answer(True)
        elif code == Command.CHANGE_BAUD_RATE:
            if param not in BAUD_RATES:
                self._answer(False, NACK_INVALID_BAUDRATE)
                return
            self._answer(True)  # acknowledged at the old rate, then the module switches
            self.baud = param
            if self.paced:
                self.set_pace(param)
        elif code == Command.CMOS_LED:
            self.led_on = bool(param)
            self._answer(True)
        elif code == Command.IS_PRESS_FINGER:
            self._answer(True, 0 if self._finger_seen() else NACK_FINGER_NOT_PRESSED)
        elif code == Command.CAPTURE_FINGER:
            if not self.led_on or not self._finger_seen(consume=False):
                self._answer(False, NACK_FINGER_NOT_PRESSED)
            elif self.faults.bad_captures > 0:
                self.faults.bad_captures -= 1
                self._answer(False, 0x100C)
            else:
                img = fit_to_sensor(self.source(), self.profile.image_width, self.profile.image_height)
                self.image = img.tobytes()
                self.images_served += 1
                self._answer(True)
        elif code == Command.GET_IMAGE:
            if self.image is None:
                self._answer(False, NACK_INVALID_PARAM)
            else:
                self._answer(True, 0, self.image)
        elif code == Command.GET_ENROLL_COUNT:
            self._answer(True, 0)
        else:
            self._answer(False, NACK_NOT_SUPPORTED)

    def _finger_seen(self, consume: bool = True) -> bool:
        """A finger is seen only with the LED on (the optical sensor is dark otherwise)."""
        faults = self.faults
        if not self.led_on or not faults.finger_present:
            return False
        if faults.no_finger_polls > 0:
            if consume:
                faults.no_finger_polls -= 1
            return False
        return True


def main(argv: list[str] | None = None) -> int:
    """Serve one emulated module until interrupted."""
    from emulators.serve import serve_until_interrupted

    parser = argparse.ArgumentParser(prog="python -m emulators.gt521", description=__doc__)
    parser.add_argument("--profile", default="gt521f52", help="scanner profile (gt521f52, gt521f32)")
    parser.add_argument(
        "--images", type=Path, help="folder of fingerprint images, or synthetic:SEED for a synthetic finger (default: a built-in pattern)"
    )
    parser.add_argument("--pace", action="store_true", help="pace output at the module's current baud rate")
    args = parser.parse_args(argv)
    emulator = GT521Emulator(args.profile, args.images, pace=args.pace)
    return serve_until_interrupted(emulator, f"serial://{emulator.path}?profile={emulator.profile.model}")


if __name__ == "__main__":
    raise SystemExit(main())
