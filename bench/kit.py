"""``shailoo bench kit``: a whole kit with emulated devices: card/finger to "identified", voters per minute.

What runs: the real kit code (signed list package of ``--voters`` voters with ``--fingers`` templates each, loaded and
unsealed; the workflows; the SQLite store with its audit chain and outbox; the ESC/POS driver printing to the printer
emulator; the R307 driver capturing over an unpaced pty from the R307 emulator; the fingerprint engine's extractor and
MCC reference matcher). Probed voters are enrolled from real FVC2002/FVC2000 "B" impressions (impression 1) and
present impression 2; every other template is a synthetic minutiae set (uniform positions and angles, 25-45 minutiae)
that only fills the gallery: it measures search cost, not accuracy.

What is NOT in the figures: the chip read of the ID card (the card stack and its vpcd emulator are measured by
``bench devices``; here the card's personal number is handed to the workflow when the clock starts), and the human
(looking at the photo, choosing a candidate). "Identified" means committed (mark + audit entry + outbox in one
transaction), which is when the screen says so; the slip print after it is timed separately.

The matcher is the native core (``station.matching.NativeMatcher``) when it is built, else the pure-Python reference
matcher, whose linear 1:N limits the finger-alone gallery (``--finger-gallery-voters``; the size used is in the JSON).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from shailoo.settings import fingerprint_data_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``shailoo bench kit``."""
    parser.add_argument("--voters", type=int, default=3000, help="voters on the station list")
    parser.add_argument("--fingers", type=int, default=10, help="enrolled fingers per voter")
    parser.add_argument("--card-probes", type=int, default=30, help="card+finger identifications timed")
    parser.add_argument("--finger-probes", type=int, default=3, help="finger-alone identifications timed")
    parser.add_argument("--finger-gallery-voters", type=int, default=0,
                        help="voters in the 1:N gallery (all their fingers); 0 = every voter with the native core, "
                        "30 with the pure-Python reference matcher (linear, ~35 ms per template)")
    parser.add_argument("--matcher", choices=["auto", "native", "reference"], default="auto",
                        help="auto: the native core when it is built, else the reference matcher")
    parser.add_argument("--json", type=Path, default=Path("bench/results/kit.json"))
    parser.add_argument("--seed", type=int, default=1)


def _real_subjects() -> list[tuple[Path, Path]]:
    """(enrol impression, probe impression) pairs from the FVC "B" sets."""
    root = fingerprint_data_dir()
    pairs = []
    for year in ("FVC2002", "FVC2000"):
        for db in ("DB1_B", "DB2_B", "DB3_B", "DB4_B"):
            folder = root / year / db
            for enrol in sorted(folder.glob("*_1.tif")):
                probe = enrol.with_name(enrol.name.replace("_1.tif", "_2.tif"))
                if probe.exists():
                    pairs.append((enrol, probe))
    return pairs


