"""The devices as the workflows see them: three small protocols the real drivers (``station.devices``) satisfy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from station.devices.printer import PrintResult, Slip
from station.devices.scanner import CapturedImage

if TYPE_CHECKING:
    from station.devices.card.mrz import Mrz


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
    """What the ID-card reader hands over after BAC, passive and active authentication (ICAO 9303-11).

    ``authentic`` is False for a chip that failed passive or active authentication; ``problem`` then says why
    (altered data group, unknown signer, copied chip) and ``cloned`` marks the copied-chip case.
    """

    personal_number: str
    surname: str = ""
    given_names: str = ""
    face: bytes = b""
    face_mime: str = "image/jpeg"
    authentic: bool = True
    problem: str = ""
    cloned: bool = False
    document_number: str = ""


class CardReader(Protocol):
    """The ID-card reader: reads the chip of the card on it (or raises a ``DeviceError``)."""

    def read_card(self, timeout_s: float | None = None, mrz: Mrz | None = None) -> CardData:
        """Read the chip of the presented card with the access keys of ``mrz`` (typed or photographed);
        without ``mrz`` the reader's own MRZ source is used."""
        ...
