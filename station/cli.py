"""``shailoo station ...``: the identification kit on the commission's table."""

from __future__ import annotations

import argparse
import functools
import logging
import os
import threading
from collections.abc import Callable
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
    parser.add_argument("--training", dest="training_scenario", metavar="SCENARIO", type=Path, default=None,
                        help="training mode: play a scenario file (simulation/training/README.md), print a scorecard")
    parser.set_defaults(handler=_training)
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

    pkg = sub.add_parser(
        "load",
        help="load the signed station list package from the CEC (refused unless the signature verifies)",
        description="Verify the CEC signature, the election and the station, open the sealed biometric data with "
        "the list key, then replace the list in one transaction. A refused package leaves the previous list intact.",
    )
    pkg.add_argument("package", type=Path, help="the station's .shlist file")
    pkg.add_argument("--cec-public", type=Path, required=True, help="the CEC's public key (hex text file)")
    pkg.add_argument("--list-key", type=Path, required=True, help="the list key delivered separately")
    pkg.set_defaults(handler=_load_package)

    vlog = sub.add_parser("verify-log", help="check the audit log's hash chain, signatures and marks")
    vlog.add_argument("--public-key", help="the kit's public key (hex) as registered; default: the kit's key file")
    vlog.set_defaults(handler=_verify_log)

    rec = sub.add_parser("receipt", help="print an opening, hourly or closing receipt (signed counters, QR)")
    rec.add_argument("kind", choices=["opening", "hourly", "closing"])
    rec.add_argument("--qr-png", type=Path, help="also write the QR code as a PNG")
    rec.set_defaults(handler=_receipt)

    worker = sub.add_parser("worker", help="register a poll worker who may log in to the screen by PIN")
    worker.add_argument("id", help="worker id, e.g. op1")
    worker.add_argument("--name", required=True)
    worker.add_argument("--role", choices=["operator", "supervisor"], default="operator")
    worker.add_argument("--pin", required=True, help="4 to 8 digits, unique among the kit's workers")
    worker.set_defaults(handler=_worker)

    serve = sub.add_parser(
        "serve",
        help="run the kit: operator screen (local web), devices, peer sync with the station's other kits",
        description="Serve the operator screen on http://HOST:PORT and drive the devices. Devices are given by URL "
        "(serial:///dev/ttyUSB0?profile=r307, emulated://r307, ...).",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8600)
    serve.add_argument("--list-key", type=Path, help="the list key (needed for photos and fingerprints)")
    serve.add_argument("--scanner", help="fingerprint scanner URL")
    serve.add_argument("--printer", help="slip printer URL")
    serve.add_argument("--card-reader",
                       help="ID-card reader URL: pcsc://READER?profile=NAME&csca=FOLDER, or emulated://emrtd")
    serve.add_argument("--peer-bind", help="this kit's peer endpoint, e.g. tcp://0.0.0.0:5601")
    serve.add_argument("--peer", action="append", default=[],
                       help="another kit's peer endpoint, tcp://HOST:PORT#CURVEKEY with --peer-keys (repeatable)")
    serve.add_argument("--peer-keys", type=Path,
                       help="this kit's key file (CURVE pair): encrypt kit-to-kit sync; peers then need #KEY")
    serve.add_argument("--lock-after", type=float, default=120.0, help="seconds idle before the screen locks")
    serve.add_argument("--training", action="store_true", help="training mode: TRAINING on screen and slips")
    serve.add_argument("--matcher", choices=["reference", "native"], default="reference",
                       help="fingerprint matcher: the pure-Python reference, or the compiled native core")
    serve.set_defaults(handler=_serve)

    send = sub.add_parser("send", help="send turnout to the CEC until Ctrl-C (resends after any outage)")
    send.add_argument("--server", required=True, help="CEC endpoint, e.g. tcp://127.0.0.1:5570")
    send.add_argument("--keys", type=Path, required=True, help="this kit's key file from the CEC (CURVE key pair)")
    send.set_defaults(handler=_send)


def _training(args: argparse.Namespace) -> int:
    if args.training_scenario is None:
        args.role_parser.print_help()
        return 2
    from simulation.training.commands import run_command

    return run_command(argparse.Namespace(scenario=args.training_scenario, trainee="trainee", answers=None, out=None,
                                          var=Path(args.db).parent))


Command = Callable[[argparse.Namespace], int]


def _reported(*kinds: type[Exception]) -> Callable[[Command], Command]:
    """A command whose expected failures (``kinds``: a refused step, a bad argument) print one ``error:`` line and exit
    1, so a poll worker or technician at the terminal reads what went wrong instead of a traceback."""

    def wrap(command: Command) -> Command:
        @functools.wraps(command)
        def run(args: argparse.Namespace) -> int:
            try:
                return command(args)
            except kinds as exc:
                print(f"error: {exc}")
                return 1

        return run

    return wrap


def _store(args: argparse.Namespace) -> Any:
    from station.store import KitStore

    return KitStore(args.db)


