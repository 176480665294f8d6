"""The ridge period map: how far apart ridges are at each point of the finger ([HB6], "density map").

SFinGe derives density from the singular points (ridges are sparser above the core, towards the tip); we do the
same with a smooth random field on top so that no two fingers share a period map.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from simulation.fingerprints import parameters as p
from simulation.fingerprints.orientation import Singularity


def smooth_noise(shape: tuple[int, int], scale_px: float, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """A random field with features about ``scale_px`` wide, scaled to [-1, 1]."""
    rows, cols = shape
    step = max(2, int(scale_px))
    coarse = rng.standard_normal((rows // step + 3, cols // step + 3)).astype(np.float32)
    field = cv2.resize(coarse, ((cols // step + 3) * step, (rows // step + 3) * step), interpolation=cv2.INTER_CUBIC)
    field = field[step : step + rows, step : step + cols]
    peak = float(np.max(np.abs(field))) or 1.0
    return np.ascontiguousarray(field / peak)


def bend_together(
    orientation: npt.NDArray[np.float32], singularities: tuple[Singularity, ...]
) -> npt.NDArray[np.float32]:
    """``orientation`` (rad, modulo π) averaged across the ridges, so that neighbouring ridges bend together.

    Where the ridge direction changes across the ridges, neighbouring ridges fan out or close in and, at a constant
    period, a ridge must start or stop every period's worth of spreading: those minutiae are forced by the flow.
    The zero-pole model is known to be only a first approximation away from the singular points (Handbook of
    Fingerprint Recognition, 2nd ed., ch. 3 on orientation-field models: Sherlock and Monro's zero-pole model,
    Vizcaya and Gerhardt's correction), and real ridges run nearly parallel there, their period changing slowly
    (ch. 3 on ridge frequency). Averaging the doubled-angle field along the ridge normal, ``ACROSS_SMOOTHING_PASSES``
    times over ±``ACROSS_SMOOTHING_PX``, keeps the bends (which move whole bands of ridges, forcing nothing) and
    drops most of the fanning; within ``ACROSS_SMOOTHING_KEEP_PX`` of a singular point the model's field is kept.
    Deterministic: no random draws.
    """
    rows, cols = orientation.shape
    # The averaging runs on a grid 4 px apart (the field is smooth wherever it is averaged; the singular points keep
    # their own full-resolution field below): 16 times fewer samples for the same result.
    step = 4
    small = (max(1, cols // step), max(1, rows // step))
    c = cv2.resize(np.cos(2.0 * orientation).astype(np.float32), small, interpolation=cv2.INTER_AREA)
    s = cv2.resize(np.sin(2.0 * orientation).astype(np.float32), small, interpolation=cv2.INTER_AREA)
    gy, gx = np.mgrid[0 : small[1], 0 : small[0]].astype(np.float32)
    theta = 0.5 * np.arctan2(s, c)
    steps = np.linspace(-p.ACROSS_SMOOTHING_PX, p.ACROSS_SMOOTHING_PX, 9, dtype=np.float32) / step
    for _ in range(p.ACROSS_SMOOTHING_PASSES):
        nx, ny = -np.sin(theta), np.cos(theta)
        sum_c, sum_s = np.zeros_like(c), np.zeros_like(s)
        for d in steps:
            map_x, map_y = gx + d * nx, gy + d * ny
            sum_c += cv2.remap(c, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            sum_s += cv2.remap(s, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        theta = 0.5 * np.arctan2(sum_s, sum_c)
        c, s = np.cos(2.0 * theta), np.sin(2.0 * theta)
    c = cv2.resize(c, (cols, rows), interpolation=cv2.INTER_LINEAR)
    s = cv2.resize(s, (cols, rows), interpolation=cv2.INTER_LINEAR)
    ys, xs = np.mgrid[0:rows, 0:cols].astype(np.float32)
    # The singular points keep their own field: within a few ridges of them the flow turns by design.
    near = np.full((rows, cols), np.inf, np.float32)
    for q in singularities:
        near = np.minimum(near, np.hypot(xs - q.x, ys - q.y))
    keep = np.exp(-(near**2) / (2.0 * p.ACROSS_SMOOTHING_KEEP_PX**2)).astype(np.float32)
    c0, s0 = np.cos(2.0 * orientation), np.sin(2.0 * orientation)
    blended = 0.5 * np.arctan2(keep * s0 + (1 - keep) * s, keep * c0 + (1 - keep) * c)
    return np.mod(blended, np.pi).astype(np.float32)


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
