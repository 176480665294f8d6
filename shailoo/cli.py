"""The ``shailoo`` command: one tool, one subcommand per role.

Each component owns its subcommands in its own ``cli.py`` with a ``register(subparsers)`` function; this module only
collects them, so that the kit, the CEC server and the simulator stay independent of each other.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from shailoo import __version__

#: (module, role) in the order they appear in ``shailoo --help``.
_COMPONENTS: tuple[str, ...] = (
    "station.cli",
    "station.devices.cli",
    "sync_server.cli",
    "simulation.cli",
    "evaluation.cli",
    "shailoo.bench_cli",
)

_DESCRIPTION = """\
Shailoo ID: voter identification at polling stations and live turnout at the CEC.

Roles:
  station      the identification kit on the commission's table (load the signed list, identify voters)
  devices      check fingerprint scanners and slip printers by device URL (probe, capture, test slip)
  server       the CEC server: receives turnout from kits, serves the dashboard and open data
  sim          simulation and training: synthetic voters, emulated kits, an election-day rehearsal
  fingerprint  fingerprint engine tools (accuracy evaluation on fingerprint databases)
  bench        measure speed and capacity (prints a table and writes JSON)

Run 'shailoo ROLE --help' for the commands of each role.
"""


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser with every component's subcommands."""
    parser = argparse.ArgumentParser(
        prog="shailoo", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"shailoo {__version__}")
    subparsers = parser.add_subparsers(dest="role", metavar="ROLE")
    for module_name in _COMPONENTS:
        module = importlib.import_module(module_name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        # A role without a command: show that role's help (or the top-level help).
        target = getattr(args, "role_parser", parser)
        target.print_help()
        return 0 if args.role is None else 2
    try:
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
