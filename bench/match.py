"""``shailoo bench match``: speed and accuracy of the native matching core (bit-based MCC with LSS-R).

Figures (JSON keys):

- ``comparisons_per_s_1core``: full LSS-R comparisons per CPU-second of the one searching thread (``thread_time``, so
  other work on a shared machine does not lower it), over a 3,000-template mixed gallery; the wall-clock figure is
  beside it. Every counted comparison is a full score: the bench checks the scores of the first probe against the
  numpy oracle (``fingerprint.mcc_bits.compare_bits``) and records the largest difference
  (``max_abs_diff_vs_oracle``, tolerance 1e-9). ``comparisons_per_s_1core_scalar``: the same with the scalar popcount
  path (kits without AVX-512 VPOPCNTDQ). ``comparisons_per_s_all_cores``: every core, wall clock.
- ``screen_templates_per_s_1core``: the screening pass alone (not a comparison: a cheaper first pass), templates per
  CPU-second of one thread.
- per gallery size (default 1,000, 10,000, 30,000, 100,000): ``identify_p50_ms`` / ``identify_p95_ms`` (wall, all
  cores, with the screening prefilter; also ``identify_cpu_ms_p50`` / ``identify_cpu_ms_p95``, CPU of all threads), ``identify_templates_per_cpu_s``
  (gallery templates searched per CPU-second in identify mode), ``gallery_load_ms`` (``Gallery.from_bytes`` of the
  blob, CRC included), ``gallery_bytes_per_template`` (blob size / templates).
- ``rank1``: on the real templates (third-party ISO 19794-2 records of FVC2002 DB1-DB4 B), each impression searched
  against a gallery of all other impressions of the four databases (its finger's other impressions padded with the
  other fingers and databases), exhaustive and with the prefilter; and the same for a sample of probes with the
  gallery further padded with synthetic templates to each ``--rank1-padding`` size (3,000 and 30,000: the station
  size), with ``screen_rank_of_exhaustive_top_max``, the worst screening rank of the exhaustive answer (the
  shortlist's margin).

Padding: real templates are few, so galleries are filled with synthetic templates: random minutiae with realistic
spacing (at least 10 px apart, 25-55 per finger in a 300 x 400 px area, directions following a smooth random flow
plus noise). ``--unique-synthetic`` of them are built (numpy cylinder construction, a few ms each) and repeated
cyclically to reach the larger sizes; the search cost per row does not depend on repetition. Screening ranks do: a
repeated impostor that screens above the right finger counts once per copy, so the 30,000 rank-1 check (3,000 unique,
each ten times) is harsher than a gallery of distinct fingers.

Prints a table and writes JSON (``--json OUT``, default ``bench/results/match.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from fingerprint import from_iso, mcc_bits
from fingerprint.model import Minutia, Template
from shailoo.settings import REPO_ROOT, fingerprint_data_dir

DEFAULT_SIZES = (1000, 10000, 30000, 100000)
#: Shortlist of the real-only rank-1 check (its gallery has 319 rows, under identify's default minimum of 200).
REAL_SHORTLIST = 20


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``shailoo bench match``."""
    parser.add_argument("--gallery", type=int, nargs="+", default=list(DEFAULT_SIZES), metavar="N",
                        help="gallery sizes to time identify on (default 1000 10000 30000 100000)")
    parser.add_argument("--probes", type=int, default=30, help="probes timed per gallery size (real templates)")
    parser.add_argument("--unique-synthetic", type=int, default=3000, help="distinct synthetic templates built")
    parser.add_argument("--rank1-padding", type=int, nargs="*", default=[3000, 30000], metavar="N",
                        help="gallery sizes of the padded rank-1 checks (default 3000 30000; none to skip)")
    parser.add_argument("--rank1-padded-probes", type=int, default=40, help="probes of the padded rank-1 check")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "match.json", metavar="OUT")


def synthetic_template(rng: np.random.Generator) -> Template:
    """Random minutiae with realistic spacing and a smooth direction flow (see module doc)."""
    n_target = int(rng.integers(25, 56))
    w, h = 300, 400
    pts: list[tuple[int, int]] = []
    tries = 0
    while len(pts) < n_target and tries < 2000:
        tries += 1
        x, y = int(rng.integers(10, w - 10)), int(rng.integers(10, h - 10))
        if all((x - a) ** 2 + (y - b) ** 2 >= 100 for a, b in pts):
            pts.append((x, y))
    k = rng.uniform(0.005, 0.02, 2)
    phase = rng.uniform(0, 2 * np.pi, 2)
    minutiae = []
    for x, y in pts:
        flow = np.pi / 2 + 0.9 * np.sin(k[0] * x + phase[0]) + 0.7 * np.cos(k[1] * y + phase[1])
        angle = flow + (np.pi if rng.random() < 0.5 else 0.0) + rng.normal(0, 0.15)
        minutiae.append(Minutia(x, y, float(angle), quality=int(rng.integers(20, 101))))
    return Template(w, h, tuple(minutiae))


