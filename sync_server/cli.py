"""``shailoo server ...``: the CEC server, its station registry, kits and access tokens.

Each subcommand is added by one function listed in ``SUBCOMMANDS``; to add a command, write its ``_add_x(sub)``
and list it there.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from station.shard_cli import add_shard_command
from sync_server.config import ServerSettings
from sync_server.errors import ServerError


def _defaults() -> ServerSettings:
    try:
        return ServerSettings.from_env()
    except ServerError:
        return ServerSettings()  # the error is reported when a command runs


def default_keys_dir(database_url: str) -> Path:
    """The server's keys folder: beside a SQLite database file, else ``var/cec-keys``."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / "cec-keys"
    return Path("var/cec-keys")


def _db_args(parser: argparse.ArgumentParser, defaults: ServerSettings) -> None:
    parser.add_argument("--db", default=defaults.database_url, help="SQLAlchemy database URL (default: %(default)s)")
    parser.add_argument("--keys", type=Path, default=None,
                        help="folder of the server's keys (default: beside a SQLite file, else var/cec-keys)")


def _add_run(sub: Any, defaults: ServerSettings) -> None:
    run = sub.add_parser(
        "run",
        help="start the server (ingest from kits + web API + dashboard) until Ctrl-C",
        description="Start the CEC server: migrates the database, listens for kits on the ZeroMQ endpoint (CURVE) "
        "and serves the web API and the live dashboard.",
    )
    _db_args(run, defaults)
    run.add_argument("--host", default=defaults.http_host, help="web address to listen on (default: %(default)s)")
    run.add_argument("--port", type=int, default=defaults.http_port, help="web port (default: %(default)s)")
    run.add_argument("--zmq", default=defaults.zmq_endpoint, help="endpoint kits connect to (default: %(default)s)")
    run.add_argument("--fronts", type=int, default=defaults.ingest_fronts,
                     help="ingest front processes; front i listens on the --zmq port + i, and each kit is given its "
                     "front's endpoint at provisioning (default: %(default)s, one front thread in this process)")
    run.add_argument("--election-mode", choices=("real", "training"), default=defaults.election_mode,
                     help="real: training kits are refused (default: %(default)s)")
    run.set_defaults(handler=_run)


def _add_registry(sub: Any, defaults: ServerSettings) -> None:
    reg = sub.add_parser("registry", help="import the administrative structure (oblasts, districts, commissions, "
                         "stations with addresses)")
    _db_args(reg, defaults)
    source = reg.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv", type=Path, help="registry CSV (columns: station_id, name, address, oblast, "
                        "district, commission_id, commission_name, registered_voters)")
    source.add_argument("--sample", type=int, metavar="N", help="a synthetic structure with N stations per region")
    reg.set_defaults(handler=_registry)


def _add_kit(sub: Any, defaults: ServerSettings) -> None:
    kit = sub.add_parser("kit", help="provision, revoke or list kits")
    kit.set_defaults(role_parser=kit)
    ksub = kit.add_subparsers(dest="kit_command", metavar="ACTION")
    add = ksub.add_parser("add", help="provision a kit: new key pair registered at the CEC, key file written")
    _db_args(add, defaults)
    add.add_argument("--station", required=True, help="station id")
    add.add_argument("--kit", required=True, help="kit number at the station")
    add.add_argument("--training", action="store_true", help="a training kit (refused during the real election)")
    add.add_argument("--out", type=Path, required=True, help="where to write the kit's key file (secret)")
    add.set_defaults(handler=_kit_add)
    revoke = ksub.add_parser("revoke", help="revoke a lost or stolen kit: it is refused from now on")
    _db_args(revoke, defaults)
    revoke.add_argument("--station", required=True)
    revoke.add_argument("--kit", required=True)
    revoke.add_argument("--reason", required=True, help="kept for the audit")
    revoke.set_defaults(handler=_kit_revoke)
    lst = ksub.add_parser("list", help="list kits with their status and last contact")
    _db_args(lst, defaults)
    lst.set_defaults(handler=_kit_list)


def _add_token(sub: Any, defaults: ServerSettings) -> None:
    tok = sub.add_parser("token", help="create an API token for a role (printed once)")
    _db_args(tok, defaults)
    tok.add_argument("--name", required=True)
    tok.add_argument("--role", required=True, choices=("admin", "monitor", "territorial", "observer"))
    tok.add_argument("--area", default="", help="oblast or district (territorial commissions)")
    tok.set_defaults(handler=_token)


