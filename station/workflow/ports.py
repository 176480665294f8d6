"""The devices as the workflows see them: three small protocols the real drivers (``station.devices``) satisfy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from station.devices.printer import PrintResult, Slip
from station.devices.scanner import CapturedImage


class Scanner(Protocol):
    """A fingerprint scanner (``FingerprintScanner`` drivers satisfy it)."""

    def capture(self, timeout_s: float | None = None) -> CapturedImage:
        """Wait for a finger and return its image; raises a ``DeviceError`` on fault or timeout."""
        ...


class SlipPrinter(Protocol):
    """A slip printer (``Printer`` drivers satisfy it)."""

    def print_slip(self, slip: Slip) -> PrintResult:
        """Print one slip; raises a ``DeviceError`` when it cannot (paper out, cover open, unplugged)."""
        ...


@dataclass(frozen=True)
class CardData:
    """What the ID-card reader hands over after BAC and passive authentication (ICAO 9303-11)."""

    personal_number: str
    surname: str = ""
    given_names: str = ""
    face: bytes = b""
    authentic: bool = True


class CardReader(Protocol):
    """The ID-card reader: blocks until a card is read (or raises a ``DeviceError``)."""

    def read_card(self, timeout_s: float | None = None) -> CardData:
        """Read the chip of the presented card."""
        ...
