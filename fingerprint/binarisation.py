"""Stage 5: binarisation: ridge pixels are where the enhanced image is negative, inside the foreground.

Enhancement removed the local mean and contrast differences, so the sign is the decision. Ridge islands and valley
holes smaller than ``MIN_BLOB_AREA_PX`` (pores, sweat dots, dust) are then removed: each would thin into a pair of
false minutiae.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from fingerprint import parameters as p


def _drop_small(binary: npt.NDArray[np.uint8], min_area: int) -> npt.NDArray[np.uint8]:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count <= 1:
        return binary
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    return keep[labels].astype(np.uint8)


def binarise(enhanced: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Ridge map (True on ridges) of the enhanced image inside ``mask``."""
    # Only the bounding box of the foreground can hold ridges.
    ys, xs = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    out = np.zeros(mask.shape, dtype=bool)
    if len(ys) == 0:
        return out
    box = (slice(int(ys[0]), int(ys[-1]) + 1), slice(int(xs[0]), int(xs[-1]) + 1))
    out[box] = _binarise(enhanced[box], mask[box])
    return out


def _binarise(enhanced: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    ridges = ((enhanced < 0) & mask).astype(np.uint8)
    ridges = _drop_small(ridges, p.MIN_BLOB_AREA_PX)
    valleys = ((1 - ridges) & mask.astype(np.uint8)).astype(np.uint8)
    holes = valleys & (1 - _drop_small(valleys, p.MIN_BLOB_AREA_PX))
    return np.asarray((ridges | holes).astype(bool) & mask)
