"""The synthetic fingerprint generator's one error family."""

from __future__ import annotations


class SyntheticFingerprintError(ValueError):
    """A generator argument is out of range (unknown pattern class, impossible size, bad seed)."""
