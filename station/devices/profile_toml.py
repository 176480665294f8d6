"""Reading one device profile's TOML (``firmware_configs/``): parse it and read typed keys out of it.

Scanner, printer and card-reader profiles are hand-edited by technicians, so every complaint is a
:class:`ProfileError` that names the file and the dotted key and says what to fix. Shared by
``station.devices.profiles`` (scanners, printers) and ``station.devices.card.profile`` (card readers).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from station.devices.errors import ProfileError
from station.devices.health import ErrorCode

_MISSING = object()


def parse_toml(path: Path, text: str, what: str) -> dict[str, Any]:
    """The TOML document in ``text``; invalid TOML is a ProfileError naming the ``what`` profile ``path``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(
            f"{what} profile {path} is not valid TOML ({exc}); fix the file",
            int(ErrorCode.DEVICE_PROFILE_INVALID),
        ) from exc


class ProfileReader:
    """Reads typed keys out of a parsed profile; every complaint names the file and the dotted key."""

    def __init__(self, path: Path, doc: dict[str, Any], what: str = "device") -> None:
        self.path = path
        self.doc = doc
        self.what = what

    def fail(self, key: str, why: str) -> ProfileError:
        """The error for ``key`` (to raise), naming the file."""
        return ProfileError(
            f"{self.what} profile {self.path}: key '{key}' {why}; fix the file or reinstall the kit's firmware_configs",
            int(ErrorCode.DEVICE_PROFILE_INVALID),
        )

    def has(self, key: str) -> bool:
        """Whether the dotted ``key`` is present (for optional sections)."""
        node: object = self.doc
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    def raw(self, key: str, default: object = _MISSING) -> object:
        """The value at the dotted ``key`` (``default`` if given and the key is absent)."""
        node: object = self.doc
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is not _MISSING:
                    return default
                raise self.fail(key, "is missing")
            node = node[part]
        return node

    def integer(self, key: str, low: int, high: int, default: object = _MISSING) -> int:
        """An integer in [low, high]."""
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be an integer, got {value!r}")
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low} and {high}, got {value}")
        return value

    def choice(self, key: str, choices: tuple[Any, ...], default: object = _MISSING) -> Any:
        """One of ``choices``."""
        value = self.raw(key, default)
        if value not in choices or isinstance(value, bool) != isinstance(choices[0], bool):
            raise self.fail(key, f"must be one of {', '.join(map(repr, choices))}, got {value!r}")
        return value

    def number(self, key: str, low: float, high: float, unit: str, default: object = _MISSING) -> float:
        """A number of ``unit`` in [low, high] (an integer in the file is accepted)."""
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number of {unit}, got {value!r}")
        if not low <= float(value) <= high:
            raise self.fail(key, f"must be between {low} and {high} {unit}, got {value}")
        return float(value)

    def seconds(self, key: str, low: float, high: float, default: object = _MISSING) -> float:
        """A duration in seconds in [low, high]."""
        return self.number(key, low, high, "seconds", default)

    def text(self, key: str, default: object = _MISSING) -> str:
        """A non-empty string."""
        value = self.raw(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, got {value!r}")
        return value

    def flag(self, key: str, default: object = _MISSING) -> bool:
        """true or false."""
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {value!r}")
        return value
