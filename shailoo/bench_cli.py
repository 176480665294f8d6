"""``shailoo bench``: benchmarks that print a table and write JSON.

Benchmarks are not tests: each lives in ``bench/<name>.py`` with ``add_arguments(parser)`` and ``run(args) -> int``.
A benchmark module appears here as soon as it exists in ``bench/``.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

#: subcommand -> (module in bench/, one-line help)
BENCHMARKS: dict[str, tuple[str, str]] = {
    "match": ("bench.match", "native matcher speed: comparisons per second, 1:N search time by gallery size"),
    "devices": ("bench.devices", "emulated device stacks: card read, scanner capture, slip print times"),
    "kit": ("bench.kit", "a whole kit with emulated devices: card/finger to identified, voters per minute"),
    "kit-thresholds": ("bench.kit_thresholds", "reference-score distributions on real prints; kit thresholds"),
    "ingest": ("bench.ingest", "CEC server ingest: events per second and kit-commit-to-visible latency"),
    "native-accuracy": ("bench.native_accuracy", "EER of the native core's bit form against the float reference matcher"),
    "fingerprint": ("bench.fingerprint_eval", "fingerprint accuracy on every shared database (EER table)"),
    "synthetic": ("bench.synthetic", "synthetic fingerprint generation time and realism against real databases"),
    "election": ("bench.election", "a full simulated election day compressed in time, every vote accounted for"),
}


def register(subparsers: Any) -> None:
    """Add ``shailoo bench ...`` and one subcommand per available benchmark."""
    parser = subparsers.add_parser(
        "bench",
        help="measure speed and capacity (prints a table and writes JSON)",
        description="Benchmarks: each prints a table and writes JSON with --json OUT.",
    )
    parser.set_defaults(role_parser=parser)
    sub = parser.add_subparsers(dest="bench", metavar="BENCHMARK")
    for name, (module_name, help_text) in BENCHMARKS.items():
        if importlib.util.find_spec(module_name) is None:
            continue
        bench_parser = sub.add_parser(name, help=help_text, description=help_text)
        module = importlib.import_module(module_name)
        module.add_arguments(bench_parser)
        bench_parser.set_defaults(handler=module.run)
