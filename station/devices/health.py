"""Device health as events, for the kit's agent and screen and for the CEC (heartbeats).

States follow the MOSIP device interface (Ready / Busy / Not Ready), plus Disconnected; error codes are numbered once
here so that the screen, logs and the CEC speak of the same failure.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field


class DeviceKind(enum.StrEnum):
    """What a device is, as reported in heartbeats."""

    SCANNER = "scanner"
    CARD_READER = "card_reader"
    PRINTER = "printer"
    CAMERA = "camera"


class DeviceState(enum.StrEnum):
    """A device's state at one moment."""

    READY = "ready"
    BUSY = "busy"
    NOT_READY = "not_ready"
    DISCONNECTED = "disconnected"


class ErrorCode(enum.IntEnum):
    """Numbered device errors. 0 means no error. Ranges: 1xx scanner, 2xx card, 3xx printer, 9xx any device."""

    NONE = 0
    SCANNER_NO_FINGER = 101
    SCANNER_IMAGE_FAILED = 102
    SCANNER_POOR_IMAGE = 103
    SCANNER_PROTOCOL = 104
    SCANNER_WRONG_PASSWORD = 105
    CARD_NO_CARD = 201
    CARD_AUTH_FAILED = 202
    CARD_READ_FAILED = 203
    CARD_FORGED = 204
    CARD_REMOVED = 205
    CARD_NO_READER = 206
    PRINTER_PAPER_NEAR_END = 301
    PRINTER_PAPER_OUT = 302
    PRINTER_COVER_OPEN = 303
    PRINTER_OFFLINE = 304
    DEVICE_TIMEOUT = 901
    DEVICE_DISCONNECTED = 902
    DEVICE_PROFILE_INVALID = 903


@dataclass(frozen=True)
class HealthEvent:
    """One device's state change: what, which, state, error code, and a plain-language message."""

    kind: DeviceKind
    device: str
    state: DeviceState
    code: ErrorCode = ErrorCode.NONE
    message: str = ""
    at: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form, as carried in heartbeats to the CEC."""
        return {
            "kind": self.kind.value,
            "device": self.device,
            "state": self.state.value,
            "code": int(self.code),
            "message": self.message,
            "at": self.at,
        }
