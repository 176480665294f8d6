"""The fingertip silhouette: the area a finger can ever touch, as in SFinGe's fingerprint-area step.

SFinGe ([HB6], "fingerprint area generation") bounds the area by four arcs of ellipses around a central rectangle;
we use two half-ellipses of different heights (the rounded tip above, the longer part towards the first crease
below) joined at the widest line, which reads the same at the resolution the area matters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulation.fingerprints import parameters as p


@dataclass(frozen=True, slots=True)
class Silhouette:
    """Centre (x, y px) of the widest line, half-width (px), heights above and below it (px)."""

    cx: float
    cy: float
    half_width: float
    upper: float
    lower: float

    def normalised_radius(
        self, xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64], scale: float = 1.0
    ) -> npt.NDArray[np.float64]:
        """Elliptic radius of each point: below 1 inside the silhouette scaled by ``scale``, 1 on its border."""
        dy = ys - self.cy
        height = np.where(dy < 0, self.upper, self.lower)
        return np.sqrt(((xs - self.cx) / (self.half_width * scale)) ** 2 + (dy / (height * scale)) ** 2)

    def mask(self, shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
        """True inside the silhouette on a ``shape`` (rows, cols) canvas."""
        ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
        return self.normalised_radius(xs, ys) < 1.0


def random_silhouette(shape: tuple[int, int], rng: np.random.Generator) -> Silhouette:
    """A fingertip silhouette of random size, centred on a ``shape`` canvas (a little above the middle)."""
    rows, cols = shape
    half_width = rng.uniform(*p.TIP_HALF_WIDTH_PX)
    upper = rng.uniform(*p.TIP_UPPER_HEIGHT_PX)
    lower = rng.uniform(*p.TIP_LOWER_HEIGHT_PX)
    # Keep the whole silhouette on the canvas with a few pixels to spare.
    half_width = min(half_width, cols / 2 - 8)
    total = upper + lower
    if total > rows - 16:
        upper, lower = upper * (rows - 16) / total, lower * (rows - 16) / total
    cy = 8 + upper + (rows - 16 - upper - lower) / 2
    return Silhouette(cols / 2, cy, half_width, upper, lower)
