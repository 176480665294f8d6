"""The training package's one error family."""

from __future__ import annotations


class TrainingError(Exception):
    """Base of every training-mode error; the message says what to change."""


class ScenarioError(TrainingError):
    """A scenario file is malformed: the message names the file, the voter or event, and the field."""
