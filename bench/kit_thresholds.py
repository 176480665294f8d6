"""``shailoo bench kit-thresholds``: the matcher's genuine and impostor scores on the real databases, and the kit's
1:1 and 1:N decision thresholds that follow from stated false-match targets.

What runs: the kit's own extractor (``fingerprint.extract``) on every image of the shared real databases (FVC2000 and
FVC2002 "B", CrossMatch sample, UPEK; each at its documented dpi), then the reference matcher's score (float MCC with
LSS-R, ``fingerprint.matcher.compare``, computed by the compiled kernel ``native.search.compare_many``: what
``native.verify`` returns and what ``native.identify`` ranks its final candidates by, so both kit matchers share the
thresholds) of every pair of templates: genuine = two impressions of one finger, impostor = two different fingers,
within a database and across databases that cannot share a finger (:data:`SOURCE_GROUP`), pooled, the within-database
ones also reported apart.

From scores to thresholds (ISO/IEC 19795-1 terms):

- 1:1 (card, then finger): an impostor attempt is compared with up to ``--enrolled-fingers`` (10) fingers of the
  claimed voter, ``--match-tries`` (3) times, so per-attempt FMR <= F1 needs a per-comparison FMR of
  F1 / (fingers x tries). With F1 = 1/10,000: 3.3e-6.
- 1:N (finger alone): a non-mated search is compared with every template of the station; its false-positive
  identification rate is FPIR = 1 - (1 - FMR)^N ~ N x FMR, so FPIR <= FN over N = 30,000 templates needs a
  per-comparison FMR <= FN / N. With FN = 1/10,000: 3.3e-9.

The shared databases give about 7 x 10^5 impostor pairs, so an FMR below about 3/n ~ 4e-6 cannot be observed (rule of
three, 95%). Below that the impostor tail is extrapolated: the top ``--tail`` impostor scores are fitted with a
generalised Pareto distribution (peaks over threshold, Pickands 1975; Coles 2001 ch. 4) and the threshold is the score
where the fitted survival reaches the target. The threshold set is the larger of the empirical and the extrapolated
one. Each threshold comes with its false non-match rate on the genuine pairs (one comparison; the kit's retries on
other fingers recover some of it).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shailoo.settings import fingerprint_data_dir

#: (folder, dpi): the shared databases with images, at their documented resolution (data README).
DATABASES = (
    ("FVC2000/DB1_B", 500), ("FVC2000/DB2_B", 500), ("FVC2000/DB3_B", 500), ("FVC2000/DB4_B", 500),
    ("FVC2002/DB1_B", 500), ("FVC2002/DB2_B", 569), ("FVC2002/DB3_B", 500), ("FVC2002/DB4_B", 500),
    ("CrossMatch_sample", 500), ("UPEK", 500),
)
#: Databases that hold (or may hold) the same fingers: a cross-database pair inside one group is neither a sure genuine
#: nor a sure impostor pair, so it is left out. Measured: FVC2000 DB1 and DB2 finger N are the same finger (same-label
#: pairs score median 0.062, max 0.136, against 0.013-0.017 for every other pair of FVC2000/2002 DB1-3, whose
#: same-label pairs score like impostors). The two SFinGe sets come from one generator and are kept apart unchecked.
SOURCE_GROUP = {"FVC2000/DB1_B": "FVC2000 DB1/DB2", "FVC2000/DB2_B": "FVC2000 DB1/DB2",
                "FVC2000/DB4_B": "SFinGe", "FVC2002/DB4_B": "SFinGe"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``shailoo bench kit-thresholds``."""
    parser.add_argument("--fmr-1to1", type=float, default=1e-4,
                        help="target false-match rate of one card+finger attempt sequence (default 1/10,000)")
    parser.add_argument("--fpir", type=float, default=1e-4,
                        help="target false-positive identification rate of one finger-alone search (default 1/10,000)")
    parser.add_argument("--gallery-templates", type=int, default=30000,
                        help="templates searched by one 1:N search (3,000 voters x 10 fingers)")
    parser.add_argument("--enrolled-fingers", type=int, default=10, help="fingers compared in one 1:1 attempt")
    parser.add_argument("--match-tries", type=int, default=3, help="1:1 attempts before failure to match")
    parser.add_argument("--tail", type=int, default=2000, help="largest impostor scores used for the tail fit")
    parser.add_argument("--limit", type=int, default=0, help="at most this many impressions per database (0 = all)")
    parser.add_argument("--json", type=Path, default=Path("bench/results/kit-thresholds.json"))


@dataclass(frozen=True)
class _Item:
    database: str
    finger: str
    impression: int


