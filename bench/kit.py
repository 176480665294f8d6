"""``shailoo bench kit``: a whole kit with emulated devices: card/finger to "identified", voters per minute.

What runs: the real kit code (signed list package of ``--voters`` voters with ``--fingers`` templates each, built at
the "CEC" with its packed 1:N gallery, loaded, unsealed; the gallery opened from the package as ``shailoo station
serve`` does; the workflows; the SQLite store with its audit chain and outbox; the ESC/POS driver printing to the
printer emulator; the R307 driver capturing over an unpaced pty from the R307 emulator; the kit's extractor and
matcher).

Probed voters are real fingers of the shared databases (FVC2002 DB1-4 "B", FVC2000 DB1/DB3/DB4 "B", CrossMatch,
UPEK; FVC2000 DB2 is left out: its fingers are DB1's, see bench/kit_thresholds.py), taken round-robin over the
databases: enrolled from impression 1 (finger position 1, at the database's dpi), presenting impression 2 and, when
the kit says "no match, try again", impressions 3 and 4 (up to the workflow's tries). The scanner emulator centre-crops
each image to the R307's 256 x 288 px at 500 dpi and sends 4-bit grey, so images of other resolutions are resampled to
500 dpi first. Every other template is a synthetic random-minutiae set that only fills the gallery (search cost).

A *miss* is a genuine probe whose voter is not among the candidates shown (finger alone) or not accepted (card then
finger) after all tries: it is reported as a rate, with the first-try rate and the cases where only other voters
were shown (false candidates, which the operator rejects on the photo).

What is NOT in the figures: the chip read of the ID card (``bench devices`` measures the card stack; here the card's
personal number is handed to the workflow when the clock starts), and the human (looking at the photo, choosing a
candidate). "Identified" means committed (mark + audit entry + outbox in one transaction), which is when the screen
says so; the slip print after it is timed separately.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from shailoo.settings import fingerprint_data_dir

#: (database, dpi) of the real fingers used as probed voters (dpi from the data README).
SUBJECT_DATABASES = (
    ("FVC2002/DB1_B", 500), ("FVC2002/DB2_B", 569), ("FVC2002/DB3_B", 500), ("FVC2002/DB4_B", 500),
    ("FVC2000/DB1_B", 500), ("FVC2000/DB3_B", 500), ("FVC2000/DB4_B", 500),
    ("CrossMatch_sample", 500), ("UPEK", 500),
)
#: The R307's resolution (firmware_configs/scanners/r307.toml): what the emulated sensor images are taken to be.
SENSOR_DPI = 500
#: Templates packed as the fallback packs them (building the gallery at start) to time it per template: the native
#: gallery's stored form (capped bit cylinders and the minutiae without one), or the reference matcher's cylinders.
BUILD_SAMPLE = 300


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``shailoo bench kit``."""
    parser.add_argument("--voters", type=int, default=3000, help="voters on the station list")
    parser.add_argument("--fingers", type=int, default=10, help="enrolled fingers per voter")
    parser.add_argument("--card-probes", type=int, default=30, help="card+finger identifications timed")
    parser.add_argument("--finger-probes", type=int, default=50, help="finger-alone identifications timed")
    parser.add_argument("--finger-gallery-voters", type=int, default=0,
                        help="voters in the 1:N gallery (all their fingers); 0 = every voter with the native core, "
                        "30 with the pure-Python reference matcher (linear, ~35 ms per template)")
    parser.add_argument("--matcher", choices=["auto", "native", "reference"], default="auto",
                        help="auto: the native core when it is built, else the reference matcher")
    parser.add_argument("--json", type=Path, default=Path("bench/results/kit.json"))
    parser.add_argument("--seed", type=int, default=1)


@dataclass(frozen=True)
class Subject:
    """A real finger: its database, the enrolment image and the probe images (impressions 2, 3, 4)."""

    database: str
    dpi: int
    enrol: Path
    probes: tuple[Path, ...]


def real_subjects() -> list[Subject]:
    """Every finger with impressions 1 and 2 in :data:`SUBJECT_DATABASES`, round-robin over the databases."""
    from evaluation.database import samples

    per_db: list[list[Subject]] = []
    root = fingerprint_data_dir()
    for name, dpi in SUBJECT_DATABASES:
        folder = root / name
        if not folder.is_dir():
            continue
        by_finger: dict[str, dict[int, Path]] = {}
        for s in samples(folder):
            by_finger.setdefault(s.finger, {})[s.impression] = s.path
        per_db.append([
            Subject(name, dpi, imps[1], tuple(imps[i] for i in (2, 3, 4) if i in imps))
            for _, imps in sorted(by_finger.items()) if 1 in imps and 2 in imps
        ])
    out = []
    for i in range(max((len(d) for d in per_db), default=0)):
        out += [d[i] for d in per_db if i < len(d)]
    return out


