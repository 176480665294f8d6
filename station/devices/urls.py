"""Devices chosen by URL-like strings, as pyserial chooses its backends.

- ``serial:///dev/ttyUSB0?profile=r307``: a real device on a serial port, driven per its profile's protocol;
- ``emulated://r307?images=DIR&pace=1`` (or ``images=synthetic:SEED`` for a synthetic finger): the project's emulator
  started in this process on a pty, with the real
  driver talking to it (``pace=1`` paces at the profile's baud rate, ``pace=N`` at N; printers take ``out=DIR`` for
  the slip PNGs and ``paper_mm=N`` for a finite roll); the emulator is on ``device.emulator`` for fault injection;
- ``pcsc://Virtual PCD 00 00``: the ID-card reader, implemented in ``station.devices.card``, which registers the
  scheme with :func:`register_scheme` when imported (imported here on first use).

Other packages add schemes with :func:`register_scheme`, or emulated models with :func:`register_emulated`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from station.devices.device import Device
from station.devices.errors import DeviceError, ProfileError
from station.devices.gt521 import GT521Scanner
from station.devices.health import ErrorCode
from station.devices.printer import EscPosPrinter
from station.devices.profiles import PrinterProfile, Profile, ScannerProfile, load_profile
from station.devices.r30x import R30xScanner


@dataclass(frozen=True)
class DeviceUrl:
    """A parsed device URL: scheme, target (port path, reader name or model) and query parameters."""

    url: str
    scheme: str
    target: str
    params: dict[str, str] = field(default_factory=dict)

    def require(self, key: str) -> str:
        """A query parameter that must be present."""
        if key not in self.params:
            raise DeviceError(
                f"device URL {self.url!r} needs ?{key}=...; for example serial:///dev/ttyUSB0?profile=r307",
                int(ErrorCode.DEVICE_PROFILE_INVALID),
            )
        return self.params[key]


Opener = Callable[[DeviceUrl], Device]

_SCHEMES: dict[str, Opener] = {}
_EMULATED: dict[str, Opener] = {}
#: Schemes provided by other modules, imported on first use (they call register_scheme on import).
_LAZY_SCHEMES = {"pcsc": "station.devices.card"}


def register_scheme(scheme: str, opener: Opener) -> None:
    """Make ``scheme://...`` URLs open through ``opener`` (which returns an opened device)."""
    _SCHEMES[scheme] = opener


def register_emulated(model: str, opener: Opener) -> None:
    """Make ``emulated://model`` open through ``opener`` (for models whose emulator lives elsewhere)."""
    _EMULATED[model] = opener


def parse_device_url(url: str) -> DeviceUrl:
    """Split a device URL; raises :class:`DeviceError` for a string that is not one."""
    parts = urlsplit(url)
    if not parts.scheme or "://" not in url:
        raise DeviceError(
            f"{url!r} is not a device URL; use serial:///dev/ttyUSB0?profile=r307, emulated://r307 or "
            "pcsc://Virtual PCD 00 00",
            int(ErrorCode.DEVICE_PROFILE_INVALID),
        )
    target = (
        unquote(parts.netloc + parts.path)
        if parts.scheme != "serial"
        else unquote(parts.path or parts.netloc)
    )
    return DeviceUrl(url, parts.scheme, target, dict(parse_qsl(parts.query)))


def driver_for(port: str, profile: Profile) -> Device:
    """The driver object (not yet opened) for a device of ``profile`` on ``port``."""
    if isinstance(profile, ScannerProfile):
        return R30xScanner(port, profile) if profile.protocol == "r30x" else GT521Scanner(port, profile)
    return EscPosPrinter(port, profile)


def _open(device: Device) -> Device:
    device.open()
    return device


def _open_serial(url: DeviceUrl) -> Device:
    if not url.target:
        raise DeviceError(f"device URL {url.url!r} names no port", int(ErrorCode.DEVICE_PROFILE_INVALID))
    return _open(driver_for(url.target, load_profile(url.require("profile"))))


def _open_emulated(url: DeviceUrl) -> Device:
    if url.target in _EMULATED:
        return _EMULATED[url.target](url)
    from emulators.gt521 import GT521Emulator
    from emulators.printer import PrinterEmulator
    from emulators.pty_port import SerialEmulator
    from emulators.r30x import R30xEmulator

    profile = load_profile(url.target)
    pace = url.params.get("pace", "0")
    if not pace.isdigit():
        raise DeviceError(
            f"device URL {url.url!r}: pace must be 0, 1 or a baud rate", int(ErrorCode.DEVICE_PROFILE_INVALID)
        )
    pace_n = int(pace)
    emulator: SerialEmulator
    if isinstance(profile, PrinterProfile):
        out = url.params.get("out")
        printer = PrinterEmulator(profile, Path(out) if out else None, pace=pace_n > 0)
        if "paper_mm" in url.params:
            printer.faults.paper_left_mm = float(url.params["paper_mm"])
        emulator = printer
    elif profile.protocol == "r30x":
        emulator = R30xEmulator(
            profile,
            url.params.get("images"),
            pace=True if pace_n == 1 else pace_n,
            password=int(url.params.get("password", "0"), 0),
        )
    else:
        emulator = GT521Emulator(profile, url.params.get("images"), pace=pace_n > 0)
    emulator.start()
    device = driver_for(emulator.path, profile)
    device.attach_emulator(emulator)
    try:
        return _open(device)
    except DeviceError:
        emulator.stop()
        raise


register_scheme("serial", _open_serial)
register_scheme("emulated", _open_emulated)


def open_device(url: str) -> Device:
    """Open the device a URL names and return it (already opened; close it when done)."""
    parsed = parse_device_url(url)
    if parsed.scheme not in _SCHEMES and parsed.scheme in _LAZY_SCHEMES:
        try:
            importlib.import_module(_LAZY_SCHEMES[parsed.scheme])
        except ImportError as exc:
            raise DeviceError(
                f"{parsed.scheme}:// devices need {_LAZY_SCHEMES[parsed.scheme]}, which cannot be loaded ({exc})",
                int(ErrorCode.DEVICE_PROFILE_INVALID),
            ) from exc
    opener = _SCHEMES.get(parsed.scheme)
    if opener is None:
        known = ", ".join(sorted(set(_SCHEMES) | set(_LAZY_SCHEMES)))
        raise DeviceError(
            f"unknown device URL scheme {parsed.scheme!r} in {url!r}; known schemes: {known}",
            int(ErrorCode.DEVICE_PROFILE_INVALID),
        )
    try:
        return opener(parsed)
    except ProfileError:
        raise
    except (ValueError, FileNotFoundError) as exc:
        raise DeviceError(f"device URL {url!r}: {exc}", int(ErrorCode.DEVICE_PROFILE_INVALID)) from exc
