"""The fingerprint-scanner interface the kit uses, whatever the module or protocol behind it."""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

from station.devices.device import Device
from station.devices.health import DeviceKind


@dataclass(frozen=True)
class CapturedImage:
    """One fingerprint image: greyscale ``uint8`` pixels (rows x columns, read-only), its resolution and origin."""

    pixels: np.ndarray
    dpi: int
    device: str
    capture_s: float

    def __post_init__(self) -> None:
        if self.pixels.dtype != np.uint8 or self.pixels.ndim != 2:
            raise ValueError("a captured image is a 2-D uint8 array")
        self.pixels.setflags(write=False)


class FingerprintScanner(Device, abc.ABC):
    """A fingerprint module: ``open()``, ``capture(timeout_s)``, ``set_led()``, ``close()``, plus health events."""

    kind = DeviceKind.SCANNER

    @abc.abstractmethod
    def open(self) -> None:
        """Open the port, check the module answers, report READY."""

    @abc.abstractmethod
    def capture(self, timeout_s: float | None = None) -> CapturedImage:
        """Wait for a finger (up to ``timeout_s``, default from the profile) and return its image."""

    @abc.abstractmethod
    def set_led(self, on: bool) -> bool:
        """Switch the module's light; returns False when the module has no controllable LED."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the port (safe to call twice)."""

    def __enter__(self) -> FingerprintScanner:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
