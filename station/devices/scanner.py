"""The fingerprint-scanner interface the kit uses, whatever the module or protocol behind it."""

from __future__ import annotations

import abc
import contextlib
import time
from dataclasses import dataclass

import numpy as np

from station.devices.device import Device
from station.devices.errors import DeviceDisconnected, DeviceError
from station.devices.health import DeviceKind, DeviceState, ErrorCode
from station.devices.profiles import ScannerProfile


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
    profile: ScannerProfile

    @abc.abstractmethod
    def open(self) -> None:
        """Open the port, check the module answers, report READY."""

    def capture(self, timeout_s: float | None = None) -> CapturedImage:
        """Wait for a finger (up to ``timeout_s``, default the profile's ``capture_s``) and return its image.

        The light is on only while waiting and reading, and is switched off even when the capture fails; a fault is
        reported as a health event and raised; a module that went away is released (plugging it back in needs a new
        ``open``)."""
        limit = self.profile.capture_s if timeout_s is None else timeout_s
        started = time.monotonic()
        self._report(DeviceState.BUSY, message="place a finger on the scanner")
        try:
            self.set_led(True)
            try:
                pixels = self._read_finger(started + limit, limit)
            finally:
                if self._is_open():
                    with contextlib.suppress(DeviceError):
                        self.set_led(False)
        except DeviceError as exc:
            self._report_error(exc)
            if isinstance(exc, DeviceDisconnected):
                self._release()
            raise
        self._report(DeviceState.READY, message="image captured")
        return CapturedImage(pixels, self.profile.dpi, self.name, time.monotonic() - started)

    @abc.abstractmethod
    def _read_finger(self, deadline: float, limit_s: float) -> np.ndarray:
        """The module's own steps: wait for a finger until ``deadline`` (monotonic s; ``limit_s`` for messages),
        take the image and return its pixels (rows x columns, uint8, writable)."""

    @abc.abstractmethod
    def _is_open(self) -> bool:
        """Whether the port is still open (the light can be switched off)."""

    @abc.abstractmethod
    def _release(self) -> None:
        """Close the port after the module went away, without reporting (the fault was reported)."""

    def _no_finger(self, limit_s: float) -> DeviceError:
        """The error for a voter who placed no finger in time (not a device fault: the screen asks again)."""
        return DeviceError(
            f"{self.name}: no finger placed within {limit_s:.0f} s; ask the voter to place a finger flat on the sensor "
            "and try again",
            int(ErrorCode.SCANNER_NO_FINGER),
        )

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
