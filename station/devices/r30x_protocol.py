"""The R30x / ZFM / AS608 "EF01" serial protocol: frames, checksums, commands and the one confirm-code table.

Frame (big-endian): ``EF 01 | address[4] | packet id | length[2] | payload | checksum[2]`` where length counts the
payload plus the checksum, and the checksum is the 16-bit sum of the packet id, both length bytes and the payload.
Shared by the driver (``station.devices.r30x``) and the emulator (``emulators.r30x``), so both speak the same bytes.
"""

from __future__ import annotations

import enum
import struct
import time
from dataclasses import dataclass

import numpy as np

from station.devices.errors import ProtocolError
from station.devices.health import ErrorCode
from station.devices.serial_link import SerialLink

HEADER = b"\xef\x01"
#: Header (2) + address (4) + packet id (1) + length (2).
PREFIX_LEN = 9
CHECKSUM_LEN = 2
#: The largest data payload the module can be configured to (SetSysPara packet size code 3).
MAX_PAYLOAD = 256
#: Stray bytes tolerated before a header before giving up on resynchronisation (a 0x55 after reset, line noise).
MAX_RESYNC_SKIP = 512


class PacketId(enum.IntEnum):
    """Packet identifier byte."""

    COMMAND = 0x01
    DATA = 0x02
    ACK = 0x07
    END_DATA = 0x08


class Command(enum.IntEnum):
    """Instruction codes used by the kit (payload's first byte of a command packet)."""

    GEN_IMG = 0x01
    IMG_2_TZ = 0x02
    UP_IMAGE = 0x0A
    READ_SYS_PARA = 0x0F
    VFY_PWD = 0x13
    TEMPLATE_NUM = 0x1D
    AURA_LED = 0x35
    SOFT_RESET = 0x3D
    HANDSHAKE = 0x40


#: Packet-size code in the system parameters -> bytes per data packet.
PACKET_SIZES = {0: 32, 1: 64, 2: 128, 3: 256}

#: Every confirm code the kit may see -> (operator message, numbered error). One table for the whole driver.
CONFIRM_CODES: dict[int, tuple[str, ErrorCode]] = {
    0x00: ("ok", ErrorCode.NONE),
    0x01: ("the module reports a receive error; the cable may be loose", ErrorCode.SCANNER_PROTOCOL),
    0x02: ("no finger on the sensor; ask the voter to place a finger flat", ErrorCode.SCANNER_NO_FINGER),
    0x03: (
        "the module could not take an image; clean the sensor and try again",
        ErrorCode.SCANNER_IMAGE_FAILED,
    ),
    0x06: ("the image is too messy; ask the voter to clean and dry the finger", ErrorCode.SCANNER_POOR_IMAGE),
    0x07: (
        "too few features in the image; press flatter or try another finger",
        ErrorCode.SCANNER_POOR_IMAGE,
    ),
    0x08: ("the fingers do not match", ErrorCode.NONE),
    0x09: ("no matching template in the module", ErrorCode.NONE),
    0x0A: ("the two enrolment images do not match", ErrorCode.SCANNER_POOR_IMAGE),
    0x0B: ("template index out of range", ErrorCode.SCANNER_PROTOCOL),
    0x0C: ("the stored template cannot be read", ErrorCode.SCANNER_PROTOCOL),
    0x0D: ("the template upload failed", ErrorCode.SCANNER_PROTOCOL),
    0x0E: ("the module cannot receive more data packets", ErrorCode.SCANNER_PROTOCOL),
    0x0F: ("the image upload failed inside the module; try again", ErrorCode.SCANNER_IMAGE_FAILED),
    0x10: ("the template could not be deleted", ErrorCode.SCANNER_PROTOCOL),
    0x11: ("the template library could not be cleared", ErrorCode.SCANNER_PROTOCOL),
    0x13: (
        "wrong module password; check the password in the device profile",
        ErrorCode.SCANNER_WRONG_PASSWORD,
    ),
    0x15: ("no valid image in the module's buffer; capture again", ErrorCode.SCANNER_IMAGE_FAILED),
    0x18: ("the module's flash memory failed; replace the module", ErrorCode.SCANNER_PROTOCOL),
    0x1A: ("invalid register number", ErrorCode.SCANNER_PROTOCOL),
    0x1B: ("invalid register setting", ErrorCode.SCANNER_PROTOCOL),
    0x1C: ("wrong notepad page number", ErrorCode.SCANNER_PROTOCOL),
    0x1D: ("the module's communication port failed", ErrorCode.SCANNER_PROTOCOL),
    0x21: ("the module needs its password checked first", ErrorCode.SCANNER_WRONG_PASSWORD),
}


def describe_confirm(code: int) -> tuple[str, ErrorCode]:
    """Operator message and error number for a confirm code (unknown codes are reported as protocol errors)."""
    return CONFIRM_CODES.get(
        code, (f"the module answered with unknown code 0x{code:02X}", ErrorCode.SCANNER_PROTOCOL)
    )


def checksum(pid: int, payload: bytes) -> int:
    """16-bit sum of the packet id, the two length bytes and the payload."""
    length = len(payload) + CHECKSUM_LEN
    return (pid + (length >> 8) + (length & 0xFF) + sum(payload)) & 0xFFFF


