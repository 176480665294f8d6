"""``shailoo bench devices``: the emulated device stacks, timed end to end through the real drivers.

Each figure runs the driver against the project's emulator over a real pty: unpaced figures measure the software
(framing, unpacking, rendering), paced figures the line rate the real device would impose (10 bits per byte).
Prints a table and writes JSON (``--json OUT``, default ``bench/results/devices.json``).

Other device families add a function to ``MEASUREMENTS`` returning ``{name: value}``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from shailoo.settings import REPO_ROOT

Figures = dict[str, float]


def _scanner_ms(url: str, repeats: int) -> list[float]:
    from station.devices.scanner import FingerprintScanner
    from station.devices.urls import open_device

    device = open_device(url)
    assert isinstance(device, FingerprintScanner)
    try:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            device.capture(30)
            times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        device.close()


def r30x_figures(args: argparse.Namespace) -> Figures:
    """R307 capture (GenImg + UpImage + unpack) unpaced, and one capture paced at 57600 baud."""
    unpaced = _scanner_ms("emulated://r307", args.repeats)
    figures = {
        "r307_capture_ms_unpaced": statistics.median(unpaced),
        "r307_capture_ms_unpaced_max": max(unpaced),
    }
    if not args.quick:
        figures["r307_capture_s_paced_57600"] = _scanner_ms("emulated://r307?pace=57600", 1)[0] / 1000
    return figures


def gt521_figures(args: argparse.Namespace) -> Figures:
    """GT-521F52 capture (IsPressFinger + CaptureFinger + GetImage) unpaced, and paced after the switch to 115200."""
    unpaced = _scanner_ms("emulated://gt521f52", args.repeats)
    figures = {"gt521f52_capture_ms_unpaced": statistics.median(unpaced)}
    if not args.quick:
        figures["gt521f52_capture_s_paced_115200"] = _scanner_ms("emulated://gt521f52?pace=1", 1)[0] / 1000
    return figures


def printer_figures(args: argparse.Namespace) -> Figures:
    """A voter slip (title, lines with Kyrgyz letters as raster, QR, cut) from print_slip call to status after.

    ``printer_slip_ms`` includes the driver's wait before the status after the slip: the slip's wire time at the
    profile's 9600 baud plus the head's time at its print speed (50 mm/s); ``printer_slip_ms_software`` sets both
    very high to show the driver's and emulator's own cost; the paced figure really slows the line to 9600 baud.
    """
    import dataclasses

    from emulators.printer import PrinterEmulator
    from station.devices.printer import EscPosPrinter, Slip
    from station.devices.profiles import load_printer_profile

    slip = Slip(
        title=("ШАЙЛОО 2026", "№ 3152"),
        lines=(
            "Участок 3152, Каракол",
            "Шайлоочу: Асанов Бакыт",
            "Өкүлү: Үсөнбаев Төлөгөн",
            "2026-11-23 08:20",
        ),
        qr_payload="shailoo:e-2026/3152/1/17/9f2c4a1b",
    )
    profile = load_printer_profile("escpos58")
    # Not a real line rate: only to take the modelled waits out of the software figure.
    software = dataclasses.replace(profile, print_speed_mm_s=1e9, baud=1_000_000_000)
    figures: Figures = {}
    with tempfile.TemporaryDirectory() as out:
        for label, prof, pace, repeats in (
            ("printer_slip_ms", profile, False, min(args.repeats, 5)),
            ("printer_slip_ms_software", software, False, args.repeats),
            ("printer_slip_s_paced_9600", profile, True, 0 if args.quick else 1),
        ):
            if not repeats:
                continue
            with PrinterEmulator(prof, Path(out) / label, pace=pace) as emulator:
                device = EscPosPrinter(emulator.path, prof)
                device.open()
                try:
                    times = [device.print_slip(slip).seconds for _ in range(repeats)]
                finally:
                    device.close()
            value = statistics.median(times)
            figures[label] = value * 1000 if label.endswith(("_ms", "_ms_software")) else value
    return figures


def card_figures(args: argparse.Namespace) -> Figures:
    """ID card through pyscard -> pcscd -> vpcd -> the chip emulator, from the card's insertion (the emulator
    connecting to vpcd) to the reader thread's CardReadDone: BAC, EF.COM, DG1 parsed, EF.SOD, passive authentication.
    ``card_read_full_ms_median`` also reads DG2 (face) and DG11. pcscd is started if none runs.
    """
    import dataclasses

    from emulators.card.kit import EmulatedCardStation
    from station.devices.card import (
        CardReadDone,
        CardReader,
        CardReadFailed,
        TrustStore,
        load_reader_profile,
        parse_mrz,
    )
    from station.devices.card.pcsc import PcscContext

    station = EmulatedCardStation(slot=1)  # slot 0 is what the test suites use: keep out of their way
    trust = TrustStore([station.pki.csca_cert])
    base = load_reader_profile("vpcd")
    figures: Figures = {}
    try:
        for label, profile in (
            ("card_read", dataclasses.replace(base, read_face=False, read_details=False)),
            ("card_read_full", base),
        ):
            context = PcscContext()
            context.wait_card(station.reader, present=False, timeout_s=5.0)  # the last card must be seen gone
            reader = CardReader(station.reader, profile, trust)
            reader.open()
            reader.expect(parse_mrz(station.files.mrz))
            times: list[float] = []
            totals: list[float] = []
            try:
                for _ in range(args.repeats):
                    context.wait_card(station.reader, present=False, timeout_s=5.0)
                    started = time.perf_counter()
                    station.insert()
                    while True:
                        event = reader.events.get(timeout=10.0)
                        if isinstance(event, CardReadDone):
                            break
                        if isinstance(event, CardReadFailed):
                            raise RuntimeError(f"card read {len(times)} failed: {event.message}")
                    totals.append((time.perf_counter() - started) * 1000)
                    times.append(event.elapsed_ms)
                    station.remove()
            finally:
                context.close()
                reader.close()
            times.sort()
            figures[f"{label}_ms_median"] = statistics.median(times)
            figures[f"{label}_ms_p95"] = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            if label == "card_read":
                figures["card_insert_to_read_ms_median"] = statistics.median(totals)
    finally:
        station.stop()
    return figures


#: Figure producers, run in order.
MEASUREMENTS: list[Callable[[argparse.Namespace], Figures]] = [
    r30x_figures, gt521_figures, printer_figures, card_figures,
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``shailoo bench devices``."""
    parser.add_argument(
        "--json",
        type=Path,
        default=REPO_ROOT / "bench" / "results" / "devices.json",
        help="write figures here",
    )
    parser.add_argument(
        "--repeats", type=int, default=20, help="unpaced repetitions per figure (median reported)"
    )
    parser.add_argument("--quick", action="store_true", help="skip the paced (real line rate) figures")


def run(args: argparse.Namespace) -> int:
    """Run every measurement, print a table, write JSON."""
    figures: Figures = {}
    for measure in MEASUREMENTS:
        figures.update(measure(args))
    width = max(len(name) for name in figures)
    print(f"{'figure':<{width}}  value")
    for name, value in figures.items():
        print(f"{name:<{width}}  {value:10.3f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "devices",
        "machine": platform.platform(),
        "python": platform.python_version(),
        "repeats": args.repeats,
        "figures": figures,
    }
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0