def _synthetic_template(rng: random.Random) -> bytes:
    from fingerprint import Minutia, Template, dumps

    count = rng.randint(25, 45)
    minutiae = tuple(
        Minutia(rng.randrange(20, 280), rng.randrange(20, 380), rng.uniform(0, 2 * np.pi)) for _ in range(count)
    )
    return dumps(Template(300, 400, minutiae))


def _sensor_image(path: Path, dpi: int) -> np.ndarray:
    """The image as the 500-dpi sensor would see the finger (resampled when the database has another dpi)."""
    import cv2

    from emulators.images import load_grey

    image = load_grey(path)
    if dpi == SENSOR_DPI:
        return image
    scale = SENSOR_DPI / dpi
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return np.ascontiguousarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def _percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values), q)), 1) if values else float("nan")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; prints a table and writes JSON."""
    from emulators.images import load_grey
    from fingerprint import cylinders, dumps, loads
    from fingerprint.extract import extract
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

    subjects = real_subjects()
    if not subjects:
        print(f"error: no real fingerprint databases under {fingerprint_data_dir()} (set SHAILOO_FINGERPRINT_DATA)")
        return 1
    load_before = os.getloadavg()
    cpu_started = time.process_time()
    rng = random.Random(args.seed)
    probed = min(len(subjects), args.voters, args.card_probes + args.finger_probes)
    if probed < args.card_probes + args.finger_probes:
        print(f"note: only {probed} real fingers for {args.card_probes + args.finger_probes} probes")
    t0 = time.perf_counter()
    voters = []
    probes: dict[str, tuple[Subject, list[np.ndarray]]] = {}
    for i in range(args.voters):
        pin = f"2{(i % 28) + 1:02d}0{1950 + i % 50}{i:05d}"[:14].ljust(14, "0")
        templates = {f: _synthetic_template(rng) for f in range(1, args.fingers + 1)}
        if i < probed:
            subject = subjects[i]
            templates[1] = dumps(extract(load_grey(subject.enrol), subject.dpi).template)
            probes[pin] = (subject, [_sensor_image(p, subject.dpi) for p in subject.probes])
        voters.append(ListVoter("3152", pin, i + 1, "Асанов", "Бакыт", "", "M" if i % 2 else "F",
                                date(1950 + i % 50, 1, 1), f"Каракол, {i}", False, b"", templates))
    assert len({v.personal_number for v in voters}) == len(voters)
    prepare_s = time.perf_counter() - t0
    matcher: Matcher
    matcher_name = args.matcher
    if matcher_name in ("auto", "native"):
        try:
            matcher, matcher_name = NativeMatcher(), "native (Cython bit MCC screen + shortlist, float MCC rescore)"
        except ImportError:
            if args.matcher == "native":
                raise
            matcher_name = "reference"
    if matcher_name == "reference":
        matcher, matcher_name = EngineMatcher(), "fingerprint reference (pure Python MCC)"
    native = isinstance(matcher, NativeMatcher)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        signing, public, list_key_path = generate_cec_keys(tmp / "cec")
        list_key = load_list_key(list_key_path)
        t0, c0 = time.perf_counter(), time.process_time()
        data = build_package(voters, "bench", "3152", load_cec_signing_key(signing), list_key, with_gallery=native)
        build_s, build_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        store = KitStore(tmp / "kit.db")
        store.set_kit_info("bench", "3152", "1")
        t0 = time.perf_counter()
        load_package(store, data, load_cec_public(public), list_key)
        load_s = time.perf_counter() - t0
        gallery = Gallery(store, list_key)
        pins = [v.personal_number for v in voters]
        gallery_voters = args.finger_gallery_voters or (len(voters) if native else 30)
        finger_voters = pins[: max(probed, min(gallery_voters, len(pins)))]
        t0 = time.perf_counter()
        all_templates = gallery.all_templates()
        unseal_s = time.perf_counter() - t0
        if native and len(finger_voters) == len(pins):
            # As `shailoo station serve` starts: the package's packed gallery, opened (not built).
            gallery_source = gallery.prepare(matcher)
            gallery_s = gallery.search_prepare_s
        else:
            t0 = time.perf_counter()
            matcher.load_gallery({p: all_templates[p] for p in finger_voters})
            gallery_s, gallery_source = time.perf_counter() - t0, "built"
        # What the fallback (a package without the gallery) costs per template, on a sample of this list.
        sample = [loads(t) for p in pins[:BUILD_SAMPLE // args.fingers + 1] for t in all_templates[p].values()]
        sample = sample[:BUILD_SAMPLE]  # fewer on a small list: the per-template figures divide by what was built
        t0, c0 = time.perf_counter(), time.process_time()
        if native:
            from native.gallery import Gallery as NativeGallery

            NativeGallery.build(("0", 1, template) for template in sample)
        else:
            for template in sample:
                cylinders(template)
        build_ms = (time.perf_counter() - t0) * 1000 / max(1, len(sample))
        build_cpu_ms = (time.process_time() - c0) * 1000 / max(1, len(sample))
        measured = _drive(args, store, matcher, gallery, pins, probes, probed)
        store.close()
    n_templates = sum(len(all_templates[p]) for p in finger_voters)
    card, finger = measured["card"], measured["finger"]
    result: dict[str, Any] = {
        "voters": args.voters,
        "fingers_per_voter": args.fingers,
        "card_to_identified_ms_p50": _percentile(card["ms"], 50),
        "card_to_identified_ms_p95": _percentile(card["ms"], 95),
        "card_samples": len(card["ms"]),
        "card_probes": card["probes"],
        "card_misses": card["misses"],
        "card_miss_rate": round(card["misses"] / card["probes"], 3) if card["probes"] else None,
        "card_first_try_miss_rate": round(card["first_try_misses"] / card["probes"], 3) if card["probes"] else None,
        "slip_print_ms_p50": _percentile(measured["print_ms"], 50),
        "finger_to_identified_ms_p50": _percentile(finger["ms"], 50),
        "finger_to_identified_ms_p95": _percentile(finger["ms"], 95),
        "finger_to_identified_ms_max": round(max(finger["ms"]), 1) if finger["ms"] else None,
        "finger_first_try_ms_p95": _percentile(finger["first_try_ms"], 95),
        "finger_cpu_ms_p50": _percentile(finger["cpu_ms"], 50),
        "finger_cpu_ms_p95": _percentile(finger["cpu_ms"], 95),
        "finger_samples": len(finger["ms"]),
        "finger_probes": finger["probes"],
        "finger_misses": finger["misses"],
        "finger_miss_rate": round(finger["misses"] / finger["probes"], 3) if finger["probes"] else None,
        "finger_first_try_miss_rate": round(finger["first_try_misses"] / finger["probes"], 3)
        if finger["probes"] else None,
        "finger_false_candidates_only": finger["false_only"],
        "finger_genuine_not_top": finger["not_top"],
        "misses_by_database": measured["misses_by_database"],
        "finger_gallery_voters": len(finger_voters),
        "finger_gallery_templates": n_templates,
        "identifications_per_min": round(card["done"] / card["loop_s"] * 60, 1) if card["loop_s"] > 0 else 0.0,
        # The same loop without the slip's physical print time (the driver waits wire + head time): what the kit
        # sustains once printing overlaps the next voter's card and finger.
        "identifications_per_min_excluding_print": round(60000 / statistics.mean(card["ms"]), 1)
        if card["ms"] else 0.0,
        "threshold_1to1": matcher.threshold,
        "threshold_1toN": getattr(matcher, "identify_threshold", matcher.threshold),
        "prepare_s": round(prepare_s, 1),
        "package_build_s": round(build_s, 1),
        "package_build_cpu_s": round(build_cpu_s, 1),
        "package_bytes": len(data),
        "package_load_s": round(load_s, 2),
        "unseal_all_s": round(unseal_s, 2),
        "gallery_source": gallery_source,
        "gallery_load_s": round(gallery_s, 3),
        "gallery_build_ms_per_template": round(build_ms, 2),
        "gallery_build_cpu_ms_per_template": round(build_cpu_ms, 2),
        "gallery_build_estimate_s": round(build_ms * n_templates / 1000, 1),
        "card_reader_included": False,
        "matcher": matcher_name,
        "cpu_s": round(time.process_time() - cpu_started, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    width = max(len(k) for k in result)
    print("shailoo bench kit")
    for key, value in result.items():
        print(f"  {key:<{width}}  {value}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0


def _drive(args: argparse.Namespace, store: Any, matcher: Any, gallery: Any, pins: list[str],
           probes: dict[str, tuple[Subject, list[np.ndarray]]], probed: int) -> dict[str, Any]:
    """Run the card+finger then the finger-alone probes through the real workflows and devices."""
    from emulators.printer import PrinterEmulator
    from emulators.r30x import R30xEmulator
    from station.devices.printer import EscPosPrinter
    from station.devices.profiles import load_printer_profile, load_scanner_profile
    from station.devices.r30x import R30xScanner
    from station.workflow import CardData, CardFingerFlow, FingerOnlyFlow, State
    from station.workflow.base import MAX_MATCH_TRIES

    queue: list[np.ndarray] = []
    blank = np.full((288, 256), 255, np.uint8)
    card: dict[str, Any] = {"ms": [], "probes": 0, "misses": 0, "first_try_misses": 0, "done": 0, "loop_s": 0.0}
    finger: dict[str, Any] = {"ms": [], "first_try_ms": [], "cpu_ms": [], "probes": 0, "misses": 0,
                              "first_try_misses": 0, "false_only": 0, "not_top": 0}
    print_ms: list[float] = []
    missed: dict[str, int] = {}
    with R30xEmulator("r307", images=lambda: queue.pop(0) if queue else blank) as s_emu, \
            PrinterEmulator("escpos58") as p_emu:
        scanner = R30xScanner(s_emu.path, load_scanner_profile("r307"))
        printer = EscPosPrinter(p_emu.path, load_printer_profile("escpos58"))
        scanner.open()
        printer.open()
        try:
            card_pins = pins[: min(args.card_probes, probed)]
            loop_started = time.perf_counter()
            for pin in card_pins:
                subject, images = probes[pin]
                card["probes"] += 1
                start = time.perf_counter()
                flow = CardFingerFlow(store, printer, "bench", scanner=scanner, matcher=matcher, gallery=gallery)
                flow.start()
                flow.card_read(CardData(pin))
                for attempt, image in enumerate(images[:MAX_MATCH_TRIES]):
                    queue[:] = [image]
                    flow.capture(timeout_s=10)
                    if flow.state is not State.AWAIT_FINGER:
                        break
                    if attempt == 0:
                        card["first_try_misses"] += 1
                if flow.state is not State.CONFIRM:
                    card["misses"] += 1
                    missed[subject.database] = missed.get(subject.database, 0) + 1
                    continue
                committed: list[float] = []
                original = flow._print

                def _stamp(reprint: bool, _orig: Any = original, _c: list[float] = committed) -> None:
                    _c.append(time.perf_counter())
                    _orig(reprint)

                flow._print = _stamp  # type: ignore[method-assign]
                flow.confirm()
                end = time.perf_counter()
                card["ms"].append((committed[0] - start) * 1000)
                print_ms.append((end - committed[0]) * 1000)
                card["done"] += 1
            card["loop_s"] = time.perf_counter() - loop_started
            for pin in pins[len(card_pins): len(card_pins) + args.finger_probes]:
                if pin not in probes:
                    break
                subject, images = probes[pin]
                finger["probes"] += 1
                cpu = time.process_time()
                alone = FingerOnlyFlow(store, printer, "bench", scanner=scanner, matcher=matcher, gallery=gallery)
                alone.start()
                found = False
                for attempt, image in enumerate(images[:MAX_MATCH_TRIES]):
                    queue[:] = [image]
                    alone.capture(timeout_s=10)
                    shown = [c.personal_number for c in alone.candidates] if alone.state is State.CHOOSE else []
                    if pin in shown:
                        found = True
                        finger["not_top"] += shown[0] != pin
                        break
                    if attempt == 0:
                        finger["first_try_misses"] += 1
                    if shown:
                        finger["false_only"] += 1
                        alone.choose("")  # the operator sees another voter's photo: none of these, try again
                    if alone.state is not State.AWAIT_FINGER:
                        break
                if not found:
                    finger["misses"] += 1
                    missed[subject.database] = missed.get(subject.database, 0) + 1
                    continue
                alone.choose(pin)
                alone.confirm()
                if alone.identified_after_s is not None:
                    finger["ms"].append(alone.identified_after_s * 1000)
                    finger["cpu_ms"].append((time.process_time() - cpu) * 1000)
                    if attempt == 0:
                        finger["first_try_ms"].append(alone.identified_after_s * 1000)
        finally:
            scanner.close()
            printer.close()
    return {"card": card, "finger": finger, "print_ms": print_ms, "misses_by_database": missed}
