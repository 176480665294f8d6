"""Card-reader profiles: ``firmware_configs/readers/<model>.toml``, validated when loaded.

Kept beside the reader (rather than in ``station.devices.profiles``) because a PC/SC reader has no line rate or image
size; the TOML layout and the error messages follow the scanner and printer profiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from firmware_configs import PROFILE_DIR
from station.devices.errors import ProfileError
from station.devices.health import ErrorCode
from station.devices.profile_toml import ProfileReader, parse_toml

READER_DIR = PROFILE_DIR / "readers"


@dataclass(frozen=True)
class ReaderProfile:
    """A PC/SC ID-card reader: its PC/SC name (prefix), what to read, and time limits."""

    model: str
    description: str
    reader: str
    read_face: bool
    read_details: bool
    read_s: float
    poll_ms: int
    attempts: int
    path: Path
    #: OpenCV camera for photographing the MRZ: a device index ("0") or a path/URL; None when the kit has none.
    camera: str | None = None


def parse_reader_profile(path: Path, text: str) -> ReaderProfile:
    """Validate one reader profile's TOML text (``path`` names it in messages)."""
    r = ProfileReader(path, parse_toml(path, text, "reader"), what="reader")
    r.choice("device.kind", ("card_reader",))
    r.choice("device.protocol", ("pcsc",))
    model = r.text("device.model")
    if path.suffix == ".toml" and model != path.stem:
        raise r.fail("device.model", f"must match the file name '{path.stem}', got {model!r}")
    return ReaderProfile(
        model=model,
        description=r.text("device.description"),
        reader=r.text("pcsc.reader"),
        read_face=r.flag("read.face"),
        read_details=r.flag("read.details"),
        read_s=r.seconds("timeouts.read_s", 0.2, 60.0),
        poll_ms=r.integer("timeouts.poll_ms", 10, 5000),
        attempts=r.integer("timeouts.attempts", 1, 5),
        path=path,
        camera=r.text("camera.source") if r.has("camera") else None,
    )


def load_reader_profile(name: str) -> ReaderProfile:
    """A reader profile by model name (``vpcd``) or by path to a ``.toml`` file."""
    path = Path(name) if name.endswith(".toml") or "/" in name else READER_DIR / f"{name}.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        known = ", ".join(sorted(p.stem for p in READER_DIR.glob("*.toml")))
        raise ProfileError(
            f"reader profile {path} cannot be read ({exc.strerror}); known readers: {known}",
            int(ErrorCode.DEVICE_PROFILE_INVALID),
        ) from exc
    return parse_reader_profile(path, text)


def profile_for_reader(reader_name: str) -> ReaderProfile:
    """The shipped profile whose PC/SC name is a prefix of ``reader_name``."""
    for path in sorted(READER_DIR.glob("*.toml")):
        profile = load_reader_profile(str(path))
        if reader_name.startswith(profile.reader):
            return profile
    raise ProfileError(
        f"no reader profile matches the PC/SC reader {reader_name!r}; add one to firmware_configs/readers/",
        int(ErrorCode.DEVICE_PROFILE_INVALID),
    )
