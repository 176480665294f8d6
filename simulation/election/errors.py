"""The election simulator's one error family."""

from __future__ import annotations


class ElectionSimError(Exception):
    """Base of every error the election-day simulator raises; the message says what to change."""


class FaultFileError(ElectionSimError):
    """A fault scenario file is malformed: the message names the file, the entry and the field."""
