"""``shailoo server ...``: the CEC server."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from sync_server.config import ServerSettings


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
    defaults = ServerSettings.from_env()
    run = sub.add_parser(
        "run",
        help="start the server (ingest from kits + web API) until Ctrl-C",
        description="Start the CEC server: listens for kits on the ZeroMQ endpoint and serves the web API.",
    )
    run.add_argument("--db", default=defaults.database_url, help="SQLAlchemy database URL (default: %(default)s)")
    run.add_argument("--host", default=defaults.http_host, help="web address to listen on (default: %(default)s)")
    run.add_argument("--port", type=int, default=defaults.http_port, help="web port (default: %(default)s)")
    run.add_argument(
        "--zmq", default=defaults.zmq_endpoint, help="endpoint kits connect to (default: %(default)s)"
    )
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from sync_server.app import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    serve(ServerSettings(database_url=args.db, http_host=args.host, http_port=args.port, zmq_endpoint=args.zmq))
    return 0
