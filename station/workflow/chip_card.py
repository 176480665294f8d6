"""The ID-card reader of ``station.devices.card`` behind the workflows' :class:`CardReader` port.

Basic Access Control needs the MRZ printed on the card (ICAO 9303-11 §4.3: the access keys derive from document
number, birth date and expiry date), so the adapter asks ``mrz_source`` for it (the MRZ camera, or the operator
typing it); a chip that fails passive authentication is handed on as not authentic, which the card path refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from station.workflow.ports import CardData


class ChipReader(Protocol):
    """What this adapter needs from ``station.devices.card.CardReader``."""

    def read_now(self, mrz: Any) -> Any:
        """Read the chip now with BAC from ``mrz``; raises a ``CardError``."""
        ...


class ChipCardReader:
    """Adapter: one blocking chip read -> :class:`CardData`."""

    def __init__(self, device: ChipReader, mrz_source: Callable[[], Any]) -> None:
        self.device = device
        self.mrz_source = mrz_source

    def read_card(self, timeout_s: float | None = None) -> CardData:
        """Read the card on the reader (the device profile bounds the time)."""
        from station.devices.card import PassiveAuthError

        try:
            read = self.device.read_now(self.mrz_source())
        except PassiveAuthError:
            return CardData(personal_number="", authentic=False)
        details = read.details.fields if read.details is not None else {}
        return CardData(
            personal_number=read.personal_number,
            surname=read.mrz.surname if hasattr(read.mrz, "surname") else "",
            given_names=details.get("full_name", ""),
            face=read.face.image if read.face is not None else b"",
            authentic=True,
        )
