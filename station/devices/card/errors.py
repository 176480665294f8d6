"""The ID-card part of the device error family: every failure of the chip, the MRZ or passive authentication.

Each class carries the numbered :class:`station.devices.health.ErrorCode` the screen and the CEC show, and a message
that tells the operator what to do next.
"""

from __future__ import annotations

from station.devices.errors import DeviceError, DeviceTimeout
from station.devices.health import ErrorCode


class CardError(DeviceError):
    """Base of every ID-card failure."""

    def __init__(self, message: str, code: int = int(ErrorCode.CARD_READ_FAILED)) -> None:
        super().__init__(message, code)


class MrzError(CardError, ValueError):
    """Typed or photographed MRZ data that does not parse or whose check digits disagree."""

    def __init__(self, message: str) -> None:
        super().__init__(message, int(ErrorCode.CARD_AUTH_FAILED))


class NoReaderError(CardError):
    """The configured card reader is not connected (or pcscd is not running)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, int(ErrorCode.CARD_NO_READER))


class NoCardError(CardError):
    """The reader holds no card."""

    def __init__(self, message: str) -> None:
        super().__init__(message, int(ErrorCode.CARD_NO_CARD))


class CardRemovedError(CardError):
    """The card was pulled (or reset by another program) during the read; it can be read again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, int(ErrorCode.CARD_REMOVED))


class CardAuthError(CardError):
    """Basic Access Control failed: the MRZ data does not belong to this chip (or it was mistyped)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, int(ErrorCode.CARD_AUTH_FAILED))


class CardStatusError(CardError):
    """The chip answered a command with an error status word."""

    def __init__(self, message: str, sw: int) -> None:
        super().__init__(message, int(ErrorCode.CARD_READ_FAILED))
        self.sw = sw


class SecureMessagingError(CardError):
    """A secure-messaging response failed its MAC or does not parse: the channel cannot be trusted."""

    def __init__(self, message: str) -> None:
        super().__init__(message, int(ErrorCode.CARD_READ_FAILED))


class LdsError(CardError):
    """A data group or EF.COM read from the chip does not parse as ICAO 9303-10 TLV."""

    def __init__(self, message: str) -> None:
        super().__init__(message, int(ErrorCode.CARD_READ_FAILED))


class PassiveAuthError(CardError):
    """Passive authentication refused the chip: altered data, an unknown signer or a broken EF.SOD."""

    def __init__(self, message: str) -> None:
        super().__init__(message, int(ErrorCode.CARD_FORGED))


class CloneError(PassiveAuthError):
    """The chip could not prove it holds its Active Authentication key: a copy of a genuine card's data."""


class CardTimeout(CardError, DeviceTimeout):
    """The chip or reader did not answer within the profile's time limit."""

    def __init__(self, message: str) -> None:
        CardError.__init__(self, message, int(ErrorCode.DEVICE_TIMEOUT))
