"""Device profiles: one TOML file per supported model in ``firmware_configs/``, validated when loaded.

A profile names the protocol and the numbers a driver needs (line rate, image size, resolution, packet size, timeouts,
LED, code page, paper width). A file that is missing a key, has the wrong type or a value out of range is refused as a
whole with a :class:`ProfileError` that names the file and the key, so a technician can fix it before election day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from firmware_configs import PROFILE_DIR
from station.devices.errors import ProfileError
from station.devices.health import ErrorCode
from station.devices.profile_toml import ProfileReader, parse_toml

#: Line rates a serial module or printer can be set to (bits per second).
BAUD_RATES = (9600, 19200, 38400, 57600, 115200, 230400)


@dataclass(frozen=True)
class ScannerProfile:
    """A serial fingerprint module: protocol ``r30x`` (EF01 family) or ``gt521`` (GT-521Fxx family)."""

    model: str
    protocol: str
    description: str
    baud: int
    fast_baud: int | None
    image_width: int
    image_height: int
    dpi: int
    bits_per_pixel: int
    packet_size: int
    address: int
    password: int
    command_margin_s: float
    image_s: float
    capture_s: float
    finger_poll_s: float
    led: str
    path: Path

    @property
    def kind(self) -> str:
        """Always ``scanner``."""
        return "scanner"


@dataclass(frozen=True)
class PrinterProfile:
    """An ESC/POS slip printer on a serial line."""

    model: str
    protocol: str
    description: str
    baud: int
    width_mm: int
    dots_per_line: int
    dpi: int
    chars_per_line: int
    print_speed_mm_s: float
    code_page: str
    code_page_number: int
    status_margin_s: float
    qr: bool
    cut: str
    path: Path

    @property
    def kind(self) -> str:
        """Always ``printer``."""
        return "printer"


Profile = ScannerProfile | PrinterProfile

def _scanner(r: ProfileReader, model: str, protocol: str) -> ScannerProfile:
    fast_baud = r.raw("serial.fast_baud", None)
    packet_size = 0 if protocol == "gt521" else r.choice("protocol.packet_size", (32, 64, 128, 256))
    bits = r.choice("image.bits_per_pixel", (4, 8))
    if protocol == "r30x" and bits != 4:
        raise r.fail("image.bits_per_pixel", "must be 4 for the r30x protocol (UpImage sends 4-bit pixels)")
    return ScannerProfile(
        model=model,
        protocol=protocol,
        description=r.text("device.description"),
        baud=r.choice("serial.baud", BAUD_RATES),
        fast_baud=None if fast_baud is None else r.choice("serial.fast_baud", BAUD_RATES),
        image_width=r.integer("image.width", 16, 2048),
        image_height=r.integer("image.height", 16, 2048),
        dpi=r.integer("image.dpi", 250, 1000),
        bits_per_pixel=bits,
        packet_size=packet_size,
        address=r.integer("protocol.address", 0, 0xFFFFFFFF, 0xFFFFFFFF),
        password=r.integer("protocol.password", 0, 0xFFFFFFFF, 0),
        command_margin_s=r.seconds("timeouts.command_margin_s", 0.01, 10.0),
        image_s=r.seconds("timeouts.image_s", 0.0, 10.0),
        capture_s=r.seconds("timeouts.capture_s", 0.5, 120.0),
        finger_poll_s=r.seconds("timeouts.finger_poll_s", 0.0, 1.0),
        led=r.choice("led.control", ("none", "aura", "cmos")),
        path=r.path,
    )


def _printer(r: ProfileReader, model: str, protocol: str) -> PrinterProfile:
    code_page = r.text("text.code_page")
    try:
        "А".encode(code_page)
    except (LookupError, UnicodeEncodeError):
        raise r.fail(
            "text.code_page", f"must be a Python codec that holds Cyrillic, got {code_page!r}"
        ) from None
    dots = r.integer("paper.dots_per_line", 128, 1024)
    chars = r.integer("paper.chars_per_line", 8, 96)
    if chars * 12 > dots:
        raise r.fail(
            "paper.chars_per_line", f"needs {chars * 12} dots at 12 dots per character, line has {dots}"
        )
    return PrinterProfile(
        model=model,
        protocol=protocol,
        description=r.text("device.description"),
        baud=r.choice("serial.baud", BAUD_RATES),
        width_mm=r.integer("paper.width_mm", 40, 120),
        dots_per_line=dots,
        dpi=r.integer("paper.dpi", 150, 600),
        chars_per_line=chars,
        print_speed_mm_s=r.number("paper.print_speed_mm_s", 10.0, 100_000.0, "mm/s"),
        code_page=code_page,
        code_page_number=r.integer("text.code_page_number", 0, 255),
        status_margin_s=r.seconds("timeouts.status_margin_s", 0.05, 30.0),
        qr=r.flag("features.qr"),
        cut=r.choice("features.cut", ("partial", "full", "none")),
        path=r.path,
    )


_KINDS: dict[str, tuple[tuple[str, ...], Callable[[ProfileReader, str, str], Profile]]] = {
    "scanner": (("r30x", "gt521"), _scanner),
    "printer": (("escpos",), _printer),
}


def parse_profile(path: Path, text: str) -> Profile:
    """Validate one profile's TOML text; ``path`` is only used in error messages."""
    r = ProfileReader(path, parse_toml(path, text, "device"))
    kind = r.choice("device.kind", tuple(_KINDS))
    protocols, build = _KINDS[kind]
    protocol = r.choice("device.protocol", protocols)
    model = r.text("device.model")
    if model != path.stem and path.suffix == ".toml":
        raise r.fail("device.model", f"must match the file name '{path.stem}', got {model!r}")
    return build(r, model, protocol)


