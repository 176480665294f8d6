"""``shailoo server shard keys|build``: the CEC side of the station list package (registered by sync_server.cli).

Kept outside ``station.list_package`` so that registering the command imports nothing heavy into the server.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from station.errors import StationError


def add_shard_command(sub: Any, _defaults: Any = None) -> None:
    """Add ``shard`` with ``keys`` and ``build`` to the server's subcommands."""
    shard = sub.add_parser("shard", help="build signed station list packages from the national list")
    ssub = shard.add_subparsers(dest="shard_command", metavar="ACTION")
    keys = ssub.add_parser("keys", help="make the CEC list-signing key and the list encryption key")
    keys.add_argument("--out-dir", type=Path, required=True)
    keys.set_defaults(handler=_keys)
    build = ssub.add_parser("build", help="build and sign one station's package")
    build.add_argument("--national", type=Path, required=True, help="national list CSV (with station_id)")
    build.add_argument("--biometrics", type=Path, help="folder of <pin>.png photos and <pin>.f<N>.tpl templates")
    build.add_argument("--election", required=True)
    build.add_argument("--station", required=True)
    build.add_argument("--signing-key", type=Path, required=True, help="the CEC's cec-signing.key")
    build.add_argument("--list-key", type=Path, required=True, help="list.key (delivered to kits separately)")
    build.add_argument("--out", type=Path, required=True)
    build.add_argument("--no-gallery", action="store_true",
                       help="leave out the packed 1:N gallery (format 1, for kits whose software predates it; they "
                       "build the gallery at start)")
    build.set_defaults(handler=_build)


def _keys(args: argparse.Namespace) -> int:
    from station.list_package.keys import generate_cec_keys

    try:
        paths = generate_cec_keys(args.out_dir)
    except (OSError, StationError) as exc:
        print(f"error: {exc}")
        return 1
    print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def _build(args: argparse.Namespace) -> int:
    from station.list_package import build_package, load_cec_signing_key, load_list_key, read_national_csv

    try:
        national = read_national_csv(args.national, args.biometrics)
        data = build_package(
            national, args.election, args.station, load_cec_signing_key(args.signing_key), load_list_key(args.list_key),
            with_gallery=not args.no_gallery,
        )
    except StationError as exc:
        print(f"error: {exc}")
        return 1
    args.out.write_bytes(data)
    gallery = "without" if args.no_gallery else "with"
    print(f"station {args.station}: package of {len(data)} bytes ({gallery} the packed 1:N gallery) written to {args.out}")
    return 0
