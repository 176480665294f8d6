"""The GT-521Fxx / GT-511Cx serial protocol (little-endian): packets, checksums and the one NACK-code table.

Command and response packets are 12 bytes: ``55 AA | 01 00 | param[4] | command or response[2] | checksum[2]``; data
packets are ``5A A5 | 01 00 | data | checksum[2]``. The checksum is the 16-bit sum of every byte before it. A response
is 0x30 (ACK, param holds the answer) or 0x31 (NACK, param holds an error code). Shared by driver and emulator.
"""

from __future__ import annotations

import enum
import struct
import time
from dataclasses import dataclass

from station.devices.errors import ProtocolError
from station.devices.health import ErrorCode
from station.devices.serial_link import SerialLink

COMMAND_START = b"\x55\xaa"
DATA_START = b"\x5a\xa5"
DEVICE_ID = 0x0001
PACKET_LEN = 12
#: Start (2) + device id (2) + checksum (2) around a data payload.
DATA_OVERHEAD = 6
#: Stray bytes tolerated before a packet start.
MAX_RESYNC_SKIP = 512
ACK, NACK = 0x30, 0x31
#: Size of the device-information block sent after Open with param 1 (firmware, ISO area size, serial number).
DEVICE_INFO_LEN = 24


class Command(enum.IntEnum):
    """Command codes used by the kit."""

    OPEN = 0x01
    CLOSE = 0x02
    CHANGE_BAUD_RATE = 0x04
    CMOS_LED = 0x12
    GET_ENROLL_COUNT = 0x20
    IS_PRESS_FINGER = 0x26
    CAPTURE_FINGER = 0x60
    GET_IMAGE = 0x62
    GET_RAW_IMAGE = 0x63


#: Every NACK code -> (operator message, numbered error). One table for the whole driver.
NACK_CODES: dict[int, tuple[str, ErrorCode]] = {
    0x1001: ("the module timed out (capture took too long)", ErrorCode.SCANNER_NO_FINGER),
    0x1002: ("the module refused the baud rate; check the profile", ErrorCode.SCANNER_PROTOCOL),
    0x1003: ("template position out of range", ErrorCode.SCANNER_PROTOCOL),
    0x1004: ("template position is not used", ErrorCode.SCANNER_PROTOCOL),
    0x1005: ("template position is already used", ErrorCode.SCANNER_PROTOCOL),
    0x1006: ("the module reports a communication error; the cable may be loose", ErrorCode.SCANNER_PROTOCOL),
    0x1007: ("1:1 verification failed", ErrorCode.NONE),
    0x1008: ("1:N identification failed", ErrorCode.NONE),
    0x1009: ("the module's database is full", ErrorCode.SCANNER_PROTOCOL),
    0x100A: ("the module's database is empty", ErrorCode.SCANNER_PROTOCOL),
    0x100B: ("enrolment steps in the wrong order", ErrorCode.SCANNER_PROTOCOL),
    0x100C: (
        "bad finger image; ask the voter to clean and dry the finger and press flat",
        ErrorCode.SCANNER_POOR_IMAGE,
    ),
    0x100D: ("enrolment failed", ErrorCode.SCANNER_POOR_IMAGE),
    0x100E: ("the module does not support this command", ErrorCode.SCANNER_PROTOCOL),
    0x100F: ("the module has a device error; power-cycle it", ErrorCode.SCANNER_IMAGE_FAILED),
    0x1010: ("the capture was cancelled", ErrorCode.SCANNER_IMAGE_FAILED),
    0x1011: ("invalid parameter", ErrorCode.SCANNER_PROTOCOL),
    0x1012: ("no finger on the sensor; ask the voter to place a finger flat", ErrorCode.SCANNER_NO_FINGER),
}


def describe_nack(code: int) -> tuple[str, ErrorCode]:
    """Operator message and error number for a NACK code (unknown codes are protocol errors)."""
    return NACK_CODES.get(
        code, (f"the module answered with unknown error 0x{code:04X}", ErrorCode.SCANNER_PROTOCOL)
    )


def checksum(data: bytes) -> int:
    """16-bit sum of every byte."""
    return sum(data) & 0xFFFF


def encode_packet(code: int, param: int = 0) -> bytes:
    """A 12-byte command or response packet."""
    body = COMMAND_START + struct.pack("<HIH", DEVICE_ID, param & 0xFFFFFFFF, code)
    return body + struct.pack("<H", checksum(body))


def encode_data(data: bytes) -> bytes:
    """A data packet."""
    body = DATA_START + struct.pack("<H", DEVICE_ID) + data
    return body + struct.pack("<H", checksum(body))


@dataclass(frozen=True)
class Response:
    """A decoded response packet."""

    ok: bool
    param: int
    skipped: int = 0


def read_response(link: SerialLink, timeout_s: float) -> Response:
    """One response packet within ``timeout_s``, resynchronising on stray bytes; bad checksums raise."""
    deadline = time.monotonic() + timeout_s
    skipped = link.sync_to(COMMAND_START, deadline, "response", MAX_RESYNC_SKIP)
    rest = link.read_exact(PACKET_LEN - 2, max(deadline - time.monotonic(), 0.001), "response")
    device_id, param, code, got = struct.unpack("<HIHH", rest)
    if got != checksum(COMMAND_START + rest[:-2]):
        raise ProtocolError(f"{link.name}: response checksum mismatch", int(ErrorCode.SCANNER_PROTOCOL))
    if device_id != DEVICE_ID or code not in (ACK, NACK):
        raise ProtocolError(
            f"{link.name}: not a response (device {device_id}, code 0x{code:04X})",
            int(ErrorCode.SCANNER_PROTOCOL),
        )
    return Response(code == ACK, param, skipped)


def read_data(link: SerialLink, length: int, timeout_s: float) -> bytes:
    """One data packet with exactly ``length`` payload bytes within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    link.sync_to(DATA_START, deadline, "data packet", MAX_RESYNC_SKIP)
    rest = link.read_exact(length + 4, max(deadline - time.monotonic(), 0.001), "data packet")
    (device_id,) = struct.unpack("<H", rest[:2])
    (got,) = struct.unpack("<H", rest[-2:])
    if device_id != DEVICE_ID or got != checksum(DATA_START + rest[:-2]):
        raise ProtocolError(f"{link.name}: data packet checksum mismatch", int(ErrorCode.SCANNER_PROTOCOL))
    return rest[2:-2]
