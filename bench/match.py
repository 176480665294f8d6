"""``shailoo bench match``: speed and accuracy of the native matching core.

identify() ranks with the bit-based MCC (screen, then the full bit LSS-R score of a shortlist) and gives its best
``RESCORE_CANDIDATES`` the compiled float reference's score; verify() is that float reference. Figures (JSON keys):

- ``comparisons_per_s_1core``: full bit LSS-R comparisons (what identify's second pass costs per row) per CPU-second
  of the one searching thread (``thread_time``, so other work on a shared machine does not lower it), over a
  3,000-template mixed gallery; the wall-clock figure is beside it. The bench checks the scores of the first probe
  against the numpy bit oracle (``fingerprint.mcc_bits.compare_bits``): ``max_abs_diff_vs_oracle`` (tolerance 1e-9).
  ``comparisons_per_s_1core_scalar``: the same with the scalar popcount path (kits without AVX-512 VPOPCNTDQ).
  ``comparisons_per_s_all_cores``: every core, wall clock.
- ``screen_templates_per_s_1core``: the screening pass alone (not a comparison: a cheaper first pass), templates per
  CPU-second of one thread.
- the float reference compiled: ``float_form_build_ms_1core`` (one template's float cylinders),
  ``float_comparisons_per_s_1core`` (built forms compared, one thread), ``verify_ms_p50`` / ``_p95`` (two templates,
  end to end, CPU) and ``max_abs_diff_vs_reference`` against ``fingerprint.matcher.compare`` (tolerance 1e-7).
- per gallery size (default 1,000, 10,000, 30,000, 100,000): ``identify_p50_ms`` / ``identify_p95_ms`` (wall, all
  cores, whole search; also ``identify_cpu_ms_p50`` / ``identify_cpu_ms_p95``, CPU of all threads),
  ``identify_templates_per_cpu_s`` (gallery templates searched per CPU-second in identify mode), ``gallery_load_ms``
  (``Gallery.from_bytes`` of the blob, CRC included), ``gallery_bytes_per_template`` (blob size / templates) and
  ``gallery_bytes_per_template_max`` (the largest row).
- ``rank1``: on the real templates (third-party ISO 19794-2 records of FVC2002 DB1-DB4 B), each impression searched
  against a gallery of all other impressions of the four databases: the exhaustive reference search (float score of
  every row), the exhaustive bit search, and identify; then, for a sample of probes, the gallery padded with synthetic
  templates to each ``--rank1-padding`` size (3,000 and 30,000: the station size), with the screening rank and the bit
  rank of the reference's answer (the shortlist's and the rescoring's margins).

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


def _real_templates() -> list[tuple[str, str, Template]]:
    root = fingerprint_data_dir() / "ISO19794_templates_FVC2002"
    out = []
    for f in sorted(root.glob("DB*_B/*.iso")):
        out.append((f.parent.name, f"{f.parent.name}/{f.stem.split('_')[0]}", from_iso(f.read_bytes())))
    return out


def _top(scores: np.ndarray) -> int:
    """Row of the best score, the lowest row among equals (identify's tie rule)."""
    return int(np.lexsort((np.arange(len(scores)), -scores))[0])


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def run(args: argparse.Namespace) -> int:  # noqa: PLR0915 - one linear recipe
    """Run the benchmark, print the table, write JSON."""
    import native
    from fingerprint import matcher
    from native.kernels import use_simd
    from native.search import (
        compare_many,
        float_form,
        float_rows,
        score_rows,
        screen,
        screen_subset,
        search_form,
        shortlist_size,
    )

    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    real_templates = _real_templates()
    if not real_templates:
        print(f"error: no ISO templates under {fingerprint_data_dir()}; set SHAILOO_FINGERPRINT_DATA")
        return 2
    # Probes are search forms (every minutia, up to 36 bit cylinders); gallery rows are stored forms (bit cylinders
    # capped to the 2 KiB budget, plus the minutiae the float rescoring needs).
    real = [(db, who, search_form(t)) for db, who, t in real_templates]
    stored_real = [native.stored_form(t) for _, _, t in real_templates]
    print(f"{len(real)} real templates (FVC2002 ISO); building {args.unique_synthetic} synthetic ...", flush=True)
    synth = [native.stored_form(synthetic_template(rng)) for _ in range(args.unique_synthetic)]
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "load_avg_start": os.getloadavg(),
                    "simd_avx512_vpopcntdq": use_simd()},
        "max_cylinders": mcc_bits.MAX_CYLINDERS,
        "cylinders_median_real": float(np.median([len(f.bits) for f in stored_real])),
        "minutiae_median_real": float(np.median([len(f) for f in stored_real])),
        "cylinders_median_synthetic": float(np.median([len(f.bits) for f in synth])),
        "padding": f"synthetic random minutiae, {len(synth)} distinct, repeated cyclically",
        "rescore_candidates": native.search.RESCORE_CANDIDATES,
    }

    def mixed(n: int) -> native.Gallery:
        rows: list[tuple[str, int, native.SearchForm]] = [
            (who, 1, f) for (_, who, _), f in zip(real[:n], stored_real, strict=False)
        ]
        rows += [(f"S{i}", 1 + i % 10, synth[i % len(synth)]) for i in range(n - len(rows))]
        return native.Gallery.from_cylinders(rows)

    # Bit comparisons per second (the full bit LSS-R score identify ranks every shortlisted row by).
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
    want = [mcc_bits.compare_bits(probes[0].bits, speed_gallery.template_cylinders(int(r))) for r in check_rows]
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

    # The float reference, compiled (verify, and identify's rescoring): forms built once, then compared.
    c0 = time.thread_time()
    forms = [float_form(f) for _, _, f in real]
    result["float_form_build_ms_1core"] = (time.thread_time() - c0) / len(forms) * 1000.0
    c0 = time.thread_time()
    for probe_form in forms[:: max(1, len(forms) // 10)][:10]:
        compare_many(probe_form, forms, threads=1)
    result["float_comparisons_per_s_1core"] = 10 * len(forms) / (time.thread_time() - c0)
    verify_ms = []
    for i in range(0, min(80, len(real_templates)), 2):
        c0 = time.thread_time()
        native.verify(real_templates[i][2], real_templates[i + 1][2])
        verify_ms.append((time.thread_time() - c0) * 1000.0)
    result["verify_ms_p50"] = _percentile(verify_ms, 50)
    result["verify_ms_p95"] = _percentile(verify_ms, 95)
    pairs = [(i, i + 1) for i in range(0, 40, 2)] + [tuple(int(v) for v in rng.integers(0, len(real), 2)) for _ in range(20)]
    result["max_abs_diff_vs_reference"] = max(
        abs(native.verify(real_templates[i][2], real_templates[j][2])
            - matcher.compare(real_templates[i][2], real_templates[j][2])) for i, j in pairs
    )
    result["reference_checked_comparisons"] = len(pairs)
    print(f"float: build {result['float_form_build_ms_1core']:.2f} ms, "
          f"{result['float_comparisons_per_s_1core']:,.0f} comparisons/CPU-s, verify p50 {result['verify_ms_p50']:.2f} ms",
          flush=True)

    # Identify by gallery size (screen, bit scores of the shortlist, float rescoring of the best).
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
            "gallery_bytes_per_template_max": int(loaded.template_bytes().max()),
            "gallery_blob_bytes": len(blob),
        }
        print(f"gallery {n}: {sizes[str(n)]}", flush=True)
    result["galleries"] = sizes

    # Rank-1 on real templates: every impression against all the others. Exhaustive reference = the float score of
    # every row; exhaustive bits = the bit score of every row; identify = the default search (screen with a shortlist,
    # bit scores, float rescoring). bit_rank_of_reference_top: where the reference's answer, when right, sits in the
    # bit ranking (identify rescores the first RESCORE_CANDIDATES: the rescoring's margin).
    who = [w for _, w, _ in real]
    rank1: dict[str, Any] = {}
    hits: dict[str, dict[str, int]] = {}
    counts: dict[str, int] = {}
    same_top = 0
    bit_ranks = []
    for i, (db, me, form) in enumerate(real):
        idx = [j for j in range(len(real)) if j != i]
        gallery = native.Gallery.from_cylinders((who[j], 1, stored_real[j]) for j in idx)
        reference = compare_many(forms[i], [forms[j] for j in idx])
        full = _top(reference)
        bits_all = score_rows(form, gallery, np.arange(len(idx), dtype=np.int64))
        bits = native.identify(form, gallery, top_k=1, prefilter=False, rescore=0)[0]
        pre = native.identify(form, gallery, top_k=1, shortlist=REAL_SHORTLIST)[0]
        if who[idx[full]] == me:  # a rank only means something for a right answer
            bit_ranks.append(int((bits_all > bits_all[full]).sum()))
        counts[db] = counts.get(db, 0) + 1
        h = hits.setdefault(db, {"reference": 0, "bits": 0, "identify": 0})
        h["reference"] += who[idx[full]] == me
        h["bits"] += bits.voter == me
        h["identify"] += pre.voter == me
        same_top += pre.row == full
    for db in counts:
        rank1[db] = {"probes": counts[db], "rank1_exhaustive_reference": hits[db]["reference"] / counts[db],
                     "rank1_exhaustive_bits": hits[db]["bits"] / counts[db],
                     "rank1_identify": hits[db]["identify"] / counts[db]}
    rank1["all"] = {"probes": len(real), "gallery": len(real) - 1, "shortlist": REAL_SHORTLIST,
                    "rank1_exhaustive_reference": sum(h["reference"] for h in hits.values()) / len(real),
                    "rank1_exhaustive_bits": sum(h["bits"] for h in hits.values()) / len(real),
                    "rank1_identify": sum(h["identify"] for h in hits.values()) / len(real),
                    "same_top_row": same_top / len(real), "bit_rank_of_reference_top_max": max(bit_ranks, default=0)}
    for size in args.rank1_padding:
        if size <= len(real):
            continue
        pad = size - (len(real) - 1)
        unique = min(pad, len(synth))
        picks = rng.choice(len(real), size=min(args.rank1_padded_probes, len(real)), replace=False)
        hf = hp = same = 0
        margins, bit_ranks = [], []
        for i in picks:
            rows_i = [(w, 1, f) for j, (w, f) in enumerate(zip(who, stored_real, strict=True)) if j != i]
            rows_i += [(f"S{k}", 1, synth[k % unique]) for k in range(pad)]
            gallery = native.Gallery.from_cylinders(rows_i)
            # The exhaustive reference search: the float score of every distinct row (repeats score alike, and the
            # first copy is the lowest row, so it wins ties as identify's rule says).
            distinct = np.arange(len(real) - 1 + unique, dtype=np.int64)
            reference = float_rows(real[i][2], gallery, distinct)
            full = _top(reference)
            pre = native.identify(real[i][2], gallery, top_k=1)[0]
            hf += who[i] == gallery.row(full)[0]
            hp += pre.voter == who[i]
            same += pre.row == full
            # Screening rank and bit rank of the reference's answer (0 = first): the shortlist's and the rescoring's
            # margins.
            if who[i] == gallery.row(full)[0]:
                first = screen(screen_subset(real[i][2]), gallery)
                margins.append(int((first > first[full]).sum()))
                bits_all = score_rows(real[i][2], gallery, np.arange(len(gallery), dtype=np.int64))
                bit_ranks.append(int((bits_all > bits_all[full]).sum()))
        rank1[f"padded_{size}"] = {
            "probes": len(picks), "gallery": len(gallery), "unique_synthetic": unique,
            "shortlist": shortlist_size(len(gallery), 1), "rank1_exhaustive_reference": hf / len(picks),
            "rank1_identify": hp / len(picks), "same_top_row": same / len(picks),
            "screen_rank_of_reference_top_max": max(margins, default=0),
            "bit_rank_of_reference_top_max": max(bit_ranks, default=0),
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
    print(f"float reference compiled: {result['float_comparisons_per_s_1core']:,.0f} comparisons/CPU-s of built forms, "
          f"form {result['float_form_build_ms_1core']:.2f} ms, verify p50/p95 {result['verify_ms_p50']:.2f}/"
          f"{result['verify_ms_p95']:.2f} ms; max |native - reference| {result['max_abs_diff_vs_reference']:.1e}")
    print(f"load average at start {result['machine']['load_avg_start']}, at end {result['machine']['load_avg_end']}")
    print(f"{'gallery':>8} {'p50 ms':>8} {'p95 ms':>8} {'cpu p50':>8} {'cpu p95':>8} {'tmpl/cpu-s':>11} {'load ms':>8} "
          f"{'B/tmpl':>7} {'B max':>6}")
    for n, row in sizes.items():
        print(f"{n:>8} {row['identify_p50_ms']:8.1f} {row['identify_p95_ms']:8.1f} {row['identify_cpu_ms_p50']:8.1f} "
              f"{row['identify_cpu_ms_p95']:8.1f} {row['identify_templates_per_cpu_s']:11,.0f} "
              f"{row['gallery_load_ms']:8.1f} {row['gallery_bytes_per_template']:7.0f} "
              f"{row['gallery_bytes_per_template_max']:6d}")
    print(f"{'rank-1':>14} {'probes':>7} {'exhaustive reference':>21} {'identify':>9}")
    for name, row in rank1.items():
        print(f"{name:>14} {row['probes']:>7} {row['rank1_exhaustive_reference']:21.4f} {row['rank1_identify']:9.4f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0
