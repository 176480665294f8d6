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


#: The averaged tensor is smooth on the scale of ORIENTATION_SIGMA_PX, so it is kept on a grid this many times
#: coarser than the pixels (area averaging down, Gaussian on the coarse grid, bilinear reads): a quarter of the
#: work of smoothing at full resolution, for the same field.
TENSOR_STEP = 2


@dataclass(frozen=True)
class OrientationField:
    """The averaged tensor (``gxx``, ``gyy``, ``gxy``) on a grid ``TENSOR_STEP`` times coarser than the image's
    ``height`` x ``width`` pixels, and the field per analysis window.

    Per-pixel angle and coherence are derived on demand: the extractor needs them only at minutiae (:meth:`at`);
    the full images (:attr:`angle`, :attr:`coherence`) are for the debug sink and tests.
    """

    gxx: FloatImage
    gyy: FloatImage
    gxy: FloatImage
    block_angle: FloatImage
    block_coherence: FloatImage
    height: int
    width: int

    def at(self, ys: npt.NDArray[np.intp], xs: npt.NDArray[np.intp]) -> tuple[FloatImage, FloatImage]:
        """Ridge orientation (rad, [0, π), pixel frame) and coherence (0..1) at the given pixels."""
        # Coarse cell j covers pixels step*j .. step*j + step - 1, so pixel x sits at (x + 0.5) / step - 0.5.
        gy = np.clip((np.asarray(ys, dtype=np.float32) + 0.5) / TENSOR_STEP - 0.5, 0, self.gxx.shape[0] - 1)
        gx = np.clip((np.asarray(xs, dtype=np.float32) + 0.5) / TENSOR_STEP - 0.5, 0, self.gxx.shape[1] - 1)
        y0 = np.minimum(gy.astype(np.intp), self.gxx.shape[0] - 2 if self.gxx.shape[0] > 1 else 0)
        x0 = np.minimum(gx.astype(np.intp), self.gxx.shape[1] - 2 if self.gxx.shape[1] > 1 else 0)
        y1 = np.minimum(y0 + 1, self.gxx.shape[0] - 1)
        x1 = np.minimum(x0 + 1, self.gxx.shape[1] - 1)
        fy, fx = gy - y0, gx - x0

        def sample(g: FloatImage) -> FloatImage:
            top = g[y0, x0] * (1 - fx) + g[y0, x1] * fx
            bottom = g[y1, x0] * (1 - fx) + g[y1, x1] * fx
            return np.asarray(top * (1 - fy) + bottom * fy, dtype=np.float32)

        return _angle_and_coherence(sample(self.gxx), sample(self.gyy), sample(self.gxy))

    def _full(self) -> tuple[FloatImage, FloatImage, FloatImage]:
        size = (self.width, self.height)
        return tuple(  # type: ignore[return-value]
            np.asarray(cv2.resize(g, size, interpolation=cv2.INTER_LINEAR), dtype=np.float32)
            for g in (self.gxx, self.gyy, self.gxy)
        )

    @property
    def angle(self) -> FloatImage:
        """Ridge orientation of every pixel (rad, [0, π), pixel frame)."""
        return _angle_and_coherence(*self._full())[0]

    @property
    def coherence(self) -> FloatImage:
        """Orientation coherence of every pixel (0..1)."""
        return _angle_and_coherence(*self._full())[1]


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
    height, width = image.shape
    step = TENSOR_STEP
    coarse_size = (-(-width // step), -(-height // step))
    # Area averaging over step x step cells has variance step²/12 px² per axis; the Gaussian adds the rest of σ².
    sigma = float(np.sqrt(max(p.ORIENTATION_SIGMA_PX**2 - step**2 / 12.0, 0.25))) / step
    tensor = cv2.merge([gxx, gyy, gxy])
    coarse = cv2.resize(tensor, coarse_size, interpolation=cv2.INTER_AREA)
    coarse = cv2.GaussianBlur(coarse, (0, 0), sigma)
    smooth = [np.ascontiguousarray(coarse[:, :, k], dtype=np.float32) for k in range(3)]
    # Window field: the tensor averaged over each step-sized cell around a window centre (cells start S/2 before
    # the image, as the windows do), then smoothed over neighbouring windows.
    rows, cols = blocks.shape
    cell = p.BLOCK_STEP_PX // step
    half = cell // 2
    ch, cw = coarse.shape[:2]
    pad = ((half, rows * cell - ch - half), (half, cols * cell - cw - half), (0, 0))
    small = cv2.resize(np.pad(coarse, pad, mode="edge"), (cols, rows), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), p.ORIENTATION_BLOCK_SIGMA_BLOCKS)
    block_angle, block_coherence = _angle_and_coherence(small[:, :, 0], small[:, :, 1], small[:, :, 2])
    return OrientationField(smooth[0], smooth[1], smooth[2], block_angle, block_coherence, height, width)
