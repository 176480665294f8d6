"""``shailoo bench synthetic``: how fast the synthetic generators are, and how real their fingerprints look.

Speed: time per master fingerprint and per impression; a 3,000-voter station list without images, and the same
list with 2 enrolled fingers per voter (master + enrolment impression each), timed on a sample of voters and
scaled to 3,000 (said so in the output); with ``--full-station`` the whole list's fingers are really drawn, in a
process pool on every core (``--processes``), and timed (wall and CPU).

Realism: a synthetic database in the FVC layout (fingers x impressions) and the shared real databases go through
the same steps with the project's own engine (``fingerprint.extract``, ``fingerprint.compare_cylinders``): genuine
pairs are all pairs of impressions of one finger; impostor pairs are the FVC set (first impressions) and a seeded
random sample of all other pairs (the reference matcher is pure Python: every impostor pair of a database would
take minutes). The side-by-side table gives EER, mean genuine and impostor scores, minutiae and quality.

Prints tables and writes JSON (``--json OUT``, default ``bench/results/synthetic.json``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shailoo.settings import REPO_ROOT, fingerprint_data_dir

#: Real databases compared by default, with their resolution (dpi) from the databases' README.
DEFAULT_DATABASES = {
    "FVC2000/DB1_B": 500.0,
    "FVC2000/DB2_B": 500.0,
    "FVC2000/DB3_B": 500.0,
    "FVC2000/DB4_B": 500.0,
    "FVC2002/DB1_B": 500.0,
    "FVC2002/DB2_B": 569.0,
    "FVC2002/DB3_B": 500.0,
    "FVC2002/DB4_B": 500.0,
}
#: Further databases that may be named with --databases (their dpi).
OTHER_DATABASES = {"CrossMatch_sample": 500.0, "UPEK": 500.0}

Image = npt.NDArray[np.uint8]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``shailoo bench synthetic``."""
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic fingers and voters")
    parser.add_argument("--fingers", type=int, default=10, help="fingers in the synthetic database (FVC B: 10)")
    parser.add_argument("--impressions", type=int, default=8, help="impressions per synthetic finger (FVC: 8)")
    parser.add_argument("--timed-masters", type=int, default=10, help="masters timed for the speed figure")
    parser.add_argument("--station-voters", type=int, default=3000, help="voters on the timed station list")
    parser.add_argument(
        "--station-fingers-sample",
        type=int,
        default=40,
        help="voters whose 2 fingers are generated to time the list with fingerprints (scaled to the list)",
    )
    parser.add_argument("--impostor-pairs", type=int, default=400, help="random impostor pairs per database")
    parser.add_argument(
        "--databases",
        nargs="*",
        default=list(DEFAULT_DATABASES),
        help=f"real databases (folders under the data dir); known: {', '.join([*DEFAULT_DATABASES, *OTHER_DATABASES])}",
    )
    parser.add_argument("--skip-realism", action="store_true", help="only the speed figures")
    parser.add_argument(
        "--full-station",
        action="store_true",
        help="also draw every enrolled finger of the whole --station-voters list (measured, not scaled; minutes)",
    )
    parser.add_argument(
        "--processes", type=int, default=None, help="worker processes for --full-station (default: one per core)"
    )
    parser.add_argument("--skip-speed", action="store_true", help="skip the per-image and sampled speed figures")
    parser.add_argument(
        "--stop-after",
        type=float,
        default=None,
        help="with --full-station: stop drawing after this many seconds and report the complete part of the list",
    )
    parser.add_argument(
        "--json", type=Path, default=REPO_ROOT / "bench" / "results" / "synthetic.json", help="where to write JSON"
    )


def run(args: argparse.Namespace) -> int:
    """Measure, print the tables, write the JSON."""
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
        "arguments": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if isinstance(v, str | int | float | bool | list | Path | None)
        },
    }
    if not args.skip_speed:
        result["speed"] = speed_figures(args)
        _print_speed(result["speed"])
    if args.full_station:
        result["full_station"] = full_station_figures(args)
        _print_full_station(result["full_station"])
    if not args.skip_realism:
        result["realism"] = realism_table(args)
        _print_realism(result["realism"])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"\nJSON written to {args.json}")
    return 0


# --- speed ---------------------------------------------------------------------------------------------------------


