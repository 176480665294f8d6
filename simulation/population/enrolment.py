"""Enrolment images of a whole station list: each voter's enrolled fingers drawn (master + first impression) in a
pool of processes, since one finger costs about a third of a CPU second and a list of 3,000 voters holds ~6,000.

Fork is used so workers start without re-importing; each finger is independent and deterministic from its seed, so
the images do not depend on the number of processes or on the order in which workers finish.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Generator, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Imported here, before any fork, so workers inherit the loaded generator instead of importing it each.
from simulation.fingerprints import generate_impression, generate_master
from simulation.population.voters import SyntheticVoter

#: Fingers handed to a worker at a time: large enough that the pipe round trip is negligible next to ~0.3 s of
#: work per finger, small enough that both cores stay busy to the end of the list.
CHUNK_FINGERS = 4


@dataclass(frozen=True)
class EnrolmentImage:
    """One enrolled finger's enrolment impression (500 dpi greyscale) and the CPU seconds its drawing took."""

    personal_number: str
    position: int
    image: npt.NDArray[np.uint8]
    cpu_s: float


def _draw(job: tuple[str, int, int]) -> EnrolmentImage:
    import time

    pin, position, seed = job
    started = time.process_time()
    image = np.asarray(generate_impression(generate_master(seed), 0).image, dtype=np.uint8)
    return EnrolmentImage(pin, position, image, time.process_time() - started)


def enrolment_images(voters: Iterable[SyntheticVoter], processes: int | None = None) -> Generator[EnrolmentImage, None, None]:
    """Every enrolled finger of ``voters``, in list order, drawn by ``processes`` workers (default: one per core;
    1 draws in this process)."""
    jobs = [(v.personal_number, f.position, f.seed) for v in voters for f in v.fingers]
    count = processes or os.cpu_count() or 1
    if count <= 1:
        yield from map(_draw, jobs)
        return
    with multiprocessing.get_context("fork").Pool(count) as pool:
        yield from pool.imap(_draw, jobs, chunksize=CHUNK_FINGERS)