def encode_packet(pid: int, payload: bytes, address: int = 0xFFFFFFFF) -> bytes:
    """One complete frame."""
    length = len(payload) + CHECKSUM_LEN
    return (
        HEADER
        + struct.pack(">IBH", address, pid, length)
        + payload
        + struct.pack(">H", checksum(pid, payload))
    )


def encode_command(command: int, params: bytes = b"", address: int = 0xFFFFFFFF) -> bytes:
    """A command packet: instruction code followed by its parameters."""
    return encode_packet(PacketId.COMMAND, bytes([command]) + params, address)


@dataclass(frozen=True)
class Packet:
    """One received frame."""

    address: int
    pid: int
    payload: bytes
    skipped: int = 0


def read_packet(link: SerialLink, timeout_s: float, address: int = 0xFFFFFFFF) -> Packet:
    """Read one frame within ``timeout_s``, skipping stray bytes before the header (resynchronisation).

    Raises :class:`DeviceTimeout` when no whole frame arrives in time and :class:`ProtocolError` for a bad length,
    unknown packet id, foreign address or checksum mismatch.
    """
    deadline = time.monotonic() + timeout_s
    skipped = link.sync_to(HEADER, deadline, "frame header", MAX_RESYNC_SKIP)
    rest = link.read_exact(PREFIX_LEN - 2, max(deadline - time.monotonic(), 0.001), "frame prefix")
    frame_address, pid, length = struct.unpack(">IBH", rest)
    if pid not in PacketId.__members__.values():
        raise ProtocolError(f"{link.name}: unknown packet id 0x{pid:02X}", int(ErrorCode.SCANNER_PROTOCOL))
    if not CHECKSUM_LEN < length <= MAX_PAYLOAD + CHECKSUM_LEN:
        raise ProtocolError(f"{link.name}: impossible frame length {length}", int(ErrorCode.SCANNER_PROTOCOL))
    body = link.read_exact(length, max(deadline - time.monotonic(), 0.001), "frame body")
    payload, (got,) = body[:-CHECKSUM_LEN], struct.unpack(">H", body[-CHECKSUM_LEN:])
    if got != checksum(pid, payload):
        raise ProtocolError(
            f"{link.name}: checksum mismatch (line noise or wrong baud rate)", int(ErrorCode.SCANNER_PROTOCOL)
        )
    if frame_address != address:
        raise ProtocolError(
            f"{link.name}: answer from address 0x{frame_address:08X}, expected 0x{address:08X}; check the profile",
            int(ErrorCode.SCANNER_PROTOCOL),
        )
    return Packet(frame_address, pid, payload, skipped)


@dataclass(frozen=True)
class SystemParameters:
    """ReadSysPara answer (16 bytes after the confirm code)."""

    status: int
    system_id: int
    library_size: int
    security_level: int
    address: int
    packet_size: int
    baud: int

    @classmethod
    def parse(cls, data: bytes) -> SystemParameters:
        """Decode the 16 parameter bytes; a packet-size code outside 0..3 is a protocol error."""
        if len(data) < 16:
            raise ProtocolError(
                f"system parameters too short ({len(data)} bytes)", int(ErrorCode.SCANNER_PROTOCOL)
            )
        status, sysid, lib, level, address, size_code, baud_n = struct.unpack(">HHHHIHH", data[:16])
        if size_code not in PACKET_SIZES:
            raise ProtocolError(f"invalid packet size code {size_code}", int(ErrorCode.SCANNER_PROTOCOL))
        return cls(status, sysid, lib, level, address, PACKET_SIZES[size_code], 9600 * baud_n)

    def pack(self) -> bytes:
        """The 16 parameter bytes (used by the emulator)."""
        size_code = {v: k for k, v in PACKET_SIZES.items()}[self.packet_size]
        return struct.pack(
            ">HHHHIHH",
            self.status,
            self.system_id,
            self.library_size,
            self.security_level,
            self.address,
            size_code,
            self.baud // 9600,
        )


def pack_image_4bit(pixels: np.ndarray) -> bytes:
    """Greyscale uint8 image -> 4-bit pixels, two per byte, high nibble first (row-major)."""
    nibbles = (pixels.astype(np.uint8) >> 4).reshape(-1)
    if nibbles.size % 2:
        raise ValueError("a 4-bit image needs an even number of pixels")
    return bytes((nibbles[0::2] << 4) | nibbles[1::2])


def unpack_image_4bit(data: bytes, width: int, height: int) -> np.ndarray:
    """4-bit packed bytes -> uint8 image, each nibble scaled to 0..255 (x 17) so white stays 255."""
    expected = width * height // 2
    if len(data) != expected:
        raise ProtocolError(
            f"image has {len(data)} bytes, expected {expected} for {width} x {height} at 4 bit",
            int(ErrorCode.SCANNER_PROTOCOL),
        )
    raw = np.frombuffer(data, dtype=np.uint8)
    out = np.empty(raw.size * 2, dtype=np.uint8)
    out[0::2] = raw >> 4
    out[1::2] = raw & 0x0F
    return (out * 17).reshape(height, width)