def speed_figures(args: argparse.Namespace) -> dict[str, Any]:
    """Generation times: masters, impressions, a station list with and without fingerprints."""
    from simulation.fingerprints import generate_impression, generate_master
    from simulation.population import generate_country, station_voters

    # Wall-clock and CPU time (all threads of this process): on a shared machine the wall clock also counts the
    # time other processes held the cores; the CPU time is what the generator itself costs.
    master_s, impression_s, master_cpu_s, impression_cpu_s = [], [], [], []
    generate_master(0)  # warm-up: imports, FFT plans, the filter bank cache
    for finger in range(args.timed_masters):
        start, cpu = time.perf_counter(), time.process_time()
        master = generate_master(args.seed * 1000 + finger)
        master_s.append(time.perf_counter() - start)
        master_cpu_s.append(time.process_time() - cpu)
        for index in range(4):
            start, cpu = time.perf_counter(), time.process_time()
            generate_impression(master, index)
            impression_s.append(time.perf_counter() - start)
            impression_cpu_s.append(time.process_time() - cpu)

    country = generate_country(args.seed)
    start = time.perf_counter()
    country = generate_country(args.seed)
    country_s = time.perf_counter() - start
    # A list of exactly the asked size: the largest station, resized (its PINs may then overlap the next
    # station's; irrelevant for timing).
    station = dataclasses.replace(max(country.stations, key=lambda s: s.voters), voters=args.station_voters)
    start, cpu = time.perf_counter(), time.process_time()
    voters = list(station_voters(country, station))
    list_s, list_cpu_s = time.perf_counter() - start, time.process_time() - cpu

    sample = voters[: args.station_fingers_sample]
    start, cpu = time.perf_counter(), time.process_time()
    for voter in sample:
        for enrolled in voter.fingers:
            generate_impression(generate_master(enrolled.seed), 0)
    per_voter_s = (time.perf_counter() - start) / max(1, len(sample))
    per_voter_cpu_s = (time.process_time() - cpu) / max(1, len(sample))
    return {
        "load_average_1min": os.getloadavg()[0],
        "master_cpu_s_median": statistics.median(master_cpu_s),
        "impression_cpu_ms_median": 1000 * statistics.median(impression_cpu_s),
        "master_s_median": statistics.median(master_s),
        "master_s_max": max(master_s),
        "impression_ms_median": 1000 * statistics.median(impression_s),
        "impression_ms_max": 1000 * max(impression_s),
        "country_layout_s": country_s,
        "stations": len(country.stations),
        "country_voters": country.total_voters,
        "station_list_voters": len(voters),
        "station_list_s": list_s,
        "fingers_per_voter": statistics.mean(len(v.fingers) for v in sample) if sample else 0.0,
        "fingerprints_per_voter_s": per_voter_s,
        "fingerprints_sample_voters": len(sample),
        "station_with_fingerprints_s_scaled": list_s + per_voter_s * len(voters),
        "station_list_cpu_s": list_cpu_s,
        "fingerprints_per_voter_cpu_s": per_voter_cpu_s,
        "station_with_fingerprints_cpu_s_scaled": list_cpu_s + per_voter_cpu_s * len(voters),
    }


def full_station_figures(args: argparse.Namespace) -> dict[str, Any]:
    """Draw every enrolled finger (master + enrolment impression) of a whole list of ``--station-voters`` voters in a
    process pool, as a trainer preparing a training kit would: wall clock, and CPU of this process and its workers."""
    import resource

    from simulation.population import generate_country, station_voters
    from simulation.population.enrolment import enrolment_images

    country = generate_country(args.seed)
    station = dataclasses.replace(max(country.stations, key=lambda s: s.voters), voters=args.station_voters)
    load_before = os.getloadavg()
    start, cpu = time.perf_counter(), time.process_time()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    voters = list(station_voters(country, station))
    fingers, worker_cpu_s, digest = 0, 0.0, 0
    processes = args.processes or os.cpu_count() or 1
    # Fingers arrive in list order, so the voters whose last finger has arrived are a complete part of the list.
    last_finger_of = {}
    position = 0
    for v in voters:
        position += len(v.fingers)
        last_finger_of[position] = v
    voters_complete = 0
    stopped = False
    drawn_iter = enrolment_images(voters, processes)
    for drawn in drawn_iter:
        fingers += 1
        worker_cpu_s += drawn.cpu_s
        # A digest of every image, so each one was really produced and delivered to this process.
        digest = (digest * 31 + int(drawn.image[::16, ::16].sum())) % (1 << 61)
        if fingers in last_finger_of:
            voters_complete += 1
        if fingers % 250 == 0:
            print(f"  {fingers} fingers ({voters_complete} voters) in {time.perf_counter() - start:.0f} s wall, "
                  f"{worker_cpu_s:.0f} s CPU drawing; load {os.getloadavg()[0]:.1f}", flush=True)
        if args.stop_after is not None and time.perf_counter() - start > args.stop_after:
            stopped = True
            break
    drawn_iter.close()  # ends the pool (its workers are terminated) when stopped early
    wall_s = time.perf_counter() - start
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    own_cpu_s = time.process_time() - cpu
    children_cpu_s = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
    return {
        "voters": len(voters),
        "voters_complete": voters_complete,
        "stopped_early": stopped,
        "fingers": fingers,
        "processes": processes,
        "wall_s": wall_s,
        # Workers' CPU as counted by the kernel once the pool has exited, plus this process (list, pipes).
        "cpu_s": own_cpu_s + children_cpu_s,
        "cpu_s_drawing_only": worker_cpu_s,
        "cpu_s_per_finger": worker_cpu_s / max(1, fingers),
        "image_digest": digest,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "cpus": os.cpu_count(),
    }


