"""What every driver shares: a name, a kind, a current state, and health events delivered to subscribers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from station.devices.errors import DeviceDisconnected, DeviceError
from station.devices.health import DeviceKind, DeviceState, ErrorCode, HealthEvent

log = logging.getLogger(__name__)

HealthListener = Callable[[HealthEvent], None]


class Device:
    """Base of every driver: keeps the last :class:`HealthEvent` and tells subscribers about each change."""

    kind: DeviceKind

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[HealthListener] = []
        self._lock = threading.Lock()
        self._health = HealthEvent(self.kind, name, DeviceState.NOT_READY, ErrorCode.NONE, "not opened yet")
        #: The in-process emulator behind an ``emulated://`` device (trainers inject faults through it), else None.
        self.emulator: Any = None

    def open(self) -> None:
        """Open the device and report its state."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the device (safe twice)."""
        raise NotImplementedError

    def attach_emulator(self, emulator: Any) -> None:
        """Own an emulator: it is stopped when this device closes."""
        self.emulator = emulator

    def _stop_emulator(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None

    @property
    def health(self) -> HealthEvent:
        """The latest health event."""
        return self._health

    def subscribe(self, listener: HealthListener) -> None:
        """Call ``listener`` with every later health event (from the thread that caused it)."""
        with self._lock:
            self._listeners.append(listener)

    def _report(self, state: DeviceState, code: ErrorCode = ErrorCode.NONE, message: str = "") -> None:
        last = self._health
        if (last.state, last.code, last.message) == (state, code, message):
            return  # no change: subscribers (and the CEC) hear about changes only
        event = HealthEvent(self.kind, self.name, state, code, message)
        self._health = event
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a faulty subscriber must not break the device
                log.exception("health listener failed for %s", self.name)

    def _report_error(self, exc: DeviceError) -> None:
        state = DeviceState.DISCONNECTED if isinstance(exc, DeviceDisconnected) else DeviceState.NOT_READY
        try:
            code = ErrorCode(exc.code)
        except ValueError:
            code = ErrorCode.NONE
        self._report(state, code, str(exc))
