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
    # Only pairs closer than the larger of the two distance rules matter: work on those pairs, not on all n² of them
    # (a noisy image has hundreds of candidates).
    x, y = raw.x.astype(np.float64), raw.y.astype(np.float64)
    reach = max(p.MIN_MINUTIA_DISTANCE_PX, p.BROKEN_RIDGE_GAP_PX)
    order_x = np.argsort(x, kind="stable")
    i_list: list[npt.NDArray[np.intp]] = []
    j_list: list[npt.NDArray[np.intp]] = []
    sorted_x = x[order_x]
    # Pairs within ``reach`` along x, found on the x-sorted list by shifting it against itself.
    for shift in range(1, n):
        close = sorted_x[shift:] - sorted_x[:-shift] < reach
        if not close.any():
            break
        i_list.append(order_x[:-shift][close])
        j_list.append(order_x[shift:][close])
    if i_list:
        a = np.concatenate(i_list)
        b = np.concatenate(j_list)
        # Both orders of every pair: the rules below are not symmetric in i and j.
        i, j = np.concatenate([a, b]), np.concatenate([b, a])
        dx, dy = x[j] - x[i], y[j] - y[i]
        dist = np.hypot(dx, dy)
        noise = dist < p.MIN_MINUTIA_DISTANCE_PX
        drop[i[noise]] = True
        # Broken ridge: i's direction points into its own ridge, away from the gap, so the gap i -> j lies opposite
        # to i's direction, and j points the other way.
        endings = raw.kind == MinutiaKind.ENDING
        towards = np.arctan2(-dy, dx)  # screen frame direction of i -> j
        facing = (
            endings[i]
            & endings[j]
            & (dist < p.BROKEN_RIDGE_GAP_PX)
            & (np.abs(_wrap(raw.angle[i] - raw.angle[j] - np.pi)) < p.BROKEN_RIDGE_ANGLE_RAD)
            & (np.abs(_wrap(towards - raw.angle[i] - np.pi)) < p.BROKEN_RIDGE_ANGLE_RAD)
        )
        drop[i[facing]] = True
        drop[j[facing]] = True
    keep &= ~drop
    survivors = np.nonzero(keep)[0]
    order = np.argsort(-raw.coherence[survivors], kind="stable")
    return np.asarray(survivors[order][: p.MAX_MINUTIAE], dtype=np.intp)
