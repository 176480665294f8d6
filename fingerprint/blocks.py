"""Overlapping analysis windows and their spectra (short-time Fourier analysis), shared by several stages.

Windows of ``BLOCK_SIZE_PX`` every ``BLOCK_STEP_PX`` with a sine window: with half-window steps the squared sine
window sums to one, so filtered windows overlap-add back into an image without seams (Princen-Bradley condition).
Spectra are computed once per image and read by segmentation, frequency estimation and enhancement.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import scipy.fft

from fingerprint import parameters as p

_B = p.BLOCK_SIZE_PX
_S = p.BLOCK_STEP_PX
_WINDOW_1D = np.sin(np.pi * (np.arange(_B) + 0.5) / _B).astype(np.float32)
WINDOW = np.outer(_WINDOW_1D, _WINDOW_1D)
#: Spatial frequency of every rfft2 coefficient (cycles/px), its radius and the direction of its wave vector
#: (radians, pixel frame: x right, y down).
FREQ_Y = np.fft.fftfreq(_B)[:, None].astype(np.float32)
FREQ_X = np.fft.rfftfreq(_B)[None, :].astype(np.float32)
RADIUS = np.sqrt(FREQ_X**2 + FREQ_Y**2)
WAVE_ANGLE = np.arctan2(FREQ_Y, FREQ_X)
#: cos and sin of twice the wave angle: the angle between two orientations is read from these without wrapping.
COS2_WAVE = np.cos(2.0 * WAVE_ANGLE).astype(np.float32)
SIN2_WAVE = np.sin(2.0 * WAVE_ANGLE).astype(np.float32)


@dataclass(frozen=True)
class BlockSpectra:
    """The rfft2 of every window: ``spectra`` (rows, cols, B, B//2+1); window (r, c) covers image rows
    ``r*S - S//2 .. r*S - S//2 + B`` (and likewise columns), so its centre is at ``(r*S + S//2, c*S + S//2)``."""

    spectra: npt.NDArray[np.complex64]
    power: npt.NDArray[np.float32]
    height: int
    width: int

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.spectra.shape[0]), int(self.spectra.shape[1])

    def centres(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Pixel coordinates (y, x) of the window centres, each of shape (rows,) and (cols,)."""
        rows, cols = self.shape
        return np.arange(rows, dtype=np.float64) * _S + _S / 2.0, np.arange(
            cols, dtype=np.float64
        ) * _S + _S / 2.0


def _padding(length: int) -> tuple[int, int, int]:
    """Pad before, pad after, number of windows along one axis."""
    count = -(-length // _S) + 1
    before = _S // 2
    after = (count - 1) * _S + _B - before - length
    return before, after, count


def analyse(image: npt.NDArray[np.float32]) -> BlockSpectra:
    """Window the image (each window's mean removed, so no DC leaks into the ridge band) and take its spectra."""
    height, width = image.shape
    top, bottom, _ = _padding(height)
    left, right, _ = _padding(width)
    padded = cv2.copyMakeBorder(np.asarray(image, dtype=np.float32), top, bottom, left, right, cv2.BORDER_REFLECT_101)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (_B, _B))[::_S, ::_S]
    # A window's mean is the mean of its four step-sized cells (the padded image is a whole number of cells).
    rows, cols = padded.shape[0] // _S, padded.shape[1] // _S
    cells = cv2.resize(padded, (cols, rows), interpolation=cv2.INTER_AREA)
    means = 0.25 * (cells[:-1, :-1] + cells[1:, :-1] + cells[:-1, 1:] + cells[1:, 1:])
    tapered = windows * WINDOW
    tapered -= means[:, :, None, None] * WINDOW
    spectra = scipy.fft.rfft2(tapered).astype(np.complex64, copy=False)
    power = (spectra.real**2 + spectra.imag**2).astype(np.float32, copy=False)
    return BlockSpectra(spectra, power, height, width)


def synthesise(
    blocks: BlockSpectra,
    filtered: npt.NDArray[np.complex64],
    selected: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.float32]:
    """Overlap-add the inverse transforms of ``filtered`` spectra into an image of the original size.

    ``filtered`` has the layout of ``blocks.spectra``, or, with ``selected`` (rows, cols) given, holds only the
    selected windows in row-major order (``spectra[selected]``); the other windows contribute nothing.
    """
    rows, cols = blocks.shape
    if selected is None:
        windows = scipy.fft.irfft2(filtered, s=(_B, _B)).astype(np.float32, copy=False) * WINDOW
    else:
        windows = np.zeros((rows, cols, _B, _B), dtype=np.float32)
        if len(filtered):
            windows[selected] = scipy.fft.irfft2(filtered, s=(_B, _B)).astype(np.float32, copy=False) * WINDOW
    top, _, _ = _padding(blocks.height)
    left, _, _ = _padding(blocks.width)
    out = np.zeros(((rows - 1) * _S + _B, (cols - 1) * _S + _B), dtype=np.float32)
    # Four interleaved sets of non-overlapping windows: each set adds in one vectorised step.
    for dr in (0, 1):
        for dc in (0, 1):
            sub = windows[dr::2, dc::2]
            r_n, c_n = sub.shape[:2]
            if r_n == 0 or c_n == 0:
                continue
            tiles = sub.transpose(0, 2, 1, 3).reshape(r_n * _B, c_n * _B)
            # Windows of one set sit 2*S = B apart, so they tile without overlap.
            out[dr * _S : dr * _S + r_n * _B, dc * _S : dc * _S + c_n * _B] += tiles
    return np.ascontiguousarray(out[top : top + blocks.height, left : left + blocks.width])


def block_to_pixels(values: npt.NDArray[np.floating], height: int, width: int) -> npt.NDArray[np.float32]:
    """Bilinear interpolation of a per-window value to every pixel (window centres as sample points)."""
    # Pixel (x, y) reads the window grid at ((x - S/2) / S, (y - S/2) / S): one affine map, no coordinate images.
    to_grid = np.array([[1.0 / _S, 0.0, -0.5], [0.0, 1.0 / _S, -0.5]], dtype=np.float64)
    return np.asarray(
        cv2.warpAffine(
            values.astype(np.float32),
            to_grid,
            (width, height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        ),
        dtype=np.float32,
    )
