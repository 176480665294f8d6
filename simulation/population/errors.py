"""The synthetic population's one error family."""

from __future__ import annotations


class PopulationError(ValueError):
    """A personal number, MRZ or generator argument is invalid; the message says which field and why."""