@_reported(StationError)
def _init(args: argparse.Namespace) -> int:
    _store(args).set_kit_info(args.election, args.station, args.kit)
    print(f"kit {args.kit} of station {args.station} set up for election {args.election} in {args.db}")
    return 0


@_reported(StationError)
def _load_csv(args: argparse.Namespace) -> int:
    from station.voter_list import load_voters, parse_csv

    count = load_voters(_store(args), parse_csv(args.list))
    print(f"loaded {count} voters")
    return 0


@_reported(StationError, ValueError)
def _identify(args: argparse.Namespace) -> int:
    from station.identify import FallbackReason, Outcome, identify_manual

    result = identify_manual(
        _store(args), args.personal_number, FallbackReason(args.reason), args.operator, args.second_member
    )
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


@_reported(StationError)
def _load_package(args: argparse.Namespace) -> int:
    from station.list_package import load_cec_public, load_list_key, load_package

    store = _store(args)
    try:
        count = load_package(store, args.package.read_bytes(), load_cec_public(args.cec_public),
                             load_list_key(args.list_key))
    except OSError as exc:
        print(f"error: cannot read {args.package}: {exc}")
        return 1
    print(f"loaded {count} voters from the signed list package")
    return 0


@_reported(StationError)
def _verify_log(args: argparse.Namespace) -> int:
    from station.audit import verify_log
    from station.signing import public_from_hex

    store = _store(args)
    public = public_from_hex(args.public_key) if args.public_key else store.signing_key().public_key()
    report = verify_log(store, public)
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print(f"{report.entries} entries; " + ("the log verifies" if report.ok else "THE LOG DOES NOT VERIFY"))
    return 0 if report.ok else 2


@_reported(StationError)
def _receipt(args: argparse.Namespace) -> int:
    from station.receipts import ReceiptKind, make_receipt

    receipt = make_receipt(_store(args), ReceiptKind(args.kind))
    print(f"{args.kind.upper()} RECEIPT")
    print("\n".join(receipt.lines()))
    if args.qr_png:
        import segno

        segno.make(receipt.qr_text(), error="m").save(str(args.qr_png), scale=4)
        print(f"QR code written to {args.qr_png}")
    else:
        print(receipt.qr_text())
    return 0


@_reported(StationError)
def _worker(args: argparse.Namespace) -> int:
    from station.staff import Role, add_worker

    add_worker(_store(args), args.id, args.name, Role(args.role), args.pin)
    print(f"worker {args.id} ({args.role}) registered")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from station.gallery import Gallery
    from station.link_status import OutboxLink
    from station.list_package import load_list_key
    from station.matching import EngineMatcher, NativeMatcher
    from station.peers import PeerNode
    from station.runtime import KitRuntime
    from station.ui.app import create_app
    from station.ui.sessions import Sessions

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    store = _store(args)
    try:
        store.kit_info()
        gallery = Gallery(store, load_list_key(args.list_key) if args.list_key else None)
        kit = KitRuntime(store, gallery, training=args.training, link=OutboxLink(store))
        if args.scanner or args.printer:
            from station.devices import open_device

            if args.scanner:
                kit.scanner = open_device(args.scanner)  # type: ignore[assignment]
                kit.scanner.open()  # type: ignore[union-attr]
            if args.printer:
                kit.printer = open_device(args.printer)  # type: ignore[assignment]
                kit.printer.open()  # type: ignore[union-attr]
        if args.card_reader:
            import station.devices.card  # noqa: F401  (registers pcsc:// and emulated://emrtd)
            from station.devices import open_device
            from station.workflow.chip_card import ChipCardReader

            # The card URL opens the reader (and its PC/SC thread) already; the MRZ comes from the screen.
            kit.card_reader = ChipCardReader(open_device(args.card_reader))  # type: ignore[arg-type]
        matcher = NativeMatcher() if args.matcher == "native" else EngineMatcher()
        gallery.prepare(matcher)  # the package's packed gallery, else built
        kit.matcher = matcher
        if args.peer_bind:
            curve = None
            if args.peer_keys:
                from link.keys import KitKeys

                own = KitKeys.load(args.peer_keys)
                curve = (own.public, own.secret)
            kit.peers = PeerNode(store, args.peer_bind, args.peer, curve=curve).start()
    except Exception as exc:  # any start-up failure is reported in one line, the operator calls the technician
        print(f"error: the kit could not start: {exc}")
        return 1
    stop_hourly = threading.Event()
    app = create_app(kit, Sessions(args.lock_after))
    printer_lock = app.state.jobs.devices["printer"]  # one conversation at a time on the printer's line

    def _hourly() -> None:
        while not stop_hourly.wait(20):
            try:
                with printer_lock:
                    kit.maybe_hourly_receipt()
            except StationError as exc:
                logging.getLogger(__name__).warning("hourly receipt: %s", exc)

    threading.Thread(target=_hourly, name="hourly-receipts", daemon=True).start()
    print(f"operator screen on http://{args.host}:{args.port}/")
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        stop_hourly.set()
        if kit.peers is not None:
            kit.peers.stop()
        device = getattr(kit.card_reader, "device", None)
        if device is not None:
            device.close()
    return 0
