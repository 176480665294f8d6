"""One capture step shared by both finger paths: image -> probe, with the quality verdict and device faults."""

from __future__ import annotations

from dataclasses import dataclass

from station.devices.errors import DeviceError
from station.matching import Matcher, Probe
from station.workflow.ports import Scanner

#: Seconds the scanner waits for a finger per capture (MOSIP's capture timeout is 40 s; a queue needs less).
CAPTURE_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Capture:
    """A capture's outcome: a usable probe, or the advice to show, or a device fault."""

    probe: Probe | None
    advice: str
    fault: str = ""


def capture_probe(scanner: Scanner, matcher: Matcher, timeout_s: float = CAPTURE_TIMEOUT_S) -> Capture:
    """Capture one image and extract it; a poor image returns its advice, a device fault its message."""
    try:
        image = scanner.capture(timeout_s)
    except DeviceError as exc:
        return Capture(None, "", fault=str(exc))
    probe = matcher.probe(image.pixels, image.dpi)
    if not probe.acceptable:
        return Capture(None, probe.advice)
    return Capture(probe, probe.advice)
