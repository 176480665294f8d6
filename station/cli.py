"""``shailoo station ...``: the identification kit on the commission's table."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from shailoo.settings import var_dir
from station.errors import StationError


def _default_db() -> str:
    return os.environ.get("SHAILOO_KIT_DB", str(var_dir() / "kit.db"))


def register(subparsers: Any) -> None:
    """Add ``shailoo station``."""
    parser = subparsers.add_parser(
        "station",
        help="the identification kit on the commission's table",
        description="The identification kit: set it up for a station, load the voter list, identify voters and "
        "send turnout to the CEC.",
    )
    parser.set_defaults(role_parser=parser)
    parser.add_argument("--db", default=_default_db(), help="the kit's store file (default: %(default)s)")
    sub = parser.add_subparsers(dest="station_command", metavar="COMMAND")

    init = sub.add_parser("init", help="set up this kit for an election, station and kit number")
    init.add_argument("--election", required=True, help="election id, e.g. 2026-parliament")
    init.add_argument("--station", required=True, help="polling station number, e.g. 3152")
    init.add_argument("--kit", required=True, help="this kit's number at the station, e.g. 1")
    init.set_defaults(handler=_init)

    load = sub.add_parser("load-csv", help="load a development voter list (CSV); refused once voting started")
    load.add_argument("list", type=Path, help="CSV file with the station's voters")
    load.set_defaults(handler=_load_csv)

    ident = sub.add_parser(
        "identify",
        help="identify a voter by typed personal number (supervised fallback)",
        description="Identify a voter by typed 14-digit personal number. This is the supervised fallback: give the "
        "reason and a second commission member's confirmation. A voter already identified is refused.",
    )
    ident.add_argument("personal_number", help="the voter's 14-digit personal number")
    ident.add_argument(
        "--reason",
        required=True,
        choices=["no_fingerprints", "worn_prints", "injury", "device_fault", "card_unreadable"],
        help="why the fingerprint could not be used",
    )
    ident.add_argument("--operator", required=True, help="the operator's id")
    ident.add_argument("--second-member", required=True, help="the confirming commission member's id")
    ident.set_defaults(handler=_identify)

    send = sub.add_parser("send", help="send turnout to the CEC until Ctrl-C (resends after any outage)")
    send.add_argument("--server", required=True, help="CEC endpoint, e.g. tcp://127.0.0.1:5570")
    send.add_argument("--keys", type=Path, required=True, help="this kit's key file from the CEC (CURVE key pair)")
    send.set_defaults(handler=_send)


def _store(args: argparse.Namespace) -> Any:
    from station.store import KitStore

    return KitStore(args.db)


def _init(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        store.set_kit_info(args.election, args.station, args.kit)
    except StationError as exc:
        print(f"error: {exc}")
        return 1
    print(f"kit {args.kit} of station {args.station} set up for election {args.election} in {args.db}")
    return 0


def _load_csv(args: argparse.Namespace) -> int:
    from station.voter_list import load_voters, parse_csv

    store = _store(args)
    try:
        count = load_voters(store, parse_csv(args.list))
    except StationError as exc:
        print(f"error: {exc}")
        return 1
    print(f"loaded {count} voters")
    return 0


def _identify(args: argparse.Namespace) -> int:
    from station.identify import FallbackReason, Outcome, identify_manual

    store = _store(args)
    try:
        result = identify_manual(
            store, args.personal_number, FallbackReason(args.reason), args.operator, args.second_member
        )
    except (StationError, ValueError) as exc:
        print(f"error: {exc}")
        return 1
    print(result.describe())
    return {Outcome.IDENTIFIED: 0, Outcome.ALREADY_VOTED: 3, Outcome.NOT_ON_LIST: 4}[result.outcome]


def _send(args: argparse.Namespace) -> int:
    from link.keys import KeyFileError, KitKeys
    from station.agent import run_sender

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        run_sender(_store(args), args.server, KitKeys.load(args.keys))
    except (StationError, KeyFileError) as exc:
        print(f"error: {exc}")
        return 1
    return 0
