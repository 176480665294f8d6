"""The ridge period map: how far apart ridges are at each point of the finger ([HB6], "density map").

SFinGe derives density from the singular points (ridges are sparser above the core, towards the tip); we do the
same with a smooth random field on top so that no two fingers share a period map.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from simulation.fingerprints import parameters as p


def smooth_noise(shape: tuple[int, int], scale_px: float, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """A random field with features about ``scale_px`` wide, scaled to [-1, 1]."""
    rows, cols = shape
    step = max(2, int(scale_px))
    coarse = rng.standard_normal((rows // step + 3, cols // step + 3)).astype(np.float32)
    field = cv2.resize(coarse, ((cols // step + 3) * step, (rows // step + 3) * step), interpolation=cv2.INTER_CUBIC)
    field = field[step : step + rows, step : step + cols]
    peak = float(np.max(np.abs(field))) or 1.0
    return np.ascontiguousarray(field / peak)


def period_map(
    shape: tuple[int, int], core_y: float, rng: np.random.Generator
) -> tuple[npt.NDArray[np.float32], float]:
    """Ridge period (px) at each pixel of a ``shape`` canvas, and the finger's mean period (px).

    ``core_y`` is the row of the (upper) core or of the arch's summit: ridges above it are a little farther apart.
    """
    mean = rng.uniform(*p.MEAN_PERIOD_PX)
    rows, _cols = shape
    ys = np.arange(rows, dtype=np.float32)[:, None]
    above = np.clip((core_y - ys) / 150.0, 0.0, 1.0)
    period = mean + p.PERIOD_VARIATION_PX * smooth_noise(shape, 120.0, rng) + p.PERIOD_TIP_EXTRA_PX * above
    return np.clip(period, p.PERIOD_MIN_PX, p.PERIOD_MAX_PX).astype(np.float32), float(mean)
