"""``shailoo fingerprint ...``: tools of the fingerprint engine."""

from __future__ import annotations

from typing import Any


def register(subparsers: Any) -> None:
    """Add ``shailoo fingerprint``."""
    parser = subparsers.add_parser(
        "fingerprint",
        help="fingerprint engine tools (accuracy evaluation)",
        description="Fingerprint engine tools.",
    )
    parser.set_defaults(role_parser=parser)
    parser.add_subparsers(dest="fingerprint_command", metavar="COMMAND")