def _print_full_station(s: dict[str, Any]) -> None:
    part = "Whole station list drawn" if not s["stopped_early"] else (
        f"Stopped early (--stop-after): {s['voters_complete']} of the list's")
    print(f"\n{part}: {s['voters']} voters, {s['fingers']} enrolled fingers "
          f"(master + enrolment impression each), {s['processes']} processes")
    print(f"  wall clock {s['wall_s'] / 60:.1f} min; CPU {s['cpu_s'] / 60:.1f} min "
          f"({s['cpu_s_per_finger']:.2f} CPU s per finger); load average before {s['load_average_before'][0]:.1f}, "
          f"after {s['load_average_after'][0]:.1f}")


def _print_speed(s: dict[str, Any]) -> None:
    print("Synthetic generation speed")
    rows = [
        ("load average (1 min) while measuring", f"{s['load_average_1min']:.1f}"),
        ("master fingerprint, CPU time (median)", f"{s['master_cpu_s_median']:.3f} s"),
        ("master fingerprint, wall clock (median / max)", f"{s['master_s_median']:.3f} s / {s['master_s_max']:.3f} s"),
        ("impression, CPU time (median)", f"{s['impression_cpu_ms_median']:.0f} ms"),
        ("impression, wall clock (median / max)", f"{s['impression_ms_median']:.0f} ms / {s['impression_ms_max']:.0f} ms"),
        (f"country layout ({s['stations']} stations, {s['country_voters']:,} voters)", f"{s['country_layout_s']:.3f} s"),
        (
            f"station list of {s['station_list_voters']} voters, no images (wall / CPU)",
            f"{s['station_list_s']:.2f} s / {s['station_list_cpu_s']:.2f} s",
        ),
        (
            f"fingerprints per voter ({s['fingers_per_voter']:.2f} fingers: master + impression each; "
            f"sample of {s['fingerprints_sample_voters']})",
            f"{s['fingerprints_per_voter_s']:.2f} s wall / {s['fingerprints_per_voter_cpu_s']:.2f} s CPU",
        ),
        (
            f"station list of {s['station_list_voters']} voters with fingerprints (scaled from the sample)",
            f"{s['station_with_fingerprints_s_scaled'] / 60:.1f} min wall / "
            f"{s['station_with_fingerprints_cpu_s_scaled'] / 60:.1f} min CPU",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")


# --- realism -------------------------------------------------------------------------------------------------------


def synthetic_database(seed: int, fingers: int, impressions: int) -> list[tuple[str, int, Image]]:
    """(finger, impression, image) of a synthetic database in the FVC layout."""
    from simulation.fingerprints import generate_impression, generate_master

    items = []
    for finger in range(fingers):
        master = generate_master(seed * 1000 + finger)
        for index in range(impressions):
            items.append((str(finger + 1), index + 1, np.asarray(generate_impression(master, index).image)))
    return items


def real_database(folder: Path) -> list[tuple[str, int, Image]]:
    """(finger, impression, image) of a real database, decoded by ``evaluation``."""
    from evaluation.database import IMAGE_SUFFIXES, samples
    from evaluation.images import read_grey

    return [(s.finger, s.impression, read_grey(s.path)) for s in samples(folder, IMAGE_SUFFIXES)]


def evaluate_images(
    items: list[tuple[str, int, Image]], dpi: float, impostor_pairs: int, seed: int
) -> dict[str, Any]:
    """The engine's figures on one database: the same steps for synthetic and real images."""
    from evaluation.database import Sample, protocol
    from evaluation.metrics import eer
    from fingerprint import compare_cylinders, cylinders
    from fingerprint.errors import ImageError
    from fingerprint.extract import extract

    qualities, minutiae, verdicts, failures, extract_ms = [], [], [], 0, []
    searches: list[Any] = []
    for _finger, _index, image in items:
        start = time.perf_counter()
        try:
            extraction = extract(image, dpi)
        except ImageError:
            failures += 1
            qualities.append(0)
            minutiae.append(0)
            verdicts.append("ERROR")
            searches.append(None)
            continue
        extract_ms.append(1000 * (time.perf_counter() - start))
        qualities.append(extraction.quality.score)
        minutiae.append(len(extraction.template))
        verdicts.append(extraction.quality.verdict.name)
        failures += len(extraction.template) == 0
        searches.append(cylinders(extraction.template))
    pairs = protocol([Sample(f, i, Path(f"{f}_{i}")) for f, i, _ in items])
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pairs.impostor_all), size=min(impostor_pairs, len(pairs.impostor_all)), replace=False)
    impostor_sample = [pairs.impostor_all[int(k)] for k in sorted(chosen)]

    def scores(pair_list: list[tuple[int, int]]) -> npt.NDArray[np.float64]:
        out = []
        for i, j in pair_list:
            a, b = searches[i], searches[j]
            out.append(0.0 if a is None or b is None else compare_cylinders(a, b))
        return np.asarray(out, dtype=np.float64)

    genuine, impostor, impostor_fvc = scores(pairs.genuine), scores(impostor_sample), scores(pairs.impostor_fvc)
    q = np.asarray(qualities, dtype=np.float64)
    return {
        "images": len(items),
        "fingers": len({f for f, _, _ in items}),
        "genuine_pairs": len(genuine),
        "impostor_pairs": len(impostor),
        "impostor_pairs_fvc": len(impostor_fvc),
        "eer": eer(genuine, impostor),
        "eer_fvc": eer(genuine, impostor_fvc),
        "genuine_mean": float(genuine.mean()),
        "genuine_sd": float(genuine.std()),
        "impostor_mean": float(impostor.mean()),
        "impostor_sd": float(impostor.std()),
        "impostor_p99": float(np.percentile(impostor, 99)),
        "quality_mean": float(q.mean()),
        "quality_p10": float(np.percentile(q, 10)),
        "quality_median": float(np.median(q)),
        "quality_p90": float(np.percentile(q, 90)),
        "quality_histogram_0_20_40_60_80_100": np.histogram(q, bins=[0, 20, 40, 60, 80, 101])[0].tolist(),
        "good_verdict_share": verdicts.count("GOOD") / len(verdicts),
        "minutiae_median": float(np.median(minutiae)),
        "failures_to_extract": failures,
        "extract_ms_median": statistics.median(extract_ms) if extract_ms else None,
    }


