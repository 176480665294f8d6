"""Stage 7: minutiae from the skeleton: position, type, direction and quality.

Position and type by the crossing number (Rutovitz; Maltoni et al., Handbook of Fingerprint Recognition, 2nd ed.,
§3.7.1): 1 is a ridge ending, 3 a bifurcation. Each minutia's branches are traced along the skeleton; the direction
comes from the traced branch (an ending's ridge; the opposite of a bifurcation's stem, the branch that leaves the
other two) and is then aligned with the orientation field, which is smoother than a few skeleton pixels. The traces
also record which minutiae are joined by a short branch: the false-minutiae stage needs them.

Directions follow ``model.py``: radians counter-clockwise on screen from +x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fingerprint import parameters as p
from fingerprint.model import MinutiaKind
from fingerprint.orientation import OrientationField
from fingerprint.thinning import NEIGHBOURS, crossing_from_codes, neighbour_codes

#: Neighbour offsets per 8-bit neighbourhood code.
_OFFSETS: list[list[tuple[int, int]]] = [
    [NEIGHBOURS[k] for k in range(8) if (code >> k) & 1] for code in range(256)
]
_TRACE_STEPS = max(p.DIRECTION_TRACE_PX, p.SHORT_BRANCH_PX)


@dataclass(frozen=True)
class RawMinutiae:
    """Candidate minutiae (struct of arrays) and the short skeleton links between them.

    ``x``, ``y`` px; ``angle`` rad (screen counter-clockwise); ``kind`` ISO code; ``coherence`` 0..1;
    ``links`` (k, 3) rows (i, j, length_px) for branches from i that reach minutia j within ``SHORT_BRANCH_PX``.
    """

    x: npt.NDArray[np.int64]
    y: npt.NDArray[np.int64]
    angle: npt.NDArray[np.float64]
    kind: npt.NDArray[np.int64]
    coherence: npt.NDArray[np.float64]
    links: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.x.shape[0])


def _run_starts(code: int) -> list[tuple[int, int]]:
    """One offset (dy, dx) per run of neighbours in a neighbourhood ``code`` (a bifurcation has three runs), the
    4-neighbour of the run if it has one: where the branches of a minutia start."""
    bits = [(code >> k) & 1 for k in range(8)]
    if all(bits):
        return []
    start = next(k for k in range(8) if not bits[k])
    runs: list[list[int]] = []
    for i in range(1, 9):
        k = (start + i) % 8
        if bits[k]:
            if not bits[(k - 1) % 8] or not runs:
                runs.append([])
            runs[-1].append(k)
    out = []
    for run in runs:
        orth = [k for k in run if k % 2 == 0]
        k = orth[0] if orth else run[0]
        out.append(NEIGHBOURS[k])
    return out


_RUN_STARTS = [_run_starts(code) for code in range(256)]


def _trace(
    codes: bytes,
    width: int,
    index: dict[int, int],
    origin: int,
    first: int,
    blocked: set[int],
) -> tuple[int, int, int]:
    """Follow the skeleton from ``origin`` through ``first`` (flat pixel indices ``y * width + x`` of an image whose
    neighbourhood codes are ``codes``, one byte per pixel); returns (point at the direction distance or the last
    point, steps taken, index of the minutia reached or -1).

    At each step the next pixel is the first unvisited neighbour, a 4-neighbour before a diagonal one (the order
    of ``_OFFSETS``). Flat indices and a ``bytes`` lookup keep this loop, the extractor's only per-pixel Python
    code, cheap.
    """
    prev, cur = origin, first
    visited = {origin, *blocked}
    direction_point = cur
    offsets = _FLAT_OFFSETS[width]
    for step in range(1, _TRACE_STEPS + 1):
        if step <= p.DIRECTION_TRACE_PX:
            direction_point = cur
        hit = index.get(cur, -1)
        if hit >= 0:
            return direction_point, step, hit
        visited.add(cur)
        nxt = -1
        for delta, orthogonal in offsets[codes[cur]]:
            cand = cur + delta
            if cand not in visited and cand != prev:
                nxt = cand
                if orthogonal:
                    break
        if nxt < 0:
            return direction_point, step, -1
        prev, cur = cur, nxt
    return direction_point, _TRACE_STEPS, -1


class _FlatOffsets(dict[int, list[list[tuple[int, bool]]]]):
    """Per image width: for each neighbourhood code, the (flat offset, is a 4-neighbour) of its neighbours."""

    def __missing__(self, width: int) -> list[list[tuple[int, bool]]]:
        table = [[(dy * width + dx, dy == 0 or dx == 0) for dy, dx in offsets] for offsets in _OFFSETS]
        self[width] = table
        return table


_FLAT_OFFSETS = _FlatOffsets()


def detect_minutiae(skeleton: npt.NDArray[np.bool_], orientation: OrientationField) -> RawMinutiae:
    """Candidate minutiae of a skeleton, with directions aligned to the orientation field."""
    # A one-pixel frame of empty pixels keeps every traced neighbour inside the flat image (no bounds checks).
    height, width = skeleton.shape
    framed = np.zeros((height + 2, width + 2), dtype=bool)
    framed[1:-1, 1:-1] = skeleton
    stride = width + 2
    framed_codes = neighbour_codes(framed)
    cn = crossing_from_codes(framed, framed_codes)[1:-1, 1:-1]
    ys, xs = np.nonzero((cn == 1) | (cn == 3))
    codes = framed_codes.tobytes()
    flat = ((ys + 1) * stride + (xs + 1)).tolist()
    index = {f: i for i, f in enumerate(flat)}
    ridge_angles, coherence32 = orientation.at(ys, xs)
    minutia_codes = [codes[f] for f in flat]
    angles = np.zeros(len(ys))
    kinds = np.zeros(len(ys), dtype=np.int64)
    links: list[tuple[int, int, int]] = []
    for i, (y, x) in enumerate(zip(ys.tolist(), xs.tolist(), strict=True)):
        origin = flat[i]
        starts = [origin + dy * stride + dx for dy, dx in _RUN_STARTS[minutia_codes[i]]]
        ends: list[tuple[float, float]] = []
        for s in starts:
            point, length, hit = _trace(codes, stride, index, origin, s, set(starts) - {s})
            py, px = divmod(point, stride)
            ends.append((px - 1 - x, py - 1 - y))
            if hit >= 0 and hit != i and length <= p.SHORT_BRANCH_PX:
                links.append((i, hit, length))
        if cn[y, x] == 1:
            kinds[i] = MinutiaKind.ENDING
            vx, vy = ends[0] if ends else (1.0, 0.0)
        else:
            kinds[i] = MinutiaKind.BIFURCATION
            vx, vy = _away_from_stem(ends)
        traced = math.atan2(vy, vx)  # pixel frame, y down
        ridge = float(ridge_angles[i])
        aligned = ridge if abs(_wrap(traced - ridge)) <= math.pi / 2 else ridge + math.pi
        angles[i] = (-aligned) % (2 * math.pi)  # to the screen counter-clockwise frame of model.py
    coherence = coherence32.astype(np.float64)
    link_array = np.asarray(links, dtype=np.int64).reshape(-1, 3)
    return RawMinutiae(xs.astype(np.int64), ys.astype(np.int64), angles, kinds, coherence, link_array)


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def _away_from_stem(ends: list[tuple[float, float]]) -> tuple[float, float]:
    """Direction of a bifurcation: the opposite of the branch that makes the widest angles with the other two."""
    if len(ends) < 3:
        return ends[0] if ends else (1.0, 0.0)
    dirs = [math.atan2(vy, vx) for vx, vy in ends[:3]]
    spread = [sum(abs(_wrap(dirs[k] - dirs[j])) for j in range(3) if j != k) for k in range(3)]
    stem = ends[max(range(3), key=spread.__getitem__)]  # the first of equal maxima, as argmax
    return -stem[0], -stem[1]
