"""``shailoo bench native-accuracy``: the native core against the float MCC reference matcher, on the project's own
templates.

The native core's verify() is the reference compiled (``native/_float_cy``); its search ranks a gallery with the
compact bit form (MCC paper §5, ``fingerprint.mcc_bits``: 8 x 8 x 5 bit cells, at most ``BITS_MAX_CYLINDERS``
cylinders) and rescores its best candidates with that compiled reference. For each database every image is extracted
once; every genuine and impostor pair of the FVC protocol is scored by:

- ``reference``: the float MCC matcher in numpy (what ``shailoo bench fingerprint`` reports);
- ``native``: ``native.verify`` (the kit's 1:1 score and identify's final score), with the largest difference from
  ``reference`` over all pairs;
- ``bits_capped``: the bit form with at most 36 cylinders (what identify ranks by before rescoring);
- ``bits_uncapped``: the bit form with every cylinder, separating the cap's cost from the cell layout's.

Prints per-database EER, the pooled FVC2002 EER (as ``shailoo bench fingerprint`` pools it) and the mean over all eight
databases, and writes JSON (``--json OUT``, default ``bench/results/native-accuracy.json``). About 4 minutes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from shailoo.settings import REPO_ROOT, fingerprint_data_dir

#: Databases and their resolution (dpi), as in ``shailoo bench fingerprint``.
DATABASES = {"FVC2002/DB1_B": 500.0, "FVC2002/DB2_B": 569.0, "FVC2002/DB3_B": 500.0, "FVC2002/DB4_B": 500.0,
             "FVC2000/DB1_B": 500.0, "FVC2000/DB2_B": 500.0, "FVC2000/DB3_B": 500.0, "FVC2000/DB4_B": 500.0}
#: Cylinder cap standing for "every cylinder" (no FVC template has this many valid minutiae).
UNCAPPED = 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the benchmark."""
    parser.add_argument("--data", type=Path, default=None, help="folder of the databases (default: shared data)")
    parser.add_argument("--json", type=Path, default=REPO_ROOT / "bench" / "results" / "native-accuracy.json")


def run(args: argparse.Namespace) -> int:
    """Score every database three ways, print the table, write JSON."""
    import cv2

    from evaluation.database import IMAGE_SUFFIXES, protocol, samples
    from evaluation.images import read_grey
    from evaluation.metrics import eer
    from fingerprint import mcc_bits
    from fingerprint.extract import extract
    from fingerprint.matcher import compare_cylinders, cylinders
    from native.search import compare_forms, float_form

    cv2.setNumThreads(1)
    data = args.data or fingerprint_data_dir()
    forms: dict[str, tuple[Any, Any]] = {
        "reference": (cylinders, compare_cylinders),
        "native": (float_form, compare_forms),
        "bits_capped": (mcc_bits.bit_cylinders, mcc_bits.compare_bits),
        "bits_uncapped": (lambda t: mcc_bits.bit_cylinders(t, UNCAPPED), mcc_bits.compare_bits),
    }
    pooled: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {name: ([], []) for name in forms}
    result: dict[str, Any] = {"max_cylinders": mcc_bits.MAX_CYLINDERS, "databases": {}}
    started = time.perf_counter()
    for db, dpi in DATABASES.items():
        folder = data / db
        if not folder.exists():
            print(f"error: {folder} is missing; set SHAILOO_FINGERPRINT_DATA")
            return 2
        items = samples(folder, IMAGE_SUFFIXES)
        templates = [extract(read_grey(item.path), dpi).template for item in items]
        pairs = protocol(items)
        row: dict[str, Any] = {"templates": len(templates), "genuine_pairs": len(pairs.genuine),
                               "impostor_pairs": len(pairs.impostor_all),
                               "minutiae_median": float(np.median([len(t) for t in templates])),
                               "templates_over_cap": sum(len(mcc_bits.bit_cylinders(t, UNCAPPED).x)
                                                         > mcc_bits.MAX_CYLINDERS for t in templates)}
        scored: dict[str, np.ndarray] = {}
        for name, (build, score) in forms.items():
            built = [build(t) for t in templates]
            genuine = np.array([score(built[a], built[b]) for a, b in pairs.genuine])
            impostor = np.array([score(built[a], built[b]) for a, b in pairs.impostor_all])
            scored[name] = np.concatenate([genuine, impostor])
            if db.startswith("FVC2002"):
                pooled[name][0].append(genuine)
                pooled[name][1].append(impostor)
            row[f"eer_{name}"] = eer(genuine, impostor)
        row["max_abs_diff_native_vs_reference"] = float(np.abs(scored["native"] - scored["reference"]).max())
        result["databases"][db] = row
        print(f"{db:15s} " + "  ".join(f"{name} {row[f'eer_{name}'] * 100:5.2f}%" for name in forms)
              + f"  max |native - reference| {row['max_abs_diff_native_vs_reference']:.1e}", flush=True)
    result["pooled_fvc2002"] = {f"eer_{name}": eer(np.concatenate(g), np.concatenate(i))
                                for name, (g, i) in pooled.items()}
    result["mean_over_databases"] = {f"eer_{name}": float(np.mean([r[f"eer_{name}"] for r in result["databases"].values()]))
                                     for name in forms}
    result["seconds"] = time.perf_counter() - started
    for label, key in (("pooled FVC2002", "pooled_fvc2002"), ("mean of 8", "mean_over_databases")):
        print(f"{label:15s} " + "  ".join(f"{name} {result[key][f'eer_{name}'] * 100:5.2f}%" for name in forms))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}")
    return 0
