"""Shared helpers for the device tests: profiles with short margins so that failure paths stay fast."""

from __future__ import annotations

import dataclasses

import pytest

from station.devices.profiles import ScannerProfile, load_scanner_profile


def quick(profile: str, **changes: object) -> ScannerProfile:
    """A shipped scanner profile with a short processing margin and finger poll (keeps timeout tests fast)."""
    base = load_scanner_profile(profile)
    values: dict[str, object] = {"command_margin_s": 0.15, "image_s": 0.3, "finger_poll_s": 0.01}
    values.update(changes)
    return dataclasses.replace(base, **values)  # type: ignore[arg-type]


@pytest.fixture
def r307() -> ScannerProfile:
    return quick("r307")
