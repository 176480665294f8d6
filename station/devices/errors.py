"""One error family for the device layer; each carries a numbered code from ``station.devices.health``."""

from __future__ import annotations


class DeviceError(Exception):
    """A device failed; ``code`` is a :class:`station.devices.health.ErrorCode` and the message says what to do."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class DeviceTimeout(DeviceError):
    """The device did not answer within its profile's timeout."""


class DeviceDisconnected(DeviceError):
    """The device is unplugged or its port vanished."""


class ProtocolError(DeviceError):
    """The device sent bytes that do not parse as its protocol (after resynchronisation was tried)."""


class ProfileError(DeviceError):
    """A device profile in firmware_configs/ is missing or invalid."""
