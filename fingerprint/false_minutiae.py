"""Stage 8: false-minutiae removal.

Rules from the structure of real ridges (Maltoni et al., Handbook of Fingerprint Recognition, 2nd ed., §3.8; Tico
and Kuosmanen, "An algorithm for fingerprint image postprocessing", 2000):

- the foreground border cuts ridges: minutiae within ``BORDER_MARGIN_PX`` of it are dropped;
- a skeleton branch shorter than ``SHORT_BRANCH_PX`` joining two minutiae is a spur (ending-bifurcation), a bridge
  (bifurcation-bifurcation) or a fragment (ending-ending): both ends go;
- two endings facing each other across a short gap are one broken ridge: both go;
- minutiae closer than ``MIN_MINUTIA_DISTANCE_PX`` to another are noise clusters: all go;
- minutiae in regions of low orientation coherence sit in noise: they go;
- then at most ``MAX_MINUTIAE`` of the best quality are kept.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from fingerprint import parameters as p
from fingerprint.minutiae import RawMinutiae
from fingerprint.model import MinutiaKind


def _wrap(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray((a + np.pi) % (2 * np.pi) - np.pi)


def remove_false_minutiae(raw: RawMinutiae, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """Indices of the candidates in ``raw`` that survive every rule, best quality first."""
    n = len(raw)
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    keep = np.ones(n, dtype=bool)
    distance = cv2.distanceTransform(np.pad(mask.astype(np.uint8), 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    keep &= distance[raw.y, raw.x] >= p.BORDER_MARGIN_PX
    keep &= raw.coherence >= p.MIN_MINUTIA_COHERENCE
    drop = np.zeros(n, dtype=bool)
    for i, j, _length in raw.links:
        drop[i] = drop[j] = True
    x, y = raw.x.astype(np.float64), raw.y.astype(np.float64)
    dx, dy = x[None, :] - x[:, None], y[None, :] - y[:, None]
    dist = np.hypot(dx, dy)
    np.fill_diagonal(dist, np.inf)
    drop |= (dist < p.MIN_MINUTIA_DISTANCE_PX).any(axis=1)
    # Broken ridge: i's direction points into its own ridge, away from the gap, so the gap i -> j lies opposite to
    # i's direction, and j points the other way.
    endings = raw.kind == MinutiaKind.ENDING
    towards = np.arctan2(-dy, dx)  # screen frame direction of i -> j
    facing = (
        endings[:, None]
        & endings[None, :]
        & (dist < p.BROKEN_RIDGE_GAP_PX)
        & (np.abs(_wrap(raw.angle[:, None] - raw.angle[None, :] - np.pi)) < p.BROKEN_RIDGE_ANGLE_RAD)
        & (np.abs(_wrap(towards - raw.angle[:, None] - np.pi)) < p.BROKEN_RIDGE_ANGLE_RAD)
    )
    drop |= facing.any(axis=1) | facing.any(axis=0)
    keep &= ~drop
    survivors = np.nonzero(keep)[0]
    order = np.argsort(-raw.coherence[survivors], kind="stable")
    return np.asarray(survivors[order][: p.MAX_MINUTIAE], dtype=np.intp)