def realism_table(args: argparse.Namespace) -> dict[str, Any]:
    """One row per database: ours first, then every real database found."""
    rows: dict[str, Any] = {}
    start = time.perf_counter()
    items = synthetic_database(args.seed, args.fingers, args.impressions)
    generation_s = time.perf_counter() - start
    rows["synthetic (ours)"] = evaluate_images(items, 500.0, args.impostor_pairs, args.seed)
    rows["synthetic (ours)"]["generation_s"] = generation_s
    print(f"  synthetic database: {len(items)} images in {generation_s:.1f} s", flush=True)
    root = fingerprint_data_dir()
    for name in args.databases:
        folder = root / name
        if not folder.is_dir():
            print(f"  {name}: not found under {root} (set SHAILOO_FINGERPRINT_DATA); skipped", flush=True)
            continue
        dpi = {**DEFAULT_DATABASES, **OTHER_DATABASES}.get(name, 500.0)
        rows[name] = evaluate_images(real_database(folder), dpi, args.impostor_pairs, args.seed)
        print(f"  {name}: done", flush=True)
    return rows


def _print_realism(rows: dict[str, Any]) -> None:
    print("\nSynthetic vs real databases, same engine and protocol (genuine: all pairs; impostor: random sample)")
    header = (
        f"{'database':<18} {'EER%':>6} {'EERfvc%':>8} {'gen mean':>9} {'imp mean':>9} {'imp p99':>8} "
        f"{'Q mean':>7} {'Q p10':>6} {'Q med':>6} {'Q p90':>6} {'good%':>6} {'minu':>5} {'FTE':>4}"
    )
    print(header)
    print("-" * len(header))
    for name, r in rows.items():
        print(
            f"{name:<18} {100 * r['eer']:>6.2f} {100 * r['eer_fvc']:>8.2f} {r['genuine_mean']:>9.3f} "
            f"{r['impostor_mean']:>9.3f} {r['impostor_p99']:>8.3f} {r['quality_mean']:>7.1f} {r['quality_p10']:>6.0f} "
            f"{r['quality_median']:>6.0f} {r['quality_p90']:>6.0f} {100 * r['good_verdict_share']:>6.1f} "
            f"{r['minutiae_median']:>5.0f} {r['failures_to_extract']:>4}"
        )
