"""``shailoo fingerprint ...``: tools of the fingerprint engine."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``shailoo fingerprint`` and ``shailoo fingerprint eval``."""
    parser = subparsers.add_parser(
        "fingerprint",
        help="fingerprint engine tools (accuracy evaluation)",
        description="Fingerprint engine tools.",
    )
    parser.set_defaults(role_parser=parser)
    commands = parser.add_subparsers(dest="fingerprint_command", metavar="COMMAND")
    evaluate = commands.add_parser(
        "eval",
        help="run the FVC protocol on one database and write error rates as JSON",
        description=(
            "Extract every image of one database (or import its ISO 19794-2 templates), compare every genuine and "
            "impostor pair, and write EER, FMR100, FMR1000, ZeroFMR, timings and the quality/score relation."
        ),
    )
    evaluate.add_argument("folder", type=Path, metavar="DIR", help="one database folder, e.g. FVC2002/DB1_B")
    evaluate.add_argument("--dpi", type=float, default=500.0, help="resolution of the images (default 500)")
    evaluate.add_argument(
        "--templates", choices=["iso"], help="read ISO/IEC 19794-2 records (*.iso) instead of images"
    )
    evaluate.add_argument(
        "--matcher", choices=["reference", "bits", "native"], default="reference",
        help="float MCC reference (default), its bit form (fingerprint.mcc_bits) or the native core's verify",
    )
    evaluate.add_argument("--json", type=Path, required=True, metavar="OUT", help="write the result here")
    evaluate.add_argument("--det", type=Path, metavar="OUT.png", help="also draw the DET curve")
    evaluate.set_defaults(handler=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    """Handler of ``shailoo fingerprint eval``."""
    from evaluation.det import draw_det
    from evaluation.errors import EvaluationError
    from evaluation.run import evaluate

    try:
        scores = evaluate(
            args.folder, args.dpi, args.templates, progress=lambda m: print(m, file=sys.stderr), matcher=args.matcher
        )
    except EvaluationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(scores.result, indent=2) + "\n")
    if args.det:
        draw_det({args.folder.name: (scores.genuine, scores.impostor_all)}, args.det)
    r = scores.result
    print(
        f"{args.folder}: EER {100 * r['eer_all']:.2f}% (FVC impostors {100 * r['eer_fvc']:.2f}%), "
        f"FMR100 {100 * r['fmr100']:.2f}%, FMR1000 {100 * r['fmr1000']:.2f}%, ZeroFMR {100 * r['zero_fmr']:.2f}%, "
        f"{r['genuine_pairs']} genuine / {r['impostor_pairs']} impostor pairs, "
        f"{r['failures_to_extract']} failures to extract"
    )
    return 0
