"""Stage 1: segmentation, the foreground mask (where the finger touched the sensor).

A window is foreground when its spectrum shows a ridge pattern: enough energy in the ridge-frequency band (periods of
``MIN_RIDGE_PERIOD_PX``..``MAX_RIDGE_PERIOD_PX``) relative to the image's best windows, and most of the window's
AC energy inside that band. The window mask is then cleaned (closing, the largest region, holes filled) and
interpolated to pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from fingerprint import parameters as p
from fingerprint.blocks import RADIUS, BlockSpectra, block_to_pixels

_BAND = (RADIUS >= 1.0 / p.MAX_RIDGE_PERIOD_PX) & (RADIUS <= 1.0 / p.MIN_RIDGE_PERIOD_PX)
_AC = RADIUS > 0
#: Both masks as the columns of one (coefficients, 2) float32 matrix.
_BAND_AND_AC = np.stack([_BAND.ravel(), _AC.ravel()], axis=1).astype(np.float32)


@dataclass(frozen=True)
class Segmentation:
    """``mask`` (pixels, bool), ``block_mask`` (windows, bool), ``band_energy`` and ``band_ratio`` per window."""

    mask: npt.NDArray[np.bool_]
    block_mask: npt.NDArray[np.bool_]
    band_energy: npt.NDArray[np.float32]
    band_ratio: npt.NDArray[np.float32]


def _largest_region(mask: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The largest 4-connected region of ``mask`` and every other region at least ``SEGMENT_MIN_REGION_FRACTION`` of
    its area: a crease or a dry patch can split one finger's print in two, while dust and sensor texture make small
    islands."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
    if count <= 1:
        return mask
    areas = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    areas[0] = 0.0
    keep = areas >= p.SEGMENT_MIN_REGION_FRACTION * areas.max()
    keep[0] = False
    return np.asarray(keep.astype(np.uint8)[labels])


def _fill_holes(mask: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """``mask`` with every background region that does not reach the image border turned to foreground."""
    height, width = mask.shape
    # Flood the background from a frame around the image (4-connected, as the regions are): what stays unflooded
    # is the foreground and its holes.
    canvas = np.zeros((height + 2, width + 2), np.uint8)
    canvas[1:-1, 1:-1] = mask
    cv2.floodFill(canvas, np.zeros((height + 4, width + 4), np.uint8), (0, 0), 2, flags=4)
    return np.asarray(canvas[1:-1, 1:-1] != 2, dtype=np.uint8)


#: The envelope is smooth on the scale of REFINE_SIGMA_PX, so it is computed on a grid this many times coarser
#: (area averaging down, bilinear back up): the same field for a sixteenth of the work.
_ENVELOPE_STEP = 4


def _envelope(enhanced: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Local energy of the enhanced ridges: Gaussian average (σ = ``REFINE_SIGMA_PX``) of the squared signal."""
    height, width = enhanced.shape
    small_size = (max(1, -(-width // _ENVELOPE_STEP)), max(1, -(-height // _ENVELOPE_STEP)))
    small = cv2.resize(enhanced * enhanced, small_size, interpolation=cv2.INTER_AREA)
    # The area averaging already spreads the energy over one coarse cell (variance step²/12 px²); the blur adds the
    # rest of σ², in coarse pixels.
    sigma = np.sqrt(max(p.REFINE_SIGMA_PX**2 - _ENVELOPE_STEP**2 / 12.0, 0.25)) / _ENVELOPE_STEP
    small = cv2.GaussianBlur(small, (0, 0), float(sigma))
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.float32)


def refine(segmentation: Segmentation, enhanced: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Pixel-exact foreground: inside the window mask, where the enhanced ridge signal keeps a strong envelope.

    Window masks are coarse (16 px steps) and include the margin around the finger; the local energy of the enhanced
    image falls sharply where the ridges stop, so it traces the real edge of the print.
    """
    mask = segmentation.mask
    if not mask.any():
        return mask
    envelope = _envelope(enhanced)
    # The median of a smooth field: every second row and column give it as well as all pixels.
    level = float(np.median(envelope[::2, ::2][mask[::2, ::2]])) if mask[::2, ::2].any() else 0.0
    refined = (envelope >= p.REFINE_ENERGY_FRACTION * level) & mask
    refined = _fill_holes(_largest_region(refined.astype(np.uint8))).astype(bool)
    return np.asarray(refined)


def near_foreground(segmentation: Segmentation) -> npt.NDArray[np.bool_]:
    """The windows that later stages must filter: the foreground windows and ``ENHANCE_MARGIN_WINDOWS`` rings
    around them (the background beyond them never reaches a foreground pixel)."""
    side = 2 * p.ENHANCE_MARGIN_WINDOWS + 1
    grid = segmentation.block_mask.astype(np.uint8)
    return np.asarray(cv2.dilate(grid, np.ones((side, side), np.uint8)).astype(bool))


def segment(blocks: BlockSpectra, grey_std: float) -> Segmentation:
    """Foreground of the image analysed in ``blocks``; ``grey_std`` is the whole image's grey-level deviation."""
    power = blocks.power.reshape(*blocks.shape, -1)
    # Weighted sums over each window's coefficients as one matrix product.
    band, total = np.moveaxis(power @ _BAND_AND_AC, -1, 0)
    ratio = np.where(total > 0, band / np.maximum(total, 1e-12), 0.0).astype(np.float32)
    rows, cols = blocks.shape
    if grey_std < p.BLANK_STD_GREY or not np.any(band > 0):
        empty = np.zeros((rows, cols), dtype=bool)
        return Segmentation(np.zeros((blocks.height, blocks.width), dtype=bool), empty, band, ratio)
    reference = float(np.percentile(band, p.SEGMENT_ENERGY_PERCENTILE))
    candidate = (band >= p.SEGMENT_ENERGY_FRACTION * reference) & (ratio >= p.SEGMENT_MIN_BAND_RATIO)
    grid = candidate.astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    grid = cv2.morphologyEx(grid, cv2.MORPH_CLOSE, kernel)
    grid = cv2.morphologyEx(grid, cv2.MORPH_OPEN, kernel)
    grid = _fill_holes(_largest_region(np.asarray(grid, dtype=np.uint8)))
    pixels = block_to_pixels(grid.astype(np.float32), blocks.height, blocks.width) >= 0.5
    return Segmentation(pixels, grid.astype(bool), band, ratio)
