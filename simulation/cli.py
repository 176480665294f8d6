"""``shailoo sim ...``: simulation and training."""

from __future__ import annotations

from typing import Any


def register(subparsers: Any) -> None:
    """Add ``shailoo sim``."""
    parser = subparsers.add_parser("sim", help="simulation and training", description="simulation and training")
    parser.set_defaults(role_parser=parser)
    parser.add_subparsers(dest="sim_command", metavar="COMMAND")
