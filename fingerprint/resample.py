"""Stage 0: check the input and bring it to the working resolution (500 dpi) as float32 grey levels."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from fingerprint import parameters as p
from fingerprint.errors import ImageError

Image = npt.NDArray[np.float32]


def native_grid_scale(dpi: float) -> float | None:
    """Factor from the sensor's pixels to 500-dpi pixels when extraction should run on the sensor's own grid.

    Near 500 dpi (within ``NATIVE_GRID_TOLERANCE``) resampling by a small non-integer factor averages neighbouring
    pixels of every ridge and costs more detail than the pipeline loses by running its 500-dpi lengths on a slightly
    different scale (its ridge-period range spans a factor of three). Such images are extracted as they are and only
    the minutiae are scaled; ``None`` means resample first.
    """
    scale = p.WORKING_DPI / float(dpi)
    return scale if scale != 1.0 and abs(scale - 1.0) <= p.NATIVE_GRID_TOLERANCE else None


def to_working_resolution(image: npt.ArrayLike, dpi: float) -> Image:
    """Validate a greyscale image and resample it to ``WORKING_DPI``; returns float32 grey levels (0..255 scale).

    Accepts 2-D arrays of uint8, uint16 (scaled to 0..255) or floats (taken as 0..255). Raises :class:`ImageError`
    for anything else: a colour image, a wrong resolution or an image too small to hold a fingerprint.
    """
    array = np.asarray(image)
    if array.ndim != 2:
        raise ImageError(
            f"expected a 2-D greyscale image, got an array of shape {array.shape}; convert to grey first"
        )
    if not (p.MIN_INPUT_DPI <= dpi <= p.MAX_INPUT_DPI):
        raise ImageError(
            f"resolution {dpi} dpi is outside {p.MIN_INPUT_DPI}..{p.MAX_INPUT_DPI}; check the scanner profile"
        )
    if array.dtype == np.uint8:
        grey = array.astype(np.float32)
    elif array.dtype == np.uint16:
        grey = array.astype(np.float32) * np.float32(255.0 / 65535.0)
    elif (
        np.issubdtype(array.dtype, np.floating)
        or array.dtype == np.bool_
        or np.issubdtype(array.dtype, np.integer)
    ):
        grey = array.astype(np.float32)
        if not np.isfinite(grey).all():
            raise ImageError("the image holds NaN or infinite values")
    else:
        raise ImageError(f"unsupported pixel type {array.dtype}")
    scale = p.WORKING_DPI / float(dpi)
    if native_grid_scale(dpi) is not None:
        scale = 1.0
    height, width = grey.shape
    out_w, out_h = round(width * scale), round(height * scale)
    if min(out_w, out_h) < p.MIN_IMAGE_SIDE_PX or max(out_w, out_h) > p.MAX_IMAGE_SIDE_PX:
        raise ImageError(
            f"image of {width} x {height} px at {dpi} dpi is {out_w} x {out_h} px at {p.WORKING_DPI} dpi; "
            f"expected sides of {p.MIN_IMAGE_SIDE_PX} to {p.MAX_IMAGE_SIDE_PX} px"
        )
    if (out_w, out_h) == (width, height):
        return np.ascontiguousarray(grey)
    # Area averaging when shrinking (no aliasing of the ridge pattern), cubic when enlarging.
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
    return np.ascontiguousarray(
        cv2.resize(grey, (out_w, out_h), interpolation=interpolation), dtype=np.float32
    )
