"""``shailoo devices ...``: a technician's checks of scanners and printers, by device URL.

shailoo devices profiles                         every shipped profile and what it describes
shailoo devices probe URL                        open the device, print its health as JSON, close it
shailoo devices capture URL --out finger.png     take one fingerprint image
shailoo devices test-slip URL                    print a test slip with Cyrillic, Kyrgyz letters and a QR code
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from station.devices.errors import DeviceError
from station.devices.printer import Printer, Slip
from station.devices.profiles import available_profiles, load_profile
from station.devices.scanner import FingerprintScanner
from station.devices.urls import open_device

TEST_SLIP = Slip(
    title=("ТЕСТ / TEST",),
    lines=("Кириллица: АБВГД абвгд", "Кыргыз тамгалары: Ң ң Ө ө Ү ү", "0123456789 ABC abc"),
    qr_payload="shailoo:test-slip",
    training=True,
)


def register(subparsers: Any) -> None:
    """Add ``shailoo devices``."""
    parser = subparsers.add_parser(
        "devices",
        help="check fingerprint scanners and slip printers by device URL",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(role_parser=parser)
    sub = parser.add_subparsers(dest="devices_command", metavar="COMMAND")

    sub.add_parser("profiles", help="list the shipped device profiles").set_defaults(handler=_profiles)

    probe = sub.add_parser("probe", help="open a device and print its health as JSON")
    probe.add_argument("url", help="e.g. serial:///dev/ttyUSB0?profile=r307 or emulated://r307")
    probe.set_defaults(handler=_probe)

    capture = sub.add_parser("capture", help="take one fingerprint image and save it as PNG")
    capture.add_argument("url")
    capture.add_argument(
        "--out", type=Path, default=Path("finger.png"), help="PNG to write (default %(default)s)"
    )
    capture.add_argument(
        "--timeout", type=float, help="seconds to wait for a finger (default: the profile's)"
    )
    capture.set_defaults(handler=_capture)

    slip = sub.add_parser("test-slip", help="print a test slip (Cyrillic, Kyrgyz letters, QR code)")
    slip.add_argument("url")
    slip.set_defaults(handler=_test_slip)


def _profiles(args: argparse.Namespace) -> int:
    for name, path in available_profiles().items():
        try:
            profile = load_profile(str(path))
            print(f"{name:<10} {profile.kind:<8} {profile.protocol:<7} {profile.description}")
        except DeviceError as exc:
            print(f"{name:<10} INVALID  {exc}")
    return 0


def _run(url: str, action: Any) -> int:
    try:
        device = open_device(url)
    except DeviceError as exc:
        print(f"error {exc.code}: {exc}", file=sys.stderr)
        return 1
    try:
        return int(action(device))
    except DeviceError as exc:
        print(f"error {exc.code}: {exc}", file=sys.stderr)
        return 1
    finally:
        device.close()


def _probe(args: argparse.Namespace) -> int:
    return _run(args.url, lambda device: print(json.dumps(device.health.as_dict(), ensure_ascii=False)) or 0)


def _capture(args: argparse.Namespace) -> int:
    from PIL import Image

    def action(device: Any) -> int:
        if not isinstance(device, FingerprintScanner):
            print(f"{args.url} is not a fingerprint scanner", file=sys.stderr)
            return 2
        shot = device.capture(args.timeout)
        Image.fromarray(shot.pixels).save(args.out, dpi=(shot.dpi, shot.dpi))
        height, width = shot.pixels.shape
        print(f"{args.out}: {width} x {height} at {shot.dpi} dpi in {shot.capture_s:.2f} s")
        return 0

    return _run(args.url, action)


def _test_slip(args: argparse.Namespace) -> int:
    def action(device: Any) -> int:
        if not isinstance(device, Printer):
            print(f"{args.url} is not a slip printer", file=sys.stderr)
            return 2
        result = device.print_slip(TEST_SLIP)
        print(
            f"printed {result.bytes_sent} bytes in {result.seconds:.2f} s; status after: {result.status_after}"
        )
        return 0

    return _run(args.url, action)