def _add_reference(sub: Any, defaults: ServerSettings) -> None:
    ref = sub.add_parser("reference-curve", help="load the previous election's national curve (CSV: hour,percent)")
    _db_args(ref, defaults)
    ref.add_argument("--label", required=True, help="e.g. 2021-parliament")
    ref.add_argument("csv", type=Path)
    ref.set_defaults(handler=_reference)


#: Every ``shailoo server`` subcommand, in help order. Add one line here to add a command.
SUBCOMMANDS: list[Callable[[Any, ServerSettings], None]] = [_add_run, _add_registry, _add_kit, _add_token,
                                                            _add_reference, add_shard_command]


def register(subparsers: Any) -> None:
    """Add ``shailoo server``."""
    parser = subparsers.add_parser(
        "server",
        help="the CEC server: receives turnout from kits, serves the dashboard and open data",
        description="The CEC server. Kits send identifications to it over ZeroMQ; the CEC and observers read "
        "turnout from its web API.",
    )
    parser.set_defaults(role_parser=parser)
    sub = parser.add_subparsers(dest="server_command", metavar="COMMAND")
    defaults = _defaults()
    for add in SUBCOMMANDS:
        add(sub, defaults)


def _settings(args: argparse.Namespace, **overrides: Any) -> ServerSettings:
    keys = args.keys or default_keys_dir(args.db)
    return dataclasses.replace(ServerSettings.from_env(), database_url=args.db, keys_dir=keys, **overrides)


def _sessions(settings: ServerSettings) -> Any:
    from sync_server.db import make_engine, make_sessionmaker, migrate

    engine = make_engine(settings.database_url)
    migrate(engine)
    return make_sessionmaker(engine)


def _guard(action: Callable[[], int]) -> int:
    try:
        return action()
    except ServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from sync_server.app import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    def act() -> int:
        serve(_settings(args, http_host=args.host, http_port=args.port, zmq_endpoint=args.zmq,
                        election_mode=args.election_mode, ingest_fronts=args.fronts))
        return 0

    return _guard(act)


def _registry(args: argparse.Namespace) -> int:
    from sync_server.sample_registry import sample_registry
    from sync_server.services.registry import import_registry, parse_registry_csv

    def act() -> int:
        rows = sample_registry(args.sample) if args.sample else parse_registry_csv(args.csv.read_text("utf-8"))
        with _sessions(_settings(args)).begin() as session:
            count = import_registry(session, rows)
        print(f"imported {count} stations")
        return 0

    return _guard(act)


def _kit_add(args: argparse.Namespace) -> int:
    from sync_server.keys import ensure_server_keys
    from sync_server.services.registry import provision_kit

    def act() -> int:
        settings = _settings(args)
        server = ensure_server_keys(settings.keys_dir)
        with _sessions(settings).begin() as session:
            keys = provision_kit(session, args.station, args.kit, server.curve.public, args.training)
        keys.save(args.out)
        print(f"kit {args.station}/{args.kit} provisioned; key file {args.out} (keep it secret, load it on the kit)")
        return 0

    return _guard(act)


def _kit_revoke(args: argparse.Namespace) -> int:
    from sync_server.services.registry import revoke_kit

    def act() -> int:
        with _sessions(_settings(args)).begin() as session:
            revoke_kit(session, args.station, args.kit, args.reason)
        print(f"kit {args.station}/{args.kit} revoked")
        return 0

    return _guard(act)


def _kit_list(args: argparse.Namespace) -> int:
    from sync_server.services.turnout import kit_status

    with _sessions(_settings(args))() as session:
        for kit in kit_status(session):
            print(f"{kit['station_id']}/{kit['kit_id']}\t{kit['status']}\tlast seen {kit['last_seen_at'] or 'never'}"
                  f"\tpending {kit['pending']}")
    return 0


def _token(args: argparse.Namespace) -> int:
    from sync_server.services.access import create_token

    def act() -> int:
        with _sessions(_settings(args)).begin() as session:
            token = create_token(session, args.name, args.role, args.area)
        print(token)
        return 0

    return _guard(act)


def _reference(args: argparse.Namespace) -> int:
    from sync_server.services.turnout import load_reference_curve

    def act() -> int:
        with args.csv.open(encoding="utf-8") as handle:
            points = {int(r["hour"]): float(r["percent"]) for r in csv.DictReader(handle)}
        with _sessions(_settings(args)).begin() as session:
            load_reference_curve(session, args.label, points)
        print(f"loaded {len(points)} points of {args.label}")
        return 0

    return _guard(act)
