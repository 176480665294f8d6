"""One thread per device, so that no blocking device call runs on the agent's or the screen's path.

A worker owns its device; the agent sends it requests (arm the scanner, print a slip) and reads typed events from one
queue shared by all workers: :class:`HealthEvent` on every state change, :class:`FingerCaptured` /
:class:`CaptureFailed` from scanners, :class:`SlipPrinted` / :class:`PrintFailed` from printers. An idle printer's
status is polled so that "paper near end" shows before the next voter, not during their slip.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from dataclasses import dataclass
from typing import Self

from station.devices.device import Device
from station.devices.errors import DeviceError
from station.devices.health import DeviceState, ErrorCode, HealthEvent
from station.devices.printer import Printer, PrintResult, Slip
from station.devices.scanner import CapturedImage, FingerprintScanner


@dataclass(frozen=True)
class FingerCaptured:
    """A scanner captured an image after being armed."""

    device: str
    image: CapturedImage


@dataclass(frozen=True)
class CaptureFailed:
    """An armed capture ended without an image (no finger in time, poor image, device fault)."""

    device: str
    code: ErrorCode
    message: str


@dataclass(frozen=True)
class SlipPrinted:
    """A slip came out whole; ``ref`` is the caller's reference (for example the identification sequence)."""

    device: str
    ref: str
    result: PrintResult


@dataclass(frozen=True)
class PrintFailed:
    """A slip was not printed, or may be incomplete: the caller keeps the identification and offers a reprint."""

    device: str
    ref: str
    code: ErrorCode
    message: str


DeviceEvent = HealthEvent | FingerCaptured | CaptureFailed | SlipPrinted | PrintFailed

_STOP = object()


def _code(exc: DeviceError) -> ErrorCode:
    try:
        return ErrorCode(exc.code)
    except ValueError:
        return ErrorCode.NONE


class DeviceWorker:
    """Base: a thread that takes requests from its own queue and posts events to the shared ``events`` queue."""

    def __init__(
        self, device: Device, events: queue.Queue[DeviceEvent], idle_poll_s: float | None = None
    ) -> None:
        self.device = device
        self.events = events
        self.idle_poll_s = idle_poll_s
        self._requests: queue.Queue[object] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=f"device-{device.name}", daemon=True)
        device.subscribe(events.put)

    def start(self) -> Self:
        """Start the thread; returns self."""
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            try:
                request = self._requests.get(timeout=self.idle_poll_s)
            except queue.Empty:
                self.idle()
                continue
            if request is _STOP:
                return
            self.serve(request)

    def serve(self, request: object) -> None:
        """Carry out one request (in the worker thread)."""
        raise NotImplementedError

    def idle(self) -> None:
        """Called every ``idle_poll_s`` without a request."""

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the current request, stop the thread and close the device."""
        self._requests.put(_STOP)
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        self.device.close()


class ScannerWorker(DeviceWorker):
    """Arm the scanner with :meth:`arm`; the image (or why there is none) arrives as an event."""

    device: FingerprintScanner

    def __init__(self, scanner: FingerprintScanner, events: queue.Queue[DeviceEvent]) -> None:
        super().__init__(scanner, events)

    def arm(self, timeout_s: float | None = None) -> None:
        """Wait for a finger in the background (up to ``timeout_s``, default from the profile)."""
        self._requests.put(("capture", timeout_s))

    def serve(self, request: object) -> None:
        assert isinstance(request, tuple)
        _, timeout_s = request
        try:
            image = self.device.capture(timeout_s)
        except DeviceError as exc:
            self.events.put(CaptureFailed(self.device.name, _code(exc), str(exc)))
            return
        self.events.put(FingerCaptured(self.device.name, image))


class PrinterWorker(DeviceWorker):
    """Queue slips with :meth:`print`; the outcome of each arrives as an event; idle status is polled."""

    device: Printer

    def __init__(self, printer: Printer, events: queue.Queue[DeviceEvent], idle_poll_s: float = 10.0) -> None:
        super().__init__(printer, events, idle_poll_s)

    def print(self, slip: Slip, ref: str) -> None:
        """Print ``slip`` in the background; ``ref`` comes back in the outcome event."""
        self._requests.put((slip, ref))

    def serve(self, request: object) -> None:
        assert isinstance(request, tuple)
        slip, ref = request
        try:
            result = self.device.print_slip(slip)
        except DeviceError as exc:
            self.events.put(PrintFailed(self.device.name, ref, _code(exc), str(exc)))
            return
        self.events.put(SlipPrinted(self.device.name, ref, result))

    def idle(self) -> None:
        # Health events are posted by the printer itself when the state changes; errors are reported there too.
        with contextlib.suppress(DeviceError):
            self.device.status()


class HealthBoard:
    """The latest health of every device, fed from the event queue; what the agent puts in heartbeats to the CEC."""

    def __init__(self) -> None:
        self._latest: dict[str, HealthEvent] = {}
        self._lock = threading.Lock()

    def update(self, event: DeviceEvent) -> None:
        """Record a health event (other events are ignored, so the whole queue can be passed through)."""
        if isinstance(event, HealthEvent):
            with self._lock:
                self._latest[event.device] = event

    def snapshot(self) -> list[dict[str, object]]:
        """JSON-ready health of each device, in device-name order."""
        with self._lock:
            return [self._latest[name].as_dict() for name in sorted(self._latest)]

    def problems(self) -> list[HealthEvent]:
        """Devices not ready, or ready with a warning (paper near end)."""
        with self._lock:
            return [e for e in self._latest.values() if e.state != DeviceState.READY or e.code != ErrorCode.NONE]
