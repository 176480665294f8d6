"""Stage 2: the orientation field, from the averaged gradient structure tensor.

Bazen and Gerez, "Systematic methods for the computation of the directional fields and singular points of
fingerprints", IEEE TPAMI 24(7), 2002, §2: the squared gradients (G_xx, G_yy, G_xy) averaged over a neighbourhood give
the dominant gradient direction, and ridges run perpendicular to it; the coherence (0 = isotropic noise, 1 = straight
parallel ridges) measures how certain that direction is (NFIQ 2's orientation certainty, ISO/IEC 29794-4 §6).

Angles here are ridge orientations in [0, π) in the *pixel* frame (x right, y down, clockwise on screen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from fingerprint import parameters as p
from fingerprint.blocks import BlockSpectra

FloatImage = npt.NDArray[np.float32]


@dataclass(frozen=True)
class OrientationField:
    """The averaged tensor per pixel (``gxx``, ``gyy``, ``gxy``) and the field per analysis window.

    Per-pixel angle and coherence are derived on demand: the extractor needs them only at minutiae (:meth:`at`);
    the full images (:attr:`angle`, :attr:`coherence`) are for the debug sink and tests.
    """

    gxx: FloatImage
    gyy: FloatImage
    gxy: FloatImage
    block_angle: FloatImage
    block_coherence: FloatImage

    def at(self, ys: npt.NDArray[np.intp], xs: npt.NDArray[np.intp]) -> tuple[FloatImage, FloatImage]:
        """Ridge orientation (rad, [0, π), pixel frame) and coherence (0..1) at the given pixels."""
        return _angle_and_coherence(self.gxx[ys, xs], self.gyy[ys, xs], self.gxy[ys, xs])

    @property
    def angle(self) -> FloatImage:
        return _angle_and_coherence(self.gxx, self.gyy, self.gxy)[0]

    @property
    def coherence(self) -> FloatImage:
        return _angle_and_coherence(self.gxx, self.gyy, self.gxy)[1]


def _angle_and_coherence(
    gxx: npt.NDArray[Any], gyy: npt.NDArray[Any], gxy: npt.NDArray[Any]
) -> tuple[FloatImage, FloatImage]:
    diff = gxx - gyy
    # The gradient's dominant direction is 0.5*atan2(2Gxy, Gxx-Gyy); ridges run perpendicular to it.
    angle = (0.5 * np.arctan2(2.0 * gxy, diff) + np.pi / 2.0) % np.pi
    strength = np.sqrt(diff**2 + 4.0 * gxy**2)
    coherence = np.where(gxx + gyy > 1e-6, strength / np.maximum(gxx + gyy, 1e-6), 0.0)
    return angle.astype(np.float32), np.clip(coherence, 0.0, 1.0).astype(np.float32)


def orientation_field(
    image: FloatImage, mask: npt.NDArray[np.bool_], blocks: BlockSpectra
) -> OrientationField:
    """Ridge orientation and coherence of ``image`` per pixel and per window of ``blocks``."""
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)
    weight = mask.astype(np.float32)
    gxx, gyy, gxy = gx * gx * weight, gy * gy * weight, gx * gy * weight
    sigma = p.ORIENTATION_SIGMA_PX
    smooth = [np.asarray(cv2.GaussianBlur(g, (0, 0), sigma), dtype=np.float32) for g in (gxx, gyy, gxy)]
    # Window field: the tensor averaged over each window's footprint, then over neighbouring windows.
    # Window field: the tensor averaged over each step-sized cell around a window centre (cells start S/2 before
    # the image, as the windows do), then smoothed over neighbouring windows.
    rows, cols = blocks.shape
    half = p.BLOCK_STEP_PX // 2
    height, width = image.shape
    pad = ((half, rows * p.BLOCK_STEP_PX - height - half), (half, cols * p.BLOCK_STEP_PX - width - half))
    small = [
        cv2.resize(np.pad(g, pad, mode="edge"), (cols, rows), interpolation=cv2.INTER_AREA) for g in smooth
    ]
    small = [cv2.GaussianBlur(g, (0, 0), p.ORIENTATION_BLOCK_SIGMA_BLOCKS) for g in small]
    block_angle, block_coherence = _angle_and_coherence(*small)
    return OrientationField(smooth[0], smooth[1], smooth[2], block_angle, block_coherence)
