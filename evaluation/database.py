"""A fingerprint database on disk: its samples, which finger each belongs to, and the FVC comparison protocol.

File names follow the shared databases' README: ``<finger>_<impression>.<ext>`` (FVC, UPEK) or
``<person>_<finger>_<impression>.<ext>`` (CrossMatch): the finger is everything before the last underscore.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from evaluation.errors import EvaluationError

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".bmp", ".pgm")
TEMPLATE_SUFFIXES = (".iso",)


@dataclass(frozen=True, order=True)
class Sample:
    """One impression: its finger label, impression number and file."""

    finger: str
    impression: int
    path: Path


def samples(folder: Path, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> list[Sample]:
    """Every sample in ``folder`` with one of ``suffixes``, sorted by finger then impression."""
    if not folder.is_dir():
        raise EvaluationError(
            f"{folder} is not a folder; give the folder of one database (e.g. FVC2002/DB1_B)"
        )
    found = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in suffixes:
            continue
        finger, sep, impression = path.stem.rpartition("_")
        if not sep or not impression.isdigit():
            raise EvaluationError(f"{path.name}: expected <finger>_<impression>{path.suffix}")
        found.append(Sample(finger, int(impression), path))
    if not found:
        raise EvaluationError(f"no {'/'.join(suffixes)} files in {folder}")
    return sorted(found)


@dataclass(frozen=True)
class Protocol:
    """Index pairs into the sample list: genuine, impostor 'all' and impostor 'FVC' (first impressions only)."""

    genuine: list[tuple[int, int]]
    impostor_all: list[tuple[int, int]]
    impostor_fvc: list[tuple[int, int]]


def protocol(items: list[Sample]) -> Protocol:
    """The FVC protocol of the README: every genuine pair, every impostor pair, and first-impression impostors."""
    genuine: list[tuple[int, int]] = []
    impostor: list[tuple[int, int]] = []
    for i, j in itertools.combinations(range(len(items)), 2):
        (genuine if items[i].finger == items[j].finger else impostor).append((i, j))
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        first.setdefault(item.finger, index)
    firsts = sorted(first.values())
    fvc = list(itertools.combinations(firsts, 2))
    if not genuine:
        raise EvaluationError("the database has no finger with two impressions: no genuine pair to compare")
    return Protocol(genuine, impostor, fvc)
