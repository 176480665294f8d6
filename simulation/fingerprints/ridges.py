"""Ridges grown by iterative Gabor filtering, SFinGe's ridge-pattern step ([HB6], "ridge pattern generation").

A few random seed points on a blank canvas are filtered again and again with the Gabor filter that matches the
orientation and period at each pixel; after each pass the image is amplified and clipped to [-1, 1]. Every seed
grows into a patch of parallel ridges that follows the orientation field, and minutiae appear where patches grown
from different seeds meet out of phase: that is how SFinGe gets realistic minutiae without placing any.

Speed: a pixel-by-pixel space-variant filter is slow in Python, so the orientation (16 bins) and the period (1 px
steps) are quantised and each (orientation, period) filter of the bank is applied to the whole image at once in the
Fourier domain (one forward transform per pass, one product and inverse transform per bin used by the finger);
each pixel then takes the output of its own bin.
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np
import numpy.typing as npt

from simulation.fingerprints import parameters as p

_INVERSE = cv2.DFT_INVERSE | cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE


def gabor_kernel(theta: float, period: float) -> npt.NDArray[np.float32]:
    """Even, zero-mean Gabor kernel for ridges running along ``theta`` (rad) with ``period`` (px), unit gain.

    The envelope is isotropic (σ = GABOR_SIGMA_PER_PERIOD · period), as in SFinGe's filters; the gain is 1 for a
    sinusoid of the matching orientation and period, so that bins of different period grow alike.
    """
    sigma = p.GABOR_SIGMA_PER_PERIOD * period
    radius = int(math.ceil(3.0 * sigma))
    ys, xs = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float64)
    # Distance across the ridges: the wave vector is normal to the ridge direction (cos θ, sin θ).
    across = -xs * math.sin(theta) + ys * math.cos(theta)
    envelope = np.exp(-(xs**2 + ys**2) / (2.0 * sigma**2))
    wave = np.cos(2.0 * math.pi * across / period)
    kernel = envelope * wave
    kernel -= envelope * (kernel.sum() / envelope.sum())
    kernel /= float(np.sum(kernel * wave))
    return kernel.astype(np.float32)


@lru_cache(maxsize=512)
def _bank_spectrum(rows: int, cols: int, orientation_bin: int, period_px: float) -> npt.NDArray[np.float32]:
    """The (packed) spectrum of one bank filter placed at the origin of a ``rows`` x ``cols`` canvas."""
    kernel = gabor_kernel(orientation_bin * math.pi / p.ORIENTATION_BINS, period_px)
    radius = kernel.shape[0] // 2
    full = np.zeros((rows, cols), np.float32)
    offsets = np.arange(-radius, radius + 1)
    full[np.ix_(offsets % rows, offsets % cols)] = kernel
    return np.asarray(cv2.dft(full), dtype=np.float32)


def _period_levels() -> npt.NDArray[np.float64]:
    count = int(round((p.PERIOD_MAX_PX - p.PERIOD_MIN_PX) / p.PERIOD_STEP_PX)) + 1
    return np.asarray(p.PERIOD_MIN_PX + p.PERIOD_STEP_PX * np.arange(count), dtype=np.float64)


def grow_ridges(
    orientation: npt.NDArray[np.float32],
    period: npt.NDArray[np.float32],
    mask: npt.NDArray[np.bool_],
    rng: np.random.Generator,
    iterations: int = p.GROWTH_ITERATIONS,
) -> npt.NDArray[np.float32]:
    """A ridge field in [-1, 1] (+1 on ridge crests) following ``orientation`` (rad) and ``period`` (px).

    Ridges are grown inside ``mask`` only; the result is 0 outside it.
    """
    # Work on the mask's bounding box only: the transforms cost in proportion to the area.
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return np.zeros(orientation.shape, np.float32)
    top, bottom, left, right = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    grown = np.zeros(orientation.shape, np.float32)
    grown[top:bottom, left:right] = _grow(
        orientation[top:bottom, left:right],
        period[top:bottom, left:right],
        mask[top:bottom, left:right],
        rng,
        iterations,
    )
    return grown


def _grow(
    orientation: npt.NDArray[np.float32],
    period: npt.NDArray[np.float32],
    mask: npt.NDArray[np.bool_],
    rng: np.random.Generator,
    iterations: int,
) -> npt.NDArray[np.float32]:
    rows, cols = orientation.shape
    margin = int(math.ceil(3.0 * p.GABOR_SIGMA_PER_PERIOD * p.PERIOD_MAX_PX)) + 1
    fft_rows, fft_cols = cv2.getOptimalDFTSize(rows + margin), cv2.getOptimalDFTSize(cols + margin)

    levels = _period_levels()
    orientation_bin = (
        np.rint(orientation / (math.pi / p.ORIENTATION_BINS)).astype(np.int64) % p.ORIENTATION_BINS
    )
    period_bin = np.clip(np.rint((period - p.PERIOD_MIN_PX) / p.PERIOD_STEP_PX), 0, len(levels) - 1).astype(
        np.int64
    )
    labels = orientation_bin * len(levels) + period_bin
    ys, xs = np.nonzero(mask)
    flat = ys * fft_cols + xs
    point_labels = labels[ys, xs]
    order = np.argsort(point_labels, kind="stable")
    bounds = np.flatnonzero(np.diff(point_labels[order])) + 1
    groups = []
    for chunk in np.split(order, bounds):
        label = int(point_labels[chunk[0]])
        spectrum = _bank_spectrum(
            fft_rows, fft_cols, label // len(levels), float(levels[label % len(levels)])
        )
        groups.append((spectrum, flat[chunk]))

    image = np.zeros((fft_rows, fft_cols), np.float32)
    area = float(mask.sum())
    seeds = rng.choice(len(flat), size=max(1, int(area / p.SEED_AREA_PX2)), replace=False)
    image.ravel()[flat[seeds]] = rng.choice(np.array([-1.0, 1.0], np.float32), size=len(seeds))
    for _ in range(iterations):
        spectrum_in = cv2.dft(image)
        grown = np.zeros_like(image)
        out = grown.ravel()
        for spectrum, where in groups:
            response = cv2.dft(cv2.mulSpectrums(spectrum_in, spectrum, 0), flags=_INVERSE)
            out[where] = response.ravel()[where]
        # Local normalisation: dividing by the local amplitude lets weak fronts far from the seeds grow as fast as
        # the ridges near them, so every part of the finger fills in after a few passes.
        amplitude = cv2.GaussianBlur(np.abs(grown), (0, 0), p.GROWTH_NORMALISATION_SIGMA_PX)
        floor = 0.02 * float(amplitude.max() or 1.0)
        image = np.clip(grown * (p.GROWTH_GAIN / 2.0) / (amplitude + floor), -1.0, 1.0)
    return np.ascontiguousarray(image[:rows, :cols])


def add_irregularities(
    ridges: npt.NDArray[np.float32],
    orientation: npt.NDArray[np.float32],
    period: npt.NDArray[np.float32],
    mask: npt.NDArray[np.bool_],
    rng: np.random.Generator,
) -> npt.NDArray[np.float32]:
    """``ridges`` with the finger's own irregular features: ridge breaks, short ridges, lakes.

    Ridges grown by Gabor filtering only end or fork where the flow forces a ridge in or out, so the minutiae of a
    region nearly all point along the flow in the same sense. Real skin also has the features that the dactyloscopic
    literature counts besides plain endings and bifurcations (C. Champod, C. Lennard, P. Margot, M. Stoilovic,
    "Fingerprints and Other Ridge Skin Impressions", CRC Press 2004, ch. 1: breaks, short ridges, dots, lakes), each
    a pair of minutiae pointing at each other. Measured with the project's engine on first and second impressions
    (10 fingers per database, 40 synthetic fingers): pairs of minutiae under 20 px apart with opposite directions
    (differing by more than 2.5 rad) are 0.09 to 0.23 per minutia on the FVC2000/2002 B databases, 0.05 on our
    fingers before this step (0.11 after); of all neighbours within 70 px, 0.30 to 0.51 point the other way on the
    real databases, 0.18 on ours before (0.23 after). The two SFinGe-made databases, FVC2000 DB4 and FVC2002 DB4,
    share the bias (0.20 and 0.24) and have the highest impostor means of the eight (0.016): alike directions make
    the MCC cylinders of unrelated fingers alike.

    Drawn once per finger (they are permanent skin features), at one per ``IRREGULARITY_AREA_PX2`` of fingertip.
    """
    ys, xs = np.nonzero(mask)
    count = int(len(xs) / p.IRREGULARITY_AREA_PX2)
    if count == 0:
        return ridges
    out = np.array(ridges, dtype=np.float32)
    crest = np.zeros(ridges.shape, np.float32)  # where a ridge is added (short ridges, the branches of a lake)
    cut = np.zeros(ridges.shape, np.float32)  # where a ridge is cut (breaks, the slit of a lake)
    kinds = rng.choice(3, size=count, p=np.asarray(p.IRREGULARITY_SHARES, np.float64))
    for kind in kinds:
        # Breaks and lakes sit on a crest, short ridges in the middle of a valley.
        want_crest = kind != 1
        for _attempt in range(20):
            k = int(rng.integers(len(xs)))
            y, x = int(ys[k]), int(xs[k])
            if (ridges[y, x] > 0.8) == want_crest and abs(ridges[y, x]) > 0.8:
                break
        theta = float(orientation[y, x])
        local_period = float(period[y, x])
        # Lengths: the engine (like most extractors) takes a gap or a ridge shorter than about 1.2 to 1.4 periods for
        # noise, and its contextual filtering bridges short gaps, so features shorter than that would only blur the
        # print.
        c, s = math.cos(theta), math.sin(theta)
        if kind == 0:  # break: a gap across one ridge
            half = rng.uniform(*p.BREAK_HALF_LENGTH_PERIODS) * local_period
            strokes = [(0.0, 0.6 * local_period, cut)]
        elif kind == 1:  # short ridge in a valley; the ridges on either side give way a little
            half = rng.uniform(*p.SHORT_RIDGE_HALF_LENGTH_PERIODS) * local_period
            strokes = [(0.0, 0.3 * local_period, crest)]
            strokes += [(side * 0.32 * local_period, 0.18 * local_period, cut) for side in (-1.0, 1.0)]
        else:  # lake: the ridge splits into two thin branches that join again
            half = rng.uniform(*p.SHORT_RIDGE_HALF_LENGTH_PERIODS) * local_period
            strokes = [(0.0, 0.22 * local_period, cut)]
            strokes += [(side * 0.3 * local_period, 0.2 * local_period, crest) for side in (-1.0, 1.0)]
        dx, dy = half * c, half * s
        for offset, width, canvas in strokes:
            ox, oy = -s * offset, c * offset  # across the ridge
            cv2.line(
                canvas,
                (int(round((x + ox - dx) * 4)), int(round((y + oy - dy) * 4))),
                (int(round((x + ox + dx) * 4)), int(round((y + oy + dy) * 4))),
                1.0,
                max(1, int(round(width))),
                cv2.LINE_AA,
                shift=2,
            )
    soft_crest = np.asarray(cv2.GaussianBlur(crest, (0, 0), 0.8), dtype=np.float32)
    soft_cut = np.asarray(cv2.GaussianBlur(cut, (0, 0), 0.8), dtype=np.float32)
    out = np.maximum(out * (1.0 - soft_cut) - soft_cut, 2.0 * soft_crest - 1.0)
    out[~mask] = 0.0
    return np.ascontiguousarray(np.clip(out, -1.0, 1.0), dtype=np.float32)
