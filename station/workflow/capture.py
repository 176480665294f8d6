"""One capture step shared by both finger paths: image -> probe, with the quality verdict and device faults.

A capture may be cancelled by the operator while the scanner waits for a finger: the wait is then cut into slices of
:data:`CANCEL_SLICE_S`, and the cancel flag is checked between slices (the serial modules have no "stop waiting"
command, so a slice is the longest the operator waits after pressing Cancel).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from station.devices.errors import DeviceError
from station.devices.health import ErrorCode
from station.devices.scanner import CapturedImage
from station.errors import WorkflowError
from station.matching import Matcher, Probe
from station.workflow.ports import Scanner

#: Seconds the scanner waits for a finger per capture (MOSIP's capture timeout is 40 s; a queue needs less).
CAPTURE_TIMEOUT_S = 20.0
#: Seconds of one slice of a cancellable wait for a finger (the Cancel button's worst-case delay, plus an upload).
CANCEL_SLICE_S = 1.0


class CaptureCancelled(WorkflowError):
    """The operator cancelled while the scanner was waiting for a finger."""


@dataclass(frozen=True)
class Capture:
    """A capture's outcome: a usable probe, or the advice to show, or a device fault, or no finger in time."""

    probe: Probe | None
    advice: str
    fault: str = ""
    no_finger: bool = False


def capture_image(scanner: Scanner, timeout_s: float, cancel: threading.Event | None = None) -> CapturedImage:
    """Wait up to ``timeout_s`` for a finger; with ``cancel``, in slices, raising :class:`CaptureCancelled` once it is
    set. Raises the scanner's ``DeviceError`` otherwise (no finger in time: code ``SCANNER_NO_FINGER``)."""
    if cancel is None:
        return scanner.capture(timeout_s)
    deadline = time.monotonic() + timeout_s
    while True:
        if cancel.is_set():
            raise CaptureCancelled("capture cancelled by the operator")
        left = deadline - time.monotonic()
        try:
            return scanner.capture(max(min(CANCEL_SLICE_S, left), 0.1))
        except DeviceError as exc:
            if exc.code != ErrorCode.SCANNER_NO_FINGER:
                raise
            if time.monotonic() >= deadline - 0.05:
                raise DeviceError(
                    f"no finger placed within {timeout_s:.0f} s; ask the voter to place a finger flat on the sensor "
                    "and press Scan again",
                    int(ErrorCode.SCANNER_NO_FINGER),
                ) from exc


def capture_probe(
    scanner: Scanner, matcher: Matcher, timeout_s: float = CAPTURE_TIMEOUT_S, cancel: threading.Event | None = None
) -> Capture:
    """Capture one image and extract it; a poor image returns its advice, a device fault its message, no finger in
    time ``no_finger`` (not a fault: the voter simply did not place a finger yet)."""
    try:
        image = capture_image(scanner, timeout_s, cancel)
    except DeviceError as exc:
        if exc.code == ErrorCode.SCANNER_NO_FINGER:
            return Capture(None, str(exc), no_finger=True)
        return Capture(None, "", fault=str(exc))
    probe = matcher.probe(image.pixels, image.dpi)
    if not probe.acceptable:
        return Capture(None, probe.advice)
    return Capture(probe, probe.advice)


def advice_notice(advice: str) -> str:
    """The screen's catalogue key (``notice.quality.*``) for a quality verdict's advice, or ``""`` when unknown."""
    from fingerprint.quality import Verdict

    for verdict in Verdict:
        if verdict.value == advice:
            return f"quality.{verdict.name.lower()}"
    return ""