def _templates(limit: int) -> tuple[list[_Item], list[Any], dict[str, Any]]:
    from evaluation.database import samples
    from evaluation.images import read_grey
    from fingerprint.errors import ImageError
    from fingerprint.extract import extract

    items: list[_Item] = []
    templates: list[Any] = []
    stats: dict[str, Any] = {"failures_to_extract": 0, "extract_s": 0.0, "extract_cpu_s": 0.0}
    root = fingerprint_data_dir()
    for name, dpi in DATABASES:
        folder = root / name
        if not folder.is_dir():
            print(f"  {name}: not found under {root}, skipped")
            continue
        found = samples(folder)
        if limit:
            found = [s for s in found if s.impression <= limit]
        for sample in found:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                template = extract(read_grey(sample.path), dpi).template
            except ImageError:
                template = None
            stats["extract_s"] += time.perf_counter() - wall
            stats["extract_cpu_s"] += time.process_time() - cpu
            if template is None or len(template.minutiae) == 0:
                stats["failures_to_extract"] += 1
                continue
            items.append(_Item(name, sample.finger, sample.impression))
            templates.append(template)
        print(f"  {name}: {sum(1 for i in items if i.database == name)} templates")
    return items, templates, stats


def _scores(
    items: list[_Item], templates: list[Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Genuine scores, impostor scores, impostor pairs (i, j) and whether both are of one database; wall and CPU s.

    Every pair gets the float reference's score (``native.search.compare_many``, the compiled
    ``fingerprint.matcher.compare``): what ``verify`` returns and what ``identify`` ranks its candidates by. Each
    template's float cylinders are built once (about 1 ms each, a few hundred kB each) and kept for the whole run.
    """
    from native.search import compare_many, float_form

    label = np.asarray([f"{i.database}|{i.finger}" for i in items])
    database = np.asarray([i.database for i in items])
    group = np.asarray([SOURCE_GROUP.get(i.database, i.database) for i in items])
    genuine: list[np.ndarray] = []
    impostor: list[np.ndarray] = []
    same_db: list[np.ndarray] = []
    pairs: list[np.ndarray] = []
    wall, cpu = time.perf_counter(), time.process_time()
    forms = [float_form(t) for t in templates]
    for i in range(len(items) - 1):
        rows = np.arange(i + 1, len(items), dtype=np.int64)
        scores = compare_many(forms[i], forms[i + 1:])
        mate = label[rows] == label[i]
        same = database[rows] == database[i]
        other = ~mate & (same | (group[rows] != group[i]))
        genuine.append(scores[mate])
        impostor.append(scores[other])
        same_db.append(same[other])
        pairs.append(np.stack([np.full(int(other.sum()), i), rows[other]], axis=1).astype(np.int32))
    return (np.concatenate(genuine), np.concatenate(impostor), np.concatenate(pairs), np.concatenate(same_db),
            time.perf_counter() - wall, time.process_time() - cpu)


def empirical_threshold(impostor: np.ndarray, target: float) -> float:
    """Smallest score t with (impostors scoring >= t) / n <= target (just above the k-th largest impostor)."""
    allowed = int(math.floor(target * impostor.size))
    ranked = np.sort(impostor)[::-1]
    if allowed >= ranked.size:
        return 0.0
    return float(np.nextafter(ranked[allowed], 2.0))


def tail_threshold(impostor: np.ndarray, target: float, tail: int) -> tuple[float, dict[str, float]]:
    """Score where a generalised Pareto fit of the ``tail`` largest impostor scores reaches ``target`` survival."""
    from scipy.stats import genpareto

    ranked = np.sort(impostor)[::-1]
    k = min(tail, ranked.size - 1)
    u = float(ranked[k])  # the fit's threshold: the (k+1)-th largest score
    excess = ranked[:k] - u
    shape, _, scale = genpareto.fit(excess, floc=0.0)
    rate = k / impostor.size  # P(S > u)
    fit = {"u": u, "k": k, "shape": float(shape), "scale": float(scale), "rate_above_u": rate}
    if target >= rate:
        return empirical_threshold(impostor, target), fit
    # P(S > t) = rate * sf(t - u)  =>  t = u + isf(target / rate)
    return float(min(1.0, u + genpareto.isf(target / rate, shape, loc=0.0, scale=scale))), fit


def _fnmr(genuine: np.ndarray, threshold: float) -> float:
    return float(np.mean(genuine < threshold)) if genuine.size else float("nan")


def run(args: argparse.Namespace) -> int:
    """Measure, derive both thresholds, print a table and write JSON."""
    import os

    started = time.perf_counter()
    print("shailoo bench kit-thresholds: extracting every real impression with the kit's extractor")
    items, templates, stats = _templates(args.limit)
    if not items:
        print(f"error: no real fingerprint databases under {fingerprint_data_dir()} (set SHAILOO_FINGERPRINT_DATA)")
        return 1
    genuine, impostor, pairs, same_db, score_s, score_cpu_s = _scores(items, templates)

    def label_of(i: int) -> str:
        return f"{items[i].database}/{items[i].finger}_{items[i].impression}"

    top = np.argsort(impostor)[::-1][:12]
    per_cmp_1to1 = args.fmr_1to1 / (args.enrolled_fingers * args.match_tries)
    per_cmp_1toN = args.fpir / args.gallery_templates
    decisions: dict[str, Any] = {}
    for name, target in (("one_to_one", per_cmp_1to1), ("one_to_n", per_cmp_1toN)):
        empirical = empirical_threshold(impostor, target)
        extrapolated, fit = tail_threshold(impostor, target, args.tail)
        chosen = max(empirical, extrapolated)
        decisions[name] = {
            "per_comparison_fmr_target": target,
            "observable": bool(target * impostor.size >= 3.0),
            "threshold_empirical": round(empirical, 4),
            "threshold_tail_fit": round(extrapolated, 4),
            "threshold": round(chosen, 4),
            "fnmr_one_comparison": round(_fnmr(genuine, chosen), 4),
            "impostors_at_or_above": int(np.sum(impostor >= chosen)),
            "tail_fit": fit,
        }
    by_fpir = {}
    for fpir in (1e-2, 1e-3, 1e-4, 1e-5):
        t, _ = tail_threshold(impostor, fpir / args.gallery_templates, args.tail)
        t = max(t, empirical_threshold(impostor, fpir / args.gallery_templates))
        by_fpir[f"{fpir:g}"] = {"threshold": round(t, 4), "fnmr_one_comparison": round(_fnmr(genuine, t), 4)}
    qs = (50, 90, 99, 99.9, 99.99)
    within = impostor[same_db]
    result: dict[str, Any] = {
        "databases": sorted({i.database for i in items}),
        "templates": len(items),
        "fingers": len({(i.database, i.finger) for i in items}),
        "failures_to_extract": stats["failures_to_extract"],
        "genuine_pairs": int(genuine.size),
        "impostor_pairs": int(impostor.size),
        "impostor_pairs_within_database": int(within.size),
        "genuine_percentiles": {str(q): round(float(np.percentile(genuine, 100 - q)), 4) for q in qs[:3]},
        "impostor_percentiles": {str(q): round(float(np.percentile(impostor, q)), 4) for q in qs},
        "impostor_max": round(float(impostor.max()), 4),
        "impostor_max_within_database": round(float(within.max()), 4) if within.size else None,
        "impostor_top": [[label_of(int(pairs[k, 0])), label_of(int(pairs[k, 1])), round(float(impostor[k]), 4)] for k in top],
        "targets": {
            "fmr_per_1to1_attempt": args.fmr_1to1,
            "enrolled_fingers": args.enrolled_fingers,
            "match_tries": args.match_tries,
            "fpir_per_1toN_search": args.fpir,
            "gallery_templates": args.gallery_templates,
        },
        "decisions": decisions,
        "one_to_n_by_fpir": by_fpir,
        "fnmr_by_threshold": {f"{t:.2f}": round(_fnmr(genuine, t), 4) for t in np.arange(0.02, 0.32, 0.02)},
        "fmr_by_threshold": {f"{t:.2f}": float(np.mean(impostor >= t)) for t in np.arange(0.02, 0.32, 0.02)},
        "extract_s": round(stats["extract_s"], 1),
        "extract_cpu_s": round(stats["extract_cpu_s"], 1),
        "score_s": round(score_s, 1),
        "score_cpu_s": round(score_cpu_s, 1),
        "comparisons_per_s": round((genuine.size + impostor.size) / score_s) if score_s else None,
        "total_s": round(time.perf_counter() - started, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "timed_under_bench_lock": bool(os.environ.get("SHAILOO_BENCH_LOCKED")),
    }
    print(f"  {len(items)} templates, {genuine.size} genuine and {impostor.size} impostor pairs")
    for name, d in decisions.items():
        print(f"  {name}: per-comparison FMR {d['per_comparison_fmr_target']:.2e} -> threshold {d['threshold']} "
              f"(empirical {d['threshold_empirical']}, tail fit {d['threshold_tail_fit']}), "
              f"FNMR {100 * d['fnmr_one_comparison']:.1f}% per comparison")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0

