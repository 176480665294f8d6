"""``shailoo sim fingerprints``: write a synthetic fingerprint database to a folder (FVC file layout)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_command(subparsers: Any) -> None:
    """Register ``fingerprints`` under ``shailoo sim``."""
    parser = subparsers.add_parser(
        "fingerprints",
        help="write synthetic fingerprint impressions (PNG, 500 dpi) in the FVC layout <finger>_<impression>.png",
        description="Generate synthetic fingers (SFinGe-style) and several impressions of each. Files are named "
        "like the FVC databases, so `shailoo fingerprint eval` reads the folder as it is.",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder to write (created; must hold no PNG yet)")
    parser.add_argument("--fingers", type=int, default=10, help="number of fingers (default: %(default)s)")
    parser.add_argument("--impressions", type=int, default=8, help="impressions per finger (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="seed: finger k gets seed*1000+k (default: %(default)s)")
    parser.add_argument(
        "--pattern",
        choices=["arch", "tented_arch", "left_loop", "right_loop", "whorl"],
        help="force one pattern class (default: drawn with population shares)",
    )
    parser.add_argument(
        "--condition", choices=["normal", "dry", "wet", "worn"], help="force one skin condition (default: drawn)"
    )
    parser.add_argument("--masters", action="store_true", help="also write each master as master_<finger>.png")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    import cv2

    from simulation.fingerprints import SyntheticFingerprintError, generate_impression, generate_master

    if args.fingers < 1 or args.impressions < 1:
        print("error: --fingers and --impressions must be at least 1")
        return 2
    if args.out.exists() and any(args.out.glob("*.png")):
        print(f"error: {args.out} already holds PNG files; choose an empty folder so nothing is overwritten")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        for finger in range(1, args.fingers + 1):
            master = generate_master(args.seed * 1000 + finger, args.pattern)
            if args.masters:
                cv2.imwrite(str(args.out / f"master_{finger}.png"), master.image())
            for index in range(1, args.impressions + 1):
                impression = generate_impression(master, index - 1, args.condition)
                cv2.imwrite(str(args.out / f"{finger}_{index}.png"), impression.image)
            print(f"finger {finger}: {master.pattern.value}, {args.impressions} impressions", flush=True)
    except SyntheticFingerprintError as error:
        print(f"error: {error}")
        return 2
    print(f"{args.fingers * args.impressions} impressions at 500 dpi written to {args.out}")
    return 0
