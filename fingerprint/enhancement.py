"""Stage 4: enhancement by contextual filtering in the Fourier domain.

Each window's spectrum is multiplied by a filter tuned to that window's ridges: a Gaussian band-pass around the local
ridge frequency times a raised-cosine sector around the local ridge normal (narrow where the orientation is certain,
wide near cores, deltas and scars), then transformed back and overlap-added. This is the short-time Fourier
enhancement of Chikkerur, Cartwright and Govindaraju (Pattern Recognition 40(1), 2007, §3), which acts like a bank of
oriented Gabor filters (Hong, Wan, Jain, IEEE TPAMI 20(8), 1998) but costs two FFTs per window.

The output is zero-mean: ridges (dark in every supported sensor) are negative, valleys positive.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from fingerprint import parameters as p
from fingerprint.blocks import RADIUS, BlockSpectra, synthesise
from fingerprint.frequency import ORIENTATION_BINS, orientation_bin, wave_sector

#: Filters are precomputed for quantised contexts: orientation (``ORIENTATION_BINS`` over [0, π)), ridge period
#: (``_PERIOD_BINS`` log-spaced steps over the human range, about 6.5% apart) and coherence (``_COHERENCE_BINS`` levels
#: of the angular width). A window picks its filter by index: no per-window trigonometry.
_PERIOD_BINS = 20
_COHERENCE_BINS = 4
_PERIODS = np.geomspace(p.MIN_RIDGE_PERIOD_PX, p.MAX_RIDGE_PERIOD_PX, _PERIOD_BINS).astype(np.float32)
_LOG_PERIOD_STEP = float(np.log(_PERIODS[1] / _PERIODS[0]))


@functools.cache
def _filter_bank() -> npt.NDArray[np.float32]:
    """Filters (orientation, period, coherence, B, B//2+1), built once per process (about 5 MB)."""
    half_widths = (
        p.ENHANCE_MAX_ANGULAR_HALF_WIDTH_RAD
        - (p.ENHANCE_MAX_ANGULAR_HALF_WIDTH_RAD - p.ENHANCE_MIN_ANGULAR_HALF_WIDTH_RAD)
        * (np.arange(_COHERENCE_BINS, dtype=np.float32) + 0.5)
        / _COHERENCE_BINS
    )
    angles = (np.arange(ORIENTATION_BINS, dtype=np.float32) * np.float32(np.pi / ORIENTATION_BINS))[:, None]
    angular = np.stack([wave_sector(angles, hw)[:, 0] for hw in half_widths], axis=1)  # (O, C, B, B/2+1)
    f0 = (1.0 / _PERIODS)[:, None, None]
    sigma = p.ENHANCE_RADIAL_SIGMA_FRACTION * f0
    radial = np.exp(-((RADIUS[None] - f0) ** 2) / (2.0 * sigma**2))  # (P, B, B/2+1)
    return np.ascontiguousarray(angular[:, None] * radial[None, :, None], dtype=np.float32)


def enhance(
    blocks: BlockSpectra,
    block_angle: npt.NDArray[np.float32],
    block_coherence: npt.NDArray[np.float32],
    frequency: npt.NDArray[np.float32],
    block_mask: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.float32]:
    """Enhanced image (float32, same size as the analysed image).

    With ``block_mask`` (windows, bool) only those windows are filtered and the rest of the image is zero: the
    extractor passes the foreground windows and their neighbours, which cover every foreground pixel, and skips the
    background's inverse transforms.
    """
    o = orientation_bin(block_angle)
    period_index = np.round(np.log(1.0 / (frequency * _PERIODS[0])) / _LOG_PERIOD_STEP).astype(np.intp)
    f = np.clip(period_index, 0, _PERIOD_BINS - 1)
    c = np.clip((block_coherence * _COHERENCE_BINS).astype(np.intp), 0, _COHERENCE_BINS - 1)
    if block_mask is None:
        return synthesise(blocks, blocks.spectra * _filter_bank()[o, f, c])
    gains = _filter_bank()[o[block_mask], f[block_mask], c[block_mask]]
    # The filters are real: scale the real and imaginary parts (a float32 view) rather than promote the gains to
    # complex numbers.
    filtered = blocks.spectra[block_mask]
    filtered.view(np.float32).reshape(*filtered.shape, 2)[...] *= gains[..., None]
    return synthesise(blocks, filtered, block_mask)