def _real_forms() -> list[tuple[str, str, mcc_bits.BitCylinders]]:
    root = fingerprint_data_dir() / "ISO19794_templates_FVC2002"
    out = []
    for f in sorted(root.glob("DB*_B/*.iso")):
        out.append((f.parent.name, f"{f.parent.name}/{f.stem.split('_')[0]}",
                    mcc_bits.bit_cylinders(from_iso(f.read_bytes()))))
    return out


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def run(args: argparse.Namespace) -> int:  # noqa: PLR0915 - one linear recipe
    """Run the benchmark, print the table, write JSON."""
    import native
    from native.kernels import use_simd
    from native.search import score_rows, screen, screen_subset, shortlist_size

    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    real = _real_forms()
    if not real:
        print(f"error: no ISO templates under {fingerprint_data_dir()}; set SHAILOO_FINGERPRINT_DATA")
        return 2
    print(f"{len(real)} real templates (FVC2002 ISO); building {args.unique_synthetic} synthetic ...", flush=True)
    synth = [mcc_bits.bit_cylinders(synthetic_template(rng)) for _ in range(args.unique_synthetic)]
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_avg_start": os.getloadavg(),
                    "simd_avx512_vpopcntdq": use_simd()},
        "max_cylinders": mcc_bits.MAX_CYLINDERS,
        "cylinders_median_real": float(np.median([len(f) for _, _, f in real])),
        "cylinders_median_synthetic": float(np.median([len(f) for f in synth])),
        "padding": f"synthetic random minutiae, {len(synth)} distinct, repeated cyclically",
    }

    def mixed(n: int) -> native.Gallery:
        rows: list[tuple[str, int, mcc_bits.BitCylinders]] = [(who, 1, f) for _, who, f in real[:n]]
        rows += [(f"S{i}", 1 + i % 10, synth[i % len(synth)]) for i in range(n - len(rows))]
        return native.Gallery.from_cylinders(rows)

    # Comparisons per second (full LSS-R score of every row).
    speed_gallery = mixed(3000)
    rows = np.arange(len(speed_gallery), dtype=np.int64)
    probes = [f for _, _, f in real[:: max(1, len(real) // 10)]][:10]
    cpu = wall = 0.0
    for probe in probes:
        t0, c0 = time.perf_counter(), time.thread_time()
        score_rows(probe, speed_gallery, rows, threads=1)
        cpu += time.thread_time() - c0
        wall += time.perf_counter() - t0
    n_cmp = len(probes) * len(rows)
    result["comparisons_per_s_1core"] = n_cmp / cpu
    result["comparisons_per_s_1core_wall"] = n_cmp / wall
    check_rows = rows[:: max(1, len(rows) // 300)]
    got = score_rows(probes[0], speed_gallery, check_rows, threads=1)
    want = [mcc_bits.compare_bits(probes[0], speed_gallery.template_cylinders(int(r))) for r in check_rows]
    result["max_abs_diff_vs_oracle"] = float(np.max(np.abs(got - np.asarray(want))))
    result["oracle_checked_comparisons"] = len(check_rows)
    c0 = time.thread_time()
    for probe in probes[:3]:
        score_rows(probe, speed_gallery, rows, threads=1, simd=False)
    result["comparisons_per_s_1core_scalar"] = 3 * len(rows) / (time.thread_time() - c0)
    c0 = time.thread_time()
    for probe in probes:
        screen(screen_subset(probe), speed_gallery, threads=1)
    result["screen_templates_per_s_1core"] = n_cmp / (time.thread_time() - c0)
    t0 = time.perf_counter()
    for probe in probes:
        score_rows(probe, speed_gallery, rows, threads=0)
    result["comparisons_per_s_all_cores"] = n_cmp / (time.perf_counter() - t0)

    # Identify by gallery size.
    timing_probes = [real[int(i)][2] for i in rng.choice(len(real), size=min(args.probes, len(real)), replace=False)]
    sizes: dict[str, Any] = {}
    for n in args.gallery:
        gallery = mixed(n)
        blob = gallery.to_bytes()
        loads = []
        for _ in range(3):
            t0 = time.perf_counter()
            loaded = native.Gallery.from_bytes(blob)
            loads.append((time.perf_counter() - t0) * 1000.0)
        walls, cpus = [], []
        native.identify(timing_probes[0], loaded, top_k=10)  # warm-up (page in the blob)
        for probe in timing_probes:
            t0, c0 = time.perf_counter(), time.process_time()
            native.identify(probe, loaded, top_k=10)
            walls.append((time.perf_counter() - t0) * 1000.0)
            cpus.append((time.process_time() - c0) * 1000.0)
        sizes[str(n)] = {
            "identify_p50_ms": _percentile(walls, 50),
            "identify_p95_ms": _percentile(walls, 95),
            "identify_cpu_ms_p50": _percentile(cpus, 50),
            "identify_cpu_ms_p95": _percentile(cpus, 95),
            "identify_templates_per_cpu_s": n / (_percentile(cpus, 50) / 1000.0),
            "gallery_load_ms": min(loads),
            "gallery_bytes_per_template": len(blob) / n,
            "gallery_blob_bytes": len(blob),
        }
        print(f"gallery {n}: {sizes[str(n)]}", flush=True)
    result["galleries"] = sizes

    # Rank-1 on real templates: every impression against all the others.
    who = [w for _, w, _ in real]
    rank1: dict[str, Any] = {}
    hits_full: dict[str, int] = {}
    hits_pre: dict[str, int] = {}
    counts: dict[str, int] = {}
    same_top = 0
    for i, (db, me, form) in enumerate(real):
        others = [(w, 1, f) for j, (_, w, f) in enumerate(real) if j != i]
        gallery = native.Gallery.from_cylinders(others)
        full = native.identify(form, gallery, top_k=1, prefilter=False)[0]
        pre = native.identify(form, gallery, top_k=1, shortlist=REAL_SHORTLIST)[0]
        counts[db] = counts.get(db, 0) + 1
        hits_full[db] = hits_full.get(db, 0) + (full.voter == me)
        hits_pre[db] = hits_pre.get(db, 0) + (pre.voter == me)
        same_top += pre.row == full.row
    for db in counts:
        rank1[db] = {"probes": counts[db], "rank1_exhaustive": hits_full[db] / counts[db],
                     "rank1_prefilter": hits_pre[db] / counts[db]}
    rank1["all"] = {"probes": len(real), "gallery": len(real) - 1, "shortlist": REAL_SHORTLIST,
                    "rank1_exhaustive": sum(hits_full.values()) / len(real),
                    "rank1_prefilter": sum(hits_pre.values()) / len(real), "same_top_row": same_top / len(real)}
    for size in args.rank1_padding:
        if size <= len(real):
            continue
        pad = size - (len(real) - 1)
        unique = min(pad, len(synth))
        picks = rng.choice(len(real), size=min(args.rank1_padded_probes, len(real)), replace=False)
        hf = hp = same = 0
        margins = []
        for i in picks:
            rows_i = [(w, 1, f) for j, (_, w, f) in enumerate(real) if j != i]
            rows_i += [(f"S{k}", 1, synth[k % unique]) for k in range(pad)]
            gallery = native.Gallery.from_cylinders(rows_i)
            full = native.identify(real[i][2], gallery, top_k=1, prefilter=False)[0]
            pre = native.identify(real[i][2], gallery, top_k=1)[0]
            hf += full.voter == who[i]
            hp += pre.voter == who[i]
            same += pre.row == full.row
            # Screening rank of the exhaustive search's answer (0 = screened first): the shortlist's margin.
            first = screen(screen_subset(real[i][2]), gallery)
            margins.append(int((first > first[full.row]).sum()))
        rank1[f"padded_{size}"] = {
            "probes": len(picks), "gallery": len(gallery), "unique_synthetic": unique,
            "shortlist": shortlist_size(len(gallery), 1), "rank1_exhaustive": hf / len(picks),
            "rank1_prefilter": hp / len(picks), "same_top_row": same / len(picks),
            "screen_rank_of_exhaustive_top_max": max(margins),
        }
    result["rank1"] = rank1
    result["elapsed_s"] = time.perf_counter() - started
    result["machine"]["load_avg_end"] = os.getloadavg()

    print()
    print(f"comparisons/s, 1 core (CPU time): {result['comparisons_per_s_1core']:,.0f} "
          f"(wall {result['comparisons_per_s_1core_wall']:,.0f}; scalar path {result['comparisons_per_s_1core_scalar']:,.0f});"
          f" all cores (wall): {result['comparisons_per_s_all_cores']:,.0f}; max |native - oracle| "
          f"{result['max_abs_diff_vs_oracle']:.1e}; screen alone: {result['screen_templates_per_s_1core']:,.0f} "
          "templates per CPU-s")
    print(f"load average at start {result['machine']['load_avg_start']}, at end {result['machine']['load_avg_end']}")
    print(f"{'gallery':>8} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} {'cpu p95':>8} {'tmpl/cpu-s':>11} {'load ms':>8} "
          f"{'B/tmpl':>7}")
    for n, row in sizes.items():
        print(f"{n:>8} {row['identify_p50_ms']:8.1f} {row['identify_p95_ms']:8.1f} {row['identify_cpu_ms_p50']:8.1f} "
              f"{row['identify_cpu_ms_p95']:8.1f} {row['identify_templates_per_cpu_s']:11,.0f} "
              f"{row['gallery_load_ms']:8.1f} {row['gallery_bytes_per_template']:7.0f}")
    print(f"{'rank-1':>8} {'probes':>7} {'exhaustive':>11} {'prefilter':>10}")
    for name, row in rank1.items():
        print(f"{name:>8} {row['probes']:>7} {row['rank1_exhaustive']:11.4f} {row['rank1_prefilter']:10.4f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0