def _synthetic_template(rng: random.Random) -> bytes:
    from fingerprint import Minutia, Template, dumps

    count = rng.randint(25, 45)
    minutiae = tuple(
        Minutia(rng.randrange(20, 280), rng.randrange(20, 380), rng.uniform(0, 2 * np.pi)) for _ in range(count)
    )
    return dumps(Template(300, 400, minutiae))


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; prints a table and writes JSON."""
    from emulators.images import load_grey
    from emulators.printer import PrinterEmulator
    from emulators.r30x import R30xEmulator
    from fingerprint import dumps
    from fingerprint.extract import extract
    from station.devices.printer import EscPosPrinter
    from station.devices.profiles import load_printer_profile, load_scanner_profile
    from station.devices.r30x import R30xScanner
    from station.gallery import Gallery
    from station.list_package import (
        ListVoter,
        build_package,
        generate_cec_keys,
        load_cec_public,
        load_cec_signing_key,
        load_list_key,
        load_package,
    )
    from station.matching import EngineMatcher, Matcher, NativeMatcher
    from station.store import KitStore
    from station.workflow import CardData, CardFingerFlow, FingerOnlyFlow, State

    pairs = _real_subjects()
    if not pairs:
        print(f"error: no FVC 'B' impressions under {fingerprint_data_dir()} (set SHAILOO_FINGERPRINT_DATA)")
        return 1
    rng = random.Random(args.seed)
    probed = min(len(pairs), args.voters, args.card_probes + args.finger_probes)
    t0 = time.perf_counter()
    voters = []
    probes: dict[str, np.ndarray] = {}
    for i in range(args.voters):
        pin = f"2{(i % 28) + 1:02d}0{1950 + i % 50}{i:05d}"[:14].ljust(14, "0")
        templates = {f: _synthetic_template(rng) for f in range(1, args.fingers + 1)}
        if i < probed:
            enrol, probe = pairs[i]
            templates[1] = dumps(extract(load_grey(enrol), 500).template)
            probes[pin] = load_grey(probe)
        voters.append(ListVoter("3152", pin, i + 1, "Асанов", "Бакыт", "", "M" if i % 2 else "F",
                                date(1950 + i % 50, 1, 1), f"Каракол, {i}", False, b"", templates))
    # Dedupe PINs defensively (the pattern above is unique for < 100,000 voters).
    assert len({v.personal_number for v in voters}) == len(voters)
    prepare_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        signing, public, list_key_path = generate_cec_keys(tmp / "cec")
        list_key = load_list_key(list_key_path)
        t0 = time.perf_counter()
        data = build_package(voters, "bench", "3152", load_cec_signing_key(signing), list_key)
        build_s = time.perf_counter() - t0
        store = KitStore(tmp / "kit.db")
        store.set_kit_info("bench", "3152", "1")
        t0 = time.perf_counter()
        load_package(store, data, load_cec_public(public), list_key)
        load_s = time.perf_counter() - t0
        gallery = Gallery(store, list_key)
        matcher: Matcher
        matcher_name = args.matcher
        if matcher_name in ("auto", "native"):
            try:
                matcher, matcher_name = NativeMatcher(), "native (Cython MCC bits, screen + shortlist)"
            except ImportError:
                if args.matcher == "native":
                    raise
                matcher_name = "reference"
        if matcher_name == "reference":
            matcher, matcher_name = EngineMatcher(), "fingerprint reference (pure Python MCC)"
        gallery_voters = args.finger_gallery_voters or (len(voters) if matcher_name.startswith("native") else 30)
        pins = [v.personal_number for v in voters]
        t0 = time.perf_counter()
        all_templates = gallery.all_templates()
        unseal_s = time.perf_counter() - t0
        finger_voters = pins[: max(probed, min(gallery_voters, len(pins)))]
        t0 = time.perf_counter()
        matcher.load_gallery({p: all_templates[p] for p in finger_voters})
        gallery_s = time.perf_counter() - t0
        queue: list[np.ndarray] = []
        blank = np.full((288, 256), 255, np.uint8)
        card_ms: list[float] = []
        print_ms: list[float] = []
        finger_ms: list[float] = []
        misses = 0
        with R30xEmulator("r307", images=lambda: queue.pop(0) if queue else blank) as s_emu, \
                PrinterEmulator("escpos58") as p_emu:
            scanner = R30xScanner(s_emu.path, load_scanner_profile("r307"))
            printer = EscPosPrinter(p_emu.path, load_printer_profile("escpos58"))
            scanner.open()
            printer.open()
            try:
                loop_started = time.perf_counter()
                done = 0
                for pin in pins[: min(args.card_probes, probed)]:
                    queue[:] = [probes[pin]]
                    start = time.perf_counter()
                    flow = CardFingerFlow(store, printer, "bench", scanner=scanner, matcher=matcher, gallery=gallery)
                    flow.start()
                    flow.card_read(CardData(pin))
                    flow.capture(timeout_s=10)
                    if flow.state is not State.CONFIRM:
                        misses += 1
                        continue
                    committed: list[float] = []
                    original = flow._print

                    def _stamp(reprint: bool, _orig: Any = original, _c: list[float] = committed) -> None:
                        _c.append(time.perf_counter())
                        _orig(reprint)

                    flow._print = _stamp  # type: ignore[method-assign]
                    flow.confirm()
                    end = time.perf_counter()
                    card_ms.append((committed[0] - start) * 1000)
                    print_ms.append((end - committed[0]) * 1000)
                    done += 1
                loop_s = time.perf_counter() - loop_started
                for pin in pins[len(card_ms) + misses: len(card_ms) + misses + args.finger_probes]:
                    if pin not in probes:
                        break
                    queue[:] = [probes[pin]]
                    finger = FingerOnlyFlow(store, printer, "bench", scanner=scanner, matcher=matcher, gallery=gallery)
                    finger.start()
                    finger.capture(timeout_s=10)
                    if finger.state is not State.CHOOSE:
                        misses += 1
                        continue
                    finger.choose(finger.candidates[0].personal_number)
                    finger.confirm()
                    if finger.identified_after_s is not None:
                        finger_ms.append((finger.identified_after_s) * 1000)
            finally:
                scanner.close()
                printer.close()
                store.close()
    per_min = done / loop_s * 60 if loop_s > 0 else 0.0
    result: dict[str, Any] = {
        "voters": args.voters,
        "fingers_per_voter": args.fingers,
        "card_to_identified_ms_p50": round(_percentile(card_ms, 50), 1),
        "card_to_identified_ms_p95": round(_percentile(card_ms, 95), 1),
        "card_samples": len(card_ms),
        "slip_print_ms_p50": round(_percentile(print_ms, 50), 1),
        "finger_to_identified_ms_p50": round(_percentile(finger_ms, 50), 1),
        "finger_to_identified_ms_p95": round(_percentile(finger_ms, 95), 1),
        "finger_samples": len(finger_ms),
        "finger_gallery_voters": len(finger_voters),
        "finger_gallery_templates": sum(len(all_templates[p]) for p in finger_voters),
        "identifications_per_min": round(per_min, 1),
        # The same loop without the slip's physical print time (the driver waits wire + head time): what the kit
        # sustains once printing overlaps the next voter's card and finger.
        "identifications_per_min_excluding_print": round(60000 / statistics.mean(card_ms), 1) if card_ms else 0.0,
        "misses": misses,
        "prepare_s": round(prepare_s, 1),
        "package_build_s": round(build_s, 2),
        "package_bytes": len(data),
        "package_load_s": round(load_s, 2),
        "unseal_all_s": round(unseal_s, 2),
        "gallery_build_s": round(gallery_s, 2),
        "card_reader_included": False,
        "matcher": matcher_name,
    }
    width = max(len(k) for k in result)
    print("shailoo bench kit")
    for key, value in result.items():
        print(f"  {key:<{width}}  {value}")
    if card_ms:
        print(f"  (card+finger mean {statistics.mean(card_ms):.0f} ms over {len(card_ms)})")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0
