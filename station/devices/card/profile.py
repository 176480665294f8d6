"""Card-reader profiles: ``firmware_configs/readers/<model>.toml``, validated when loaded.

Kept beside the reader (rather than in ``station.devices.profiles``) because a PC/SC reader has no line rate or image
size; the TOML layout and the error messages follow the scanner and printer profiles.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware_configs import PROFILE_DIR
from station.devices.errors import ProfileError
from station.devices.health import ErrorCode

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


def _fail(path: Path, key: str, why: str) -> ProfileError:
    return ProfileError(
        f"reader profile {path}: key '{key}' {why}; fix the file or reinstall the kit's firmware_configs",
        int(ErrorCode.DEVICE_PROFILE_INVALID),
    )


def _get(
    path: Path, doc: dict[str, Any], key: str, kind: type, low: float | None = None, high: float | None = None
) -> Any:
    node: Any = doc
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise _fail(path, key, "is missing")
        node = node[part]
    if kind is float and isinstance(node, int) and not isinstance(node, bool):
        node = float(node)
    if not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
        raise _fail(path, key, f"must be a {kind.__name__}, got {node!r}")
    if isinstance(node, str) and not node.strip():
        raise _fail(path, key, "must not be empty")
    if low is not None and high is not None and isinstance(node, int | float) and not low <= node <= high:
        raise _fail(path, key, f"must be between {low} and {high}, got {node}")
    return node


def parse_reader_profile(path: Path, text: str) -> ReaderProfile:
    """Validate one reader profile's TOML text (``path`` names it in messages)."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(
            f"reader profile {path} is not valid TOML ({exc}); fix the file",
            int(ErrorCode.DEVICE_PROFILE_INVALID),
        ) from exc
    if _get(path, doc, "device.kind", str) != "card_reader":
        raise _fail(path, "device.kind", "must be 'card_reader'")
    if _get(path, doc, "device.protocol", str) != "pcsc":
        raise _fail(path, "device.protocol", "must be 'pcsc'")
    model = _get(path, doc, "device.model", str)
    if path.suffix == ".toml" and model != path.stem:
        raise _fail(path, "device.model", f"must match the file name '{path.stem}', got {model!r}")
    return ReaderProfile(
        model=model,
        description=_get(path, doc, "device.description", str),
        reader=_get(path, doc, "pcsc.reader", str),
        read_face=_get(path, doc, "read.face", bool),
        read_details=_get(path, doc, "read.details", bool),
        read_s=_get(path, doc, "timeouts.read_s", float, 0.2, 60.0),
        poll_ms=_get(path, doc, "timeouts.poll_ms", int, 10, 5000),
        attempts=_get(path, doc, "timeouts.attempts", int, 1, 5),
        path=path,
        camera=_get(path, doc, "camera.source", str) if "camera" in doc else None,
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
