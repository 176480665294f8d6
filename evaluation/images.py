"""Image decoding at the edge: files of the shared databases to greyscale arrays for the engine.

Pillow reads TIF (including palette TIFs, whose indices are not grey levels: they are converted through the palette)
and PNG. The resolution comes from the caller (the database's documented dpi); file headers are unreliable (FVC TIFs
say 1 dpi).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from evaluation.errors import EvaluationError


def read_grey(path: Path) -> npt.NDArray[np.uint8]:
    """The image at ``path`` as 8-bit grey levels (palette and colour images converted by luminance)."""
    try:
        with Image.open(path) as image:
            if image.mode in ("I;16", "I;16B", "I"):
                array = np.asarray(image, dtype=np.float64)
                peak = float(array.max()) or 1.0
                return np.asarray(np.round(array / peak * 255.0), dtype=np.uint8)
            # 'P' (palette), 'RGB', '1', 'LA', ...: Pillow's conversion applies the palette / ITU-R 601 luma.
            return np.asarray(image.convert("L"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as error:
        raise EvaluationError(f"cannot read image {path}: {error}") from error
