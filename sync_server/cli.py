"""``shailoo server ...``: the CEC server."""

from __future__ import annotations

from typing import Any


def register(subparsers: Any) -> None:
    """Add ``shailoo server``."""
    parser = subparsers.add_parser("server", help="the CEC server", description="the CEC server")
    parser.set_defaults(role_parser=parser)
    parser.add_subparsers(dest="server_command", metavar="COMMAND")