def profile_path(name: str) -> Path:
    """The file of a profile given by model name (``r307``) or by a path to a ``.toml`` file."""
    if name.endswith(".toml") or "/" in name:
        return Path(name)
    for folder in ("scanners", "printers"):
        candidate = PROFILE_DIR / folder / f"{name}.toml"
        if candidate.exists():
            return candidate
    known = ", ".join(sorted(available_profiles()))
    raise ProfileError(
        f"no device profile named {name!r}; known profiles: {known}", int(ErrorCode.DEVICE_PROFILE_INVALID)
    )


def load_profile(name: str) -> Profile:
    """Load and validate a profile by model name or path; raises :class:`ProfileError` naming file and key."""
    path = profile_path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(
            f"device profile {path} cannot be read ({exc.strerror}); check the path",
            int(ErrorCode.DEVICE_PROFILE_INVALID),
        ) from exc
    return parse_profile(path, text)


def load_scanner_profile(name: str) -> ScannerProfile:
    """Load a profile that must describe a fingerprint scanner."""
    profile = load_profile(name)
    if not isinstance(profile, ScannerProfile):
        raise ProfileError(
            f"device profile {profile.path} describes a {profile.kind}, not a fingerprint scanner",
            int(ErrorCode.DEVICE_PROFILE_INVALID),
        )
    return profile


def load_printer_profile(name: str) -> PrinterProfile:
    """Load a profile that must describe a slip printer."""
    profile = load_profile(name)
    if not isinstance(profile, PrinterProfile):
        raise ProfileError(
            f"device profile {profile.path} describes a {profile.kind}, not a slip printer",
            int(ErrorCode.DEVICE_PROFILE_INVALID),
        )
    return profile


def available_profiles() -> dict[str, Path]:
    """Every scanner and printer profile shipped in ``firmware_configs/`` by model name."""
    found: dict[str, Path] = {}
    for folder in ("scanners", "printers"):
        for path in sorted((PROFILE_DIR / folder).glob("*.toml")):
            found[path.stem] = path
    return found
