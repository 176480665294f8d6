"""Command and response APDUs of ISO/IEC 7816-4 §5.1 (short length fields only: LDS reads never need more)."""

from __future__ import annotations

from dataclasses import dataclass

from station.devices.card import status_words
from station.devices.card.errors import CardError


@dataclass(frozen=True)
class Command:
    """One command APDU; ``le`` is None for no expected data, 0 to 256 otherwise (256 is encoded as 00)."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def header(self) -> bytes:
        """CLA INS P1 P2."""
        return bytes((self.cla, self.ins, self.p1, self.p2))

    def to_bytes(self) -> bytes:
        """The APDU on the wire (case 1 to 4, short form)."""
        if len(self.data) > 255:
            raise ValueError(
                "command data longer than 255 bytes needs extended length, which is not used here"
            )
        out = self.header()
        if self.data:
            out += bytes((len(self.data),)) + self.data
        if self.le is not None:
            out += bytes((self.le & 0xFF,))
        return out


@dataclass(frozen=True)
class Response:
    """A response APDU: data and the status word."""

    data: bytes
    sw: int

    @classmethod
    def from_bytes(cls, raw: bytes) -> Response:
        """Split a response from the wire; fewer than two bytes is a protocol error."""
        if len(raw) < 2:
            raise CardError(
                f"the card answered {len(raw)} bytes, not even a status word; remove and reinsert it"
            )
        return cls(raw[:-2], (raw[-2] << 8) | raw[-1])

    @property
    def ok(self) -> bool:
        """True for 9000."""
        return self.sw == status_words.SW_OK

    def to_bytes(self) -> bytes:
        """Data then SW1 SW2."""
        return self.data + self.sw.to_bytes(2, "big")


#: The eMRTD application (ICAO 9303-10 §3.6.2).
EMRTD_AID = bytes.fromhex("A0000002471001")

INS_SELECT = 0xA4
INS_READ_BINARY = 0xB0
INS_GET_CHALLENGE = 0x84
INS_EXTERNAL_AUTHENTICATE = 0x82
INS_INTERNAL_AUTHENTICATE = 0x88


def select_application(aid: bytes = EMRTD_AID) -> Command:
    """SELECT by DF name, no response data (P2 = 0C)."""
    return Command(0x00, INS_SELECT, 0x04, 0x0C, aid)


def select_file(fid: int) -> Command:
    """SELECT an elementary file under the current application by its two-byte identifier."""
    return Command(0x00, INS_SELECT, 0x02, 0x0C, fid.to_bytes(2, "big"))


def read_binary(offset: int, length: int) -> Command:
    """READ BINARY ``length`` bytes from ``offset`` (offset below 32768: P1 bit 8 would mean a short file id)."""
    if not 0 <= offset < 0x8000:
        raise ValueError(f"READ BINARY offset {offset} out of range")
    return Command(0x00, INS_READ_BINARY, offset >> 8, offset & 0xFF, b"", length)


def get_challenge() -> Command:
    """GET CHALLENGE for the chip's 8-byte nonce."""
    return Command(0x00, INS_GET_CHALLENGE, 0x00, 0x00, b"", 8)


def internal_authenticate(challenge: bytes) -> Command:
    """INTERNAL AUTHENTICATE for Active Authentication: the chip signs the 8-byte challenge."""
    return Command(0x00, INS_INTERNAL_AUTHENTICATE, 0x00, 0x00, challenge, 256)


def external_authenticate(data: bytes) -> Command:
    """EXTERNAL AUTHENTICATE with the terminal's cryptogram; the chip answers 40 bytes."""
    return Command(0x00, INS_EXTERNAL_AUTHENTICATE, 0x00, 0x00, data, 40)
