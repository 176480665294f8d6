"""Synthetic ridge images for stage tests: known orientation, period and minutiae, no data files needed."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def ridges(
    shape: tuple[int, int] = (256, 256),
    period_px: float = 9.0,
    angle_rad: float = 0.4,
    noise: float = 0.0,
    seed: int = 0,
) -> npt.NDArray[np.uint8]:
    """Parallel ridges (dark) whose *ridge direction* is ``angle_rad`` in the pixel frame (x right, y down)."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    # The wave runs perpendicular to the ridges.
    normal = angle_rad + np.pi / 2
    phase = 2 * np.pi * (x * np.cos(normal) + y * np.sin(normal)) / period_px
    image = 128 + 90 * np.cos(phase)
    if noise:
        image += np.random.default_rng(seed).normal(0, noise, shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def disc(image: npt.NDArray[np.uint8], radius_px: float, background: int = 230) -> npt.NDArray[np.uint8]:
    """``image`` inside a centred disc, a flat background outside (a finger on a sensor)."""
    h, w = image.shape
    y, x = np.mgrid[0:h, 0:w]
    out = np.full_like(image, background)
    inside = (y - h / 2) ** 2 + (x - w / 2) ** 2 <= radius_px**2
    out[inside] = image[inside]
    return out


def ridge_ending_field(shape: tuple[int, int] = (200, 200), period_px: int = 10) -> npt.NDArray[np.bool_]:
    """Binary ridge map: horizontal ridges 4 px wide, the middle one stopping at the centre (one ridge ending whose
    ridge lies to the left of the tip)."""
    h, w = shape
    out = np.zeros(shape, dtype=bool)
    for top in range(5, h - 5, period_px):
        out[top : top + 4, 5 : w - 5] = True
    middle = ((h // 2) // period_px) * period_px + 5
    out[middle : middle + 4, w // 2 :] = False
    return out
