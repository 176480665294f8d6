"""Stage 3: the ridge frequency field, from each window's spectrum.

In a window the ridge pattern is close to a plane wave, so its spectrum peaks at the ridge frequency in the direction
perpendicular to the ridges. The frequency of a window is the energy-weighted mean radius of the spectrum inside the
ridge band and within a narrow sector around that direction; it is then smoothed over neighbouring windows (ridge
spacing changes slowly across a finger) and clamped to the human range. The spread of the raw estimates around the
smoothed field is NFIQ 2's frequency consistency (ISO/IEC 29794-4 §6, 'ridge frequency').
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from fingerprint import parameters as p
from fingerprint.blocks import COS2_WAVE, RADIUS, SIN2_WAVE, BlockSpectra

_LOW = 1.0 / p.MAX_RIDGE_PERIOD_PX
_HIGH = 1.0 / p.MIN_RIDGE_PERIOD_PX
_BAND = ((RADIUS >= _LOW) & (RADIUS <= _HIGH)).astype(np.float32)
#: Half-width (rad) of the spectral sector used to read the frequency.
_SECTOR_HALF_WIDTH_RAD = 0.5
#: Typical ridge frequency (cycles/px at 500 dpi), used where no window gives an estimate.
DEFAULT_FREQUENCY = 1.0 / 9.0


@dataclass(frozen=True)
class FrequencyField:
    """``frequency`` per window (cycles/px, smoothed) and ``consistency`` per window (0..1, 1 = steady spacing)."""

    frequency: npt.NDArray[np.float32]
    consistency: npt.NDArray[np.float32]


def wave_sector(block_angle: npt.NDArray[np.float32], half_width: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Angular weight (rows, cols, B, B//2+1) of each coefficient: a raised cosine of the angle δ between its wave
    vector and the window's ridge normal, modulo π (a real spectrum is symmetric), zero beyond ``half_width`` (rad).

    δ is read through cos 2δ = cos 2ψ cos 2ψ₀ + sin 2ψ sin 2ψ₀, which needs no angle wrapping.
    """
    normal2 = 2.0 * (block_angle + np.pi / 2.0)
    c0 = np.cos(normal2).astype(np.float32)[:, :, None, None]
    s0 = np.sin(normal2).astype(np.float32)[:, :, None, None]
    cos2d = COS2_WAVE[None, None] * c0 + SIN2_WAVE[None, None] * s0
    hw = np.asarray(half_width, dtype=np.float32)
    if hw.ndim == 2:
        hw = hw[:, :, None, None]
    # |δ| in [0, π/2] from cos 2δ; the raised cosine cos²(π δ / 2hw) inside the half-width.
    delta = 0.5 * np.arccos(np.clip(cos2d, -1.0, 1.0))
    t = np.minimum(delta / hw, 1.0)
    return (0.5 + 0.5 * np.cos(np.pi * t)).astype(np.float32, copy=False)


#: Orientation quantisation of precomputed spectral filters (bins over [0, π)): 32 bins are 5.6° apart, well inside
#: every angular pass band used here.
ORIENTATION_BINS = 32


def orientation_bin(angle: npt.NDArray[np.float32]) -> npt.NDArray[np.intp]:
    """Index of the nearest of ``ORIENTATION_BINS`` orientations in [0, π) for each ridge orientation."""
    return np.asarray(np.round(angle / np.pi * ORIENTATION_BINS).astype(np.intp) % ORIENTATION_BINS)


_BIN_ANGLES = (np.arange(ORIENTATION_BINS, dtype=np.float32) * np.float32(np.pi / ORIENTATION_BINS))[:, None]
#: Band-limited sector weights per orientation bin, (bins, B, B//2+1).
_SECTOR_TABLE = (wave_sector(_BIN_ANGLES, _SECTOR_HALF_WIDTH_RAD)[:, 0] * _BAND[None]).astype(np.float32)


def ridge_frequency(
    blocks: BlockSpectra, block_angle: npt.NDArray[np.float32], block_mask: npt.NDArray[np.bool_]
) -> FrequencyField:
    """Ridge frequency per window of ``blocks``, given the windows' ridge orientation and the foreground windows."""
    weight = blocks.power * _SECTOR_TABLE[orientation_bin(block_angle)]
    total = weight.sum(axis=(2, 3))
    raw = np.where(total > 0, (weight * RADIUS[None, None]).sum(axis=(2, 3)) / np.maximum(total, 1e-12), 0.0)
    valid = (total > 0) & block_mask
    confidence = np.where(valid, total, 0.0).astype(np.float32)
    # Confidence-weighted Gaussian smoothing over neighbouring windows (a normalised convolution).
    sigma = p.FREQUENCY_SMOOTH_SIGMA_BLOCKS
    numerator = cv2.GaussianBlur((raw * confidence).astype(np.float32), (0, 0), sigma)
    denominator = cv2.GaussianBlur(confidence, (0, 0), sigma)
    fallback = float(np.median(raw[valid])) if valid.any() else DEFAULT_FREQUENCY
    smooth = np.where(denominator > 1e-9, numerator / np.maximum(denominator, 1e-12), fallback)
    smooth = np.clip(smooth, _LOW, _HIGH).astype(np.float32)
    relative_error = np.abs(raw - smooth) / smooth
    consistency = np.where(valid, np.clip(1.0 - 4.0 * relative_error, 0.0, 1.0), 0.0).astype(np.float32)
    return FrequencyField(smooth, consistency)
