"""Reading the TOML files trainers and rehearsal planners edit (training scenarios, election-day fault plans).

Both are hand-written, so every error names the file and says what to fix, in the caller's own error type.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def read_text(path: Path, what: str, error: type[Exception]) -> str:
    """The file's text; an unreadable file raises ``error`` naming ``what`` it is and why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read the {what} {path}: {exc.strerror}") from exc


def parse(text: str, source: str, error: type[Exception]) -> dict[str, Any]:
    """The TOML document in ``text``; invalid TOML raises ``error`` naming ``source`` and the offending line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source}: not valid TOML ({exc}); fix the line it names") from exc
