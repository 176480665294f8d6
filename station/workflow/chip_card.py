"""The ID-card reader of ``station.devices.card`` behind the workflows' :class:`CardReader` port.

Basic Access Control needs the MRZ printed on the card (ICAO 9303-11 §4.3: the access keys derive from document
number, birth date and expiry date), so each read is given the MRZ the operator typed or the MRZ camera read (or, for
tests and trainers, a default ``mrz_source``). A chip that fails passive authentication (altered data group, signer
not on the CSCA list) or active authentication (a copied chip, ICAO 9303-11 §6.1) is handed on as not authentic, with
the reason, and the card path refuses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from station.devices.health import DeviceKind, DeviceState, HealthEvent
from station.workflow.ports import CardData


class ChipReader(Protocol):
    """What this adapter needs from ``station.devices.card.CardReader``."""

    def read_now(self, mrz: Any) -> Any:
        """Read the chip now with BAC from ``mrz``; raises a ``CardError``."""
        ...


class ChipCardReader:
    """Adapter: one blocking chip read -> :class:`CardData`; also the reader's health, card presence and camera."""

    def __init__(self, device: ChipReader, mrz_source: Callable[[], Any] | None = None) -> None:
        self.device = device
        self.mrz_source = mrz_source

    @property
    def health(self) -> HealthEvent:
        """The reader's latest health (the screen's device status)."""
        health = getattr(self.device, "health", None)
        if isinstance(health, HealthEvent):
            return health
        return HealthEvent(DeviceKind.CARD_READER, "card reader", DeviceState.READY)

    @property
    def present(self) -> bool:
        """True while a card lies on the reader (as pcscd last reported)."""
        return bool(getattr(self.device, "present", False))

    @property
    def has_camera(self) -> bool:
        """True when the reader's profile names an MRZ camera."""
        profile = getattr(self.device, "profile", None)
        return getattr(profile, "camera", None) is not None

    @property
    def read_limit_s(self) -> float:
        """Seconds the reader's profile allows for a whole chip read (``timeouts.read_s``; 5 s when unknown).

        A chip that hangs past it keeps the PC/SC call (and so the read) waiting until the card leaves the reader,
        so the screen tells the operator to take the card off after this long."""
        profile = getattr(self.device, "profile", None)
        return float(getattr(profile, "read_s", 5.0))

    def mrz_from_camera(self) -> Any:
        """Photograph the card's MRZ (``CardError`` / ``MrzError`` when there is no camera or no readable MRZ)."""
        return self.device.mrz_from_camera()  # type: ignore[attr-defined]

    def read_card(self, timeout_s: float | None = None, mrz: Any = None) -> CardData:
        """Read the card on the reader (the device profile bounds the time; ``timeout_s`` is not used)."""
        from station.devices.card import MrzError, PassiveAuthError
        from station.devices.card.errors import CloneError

        if mrz is None:
            if self.mrz_source is None:
                raise MrzError("no MRZ given: type the MRZ lines or the document number, birth and expiry dates")
            mrz = self.mrz_source()
        try:
            read = self.device.read_now(mrz)
        except PassiveAuthError as exc:
            return CardData(personal_number="", authentic=False, problem=str(exc), cloned=isinstance(exc, CloneError),
                             document_number=getattr(mrz, "document_number", ""))
        details = read.details.fields if read.details is not None else {}
        return CardData(
            personal_number=read.personal_number,
            surname=getattr(read.mrz, "surname", ""),
            given_names=details.get("full_name", ""),
            face=read.face.image if read.face is not None else b"",
            face_mime=read.face.mime if read.face is not None else "image/jpeg",
            authentic=True,
            document_number=getattr(read.mrz, "document_number", ""),
        )
