"""The evaluation package's one error family."""

from __future__ import annotations


class EvaluationError(Exception):
    """A database, image or option the evaluation cannot use; the message says what to fix."""
