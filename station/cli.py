"""``shailoo station ...``: the identification kit on the commission's table."""

from __future__ import annotations

from typing import Any


def register(subparsers: Any) -> None:
    """Add ``shailoo station``."""
    parser = subparsers.add_parser("station", help="the identification kit on the commission's table", description="the identification kit on the commission's table")
    parser.set_defaults(role_parser=parser)
    parser.add_subparsers(dest="station_command", metavar="COMMAND")
