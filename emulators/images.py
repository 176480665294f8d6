"""Where emulated scanners get their fingerprints: image files, any callable returning a uint8 array, or a built-in
ridge pattern so that an emulator works with nothing else installed.

A source is any ``Callable[[], numpy.ndarray]`` returning a 2-D uint8 greyscale image; the synthetic generator in
``simulation/`` plugs in as such a callable. The emulator fits each image to its sensor (centre crop or pad with the
sensor's white background), as a real sensor only sees the part of the finger that lies on its window.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

ImageSource = Callable[[], np.ndarray]

#: File types read from an image folder.
IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".bmp", ".pgm", ".jpg")


def load_grey(path: Path) -> np.ndarray:
    """One image file as 8-bit grey (palette TIFs are converted through their palette)."""
    with Image.open(path) as img:
        return np.asarray(img.convert("L"), dtype=np.uint8).copy()


class FolderSource:
    """Serves the images of a folder in name order, cycling; the last served file is kept for tests and trainers."""

    def __init__(self, folder: Path) -> None:
        files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise FileNotFoundError(f"no fingerprint images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
        self.files = files
        self._cycle: Iterator[Path] = itertools.cycle(files)
        self.last: Path | None = None

    def __call__(self) -> np.ndarray:
        self.last = next(self._cycle)
        return load_grey(self.last)


def ridge_pattern(width: int = 256, height: int = 288, period_px: float = 9.0, seed: int = 0) -> np.ndarray:
    """A plain whorl-like ridge pattern (concentric sinusoid under an elliptic mask) on a white background.

    Not a realistic fingerprint: it only gives emulators and demos a recognisable image with ridges at about
    ``period_px`` (9 px is typical at 500 dpi) when no image folder or synthetic generator is given.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    cy, cx = height * (0.45 + 0.1 * rng.random()), width * (0.45 + 0.1 * rng.random())
    r = np.hypot((x - cx) * 1.1, y - cy)
    angle = np.arctan2(y - cy, x - cx)
    ridges = 0.5 + 0.5 * np.cos(2 * np.pi * r / period_px + 0.8 * np.sin(angle))
    mask = ((x - cx) / (0.42 * width)) ** 2 + ((y - cy) / (0.45 * height)) ** 2 <= 1.0
    img = np.full((height, width), 255.0)
    img[mask] = 40 + 190 * ridges[mask]
    return img.astype(np.uint8)


def fit_to_sensor(image: np.ndarray, width: int, height: int, background: int = 255) -> np.ndarray:
    """Centre-crop or pad ``image`` to ``height`` x ``width`` (no scaling: resolutions are both about 500 dpi)."""
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError("an image source must return a 2-D uint8 array")
    out = np.full((height, width), background, dtype=np.uint8)
    h, w = image.shape
    sy, sx = max(0, (h - height) // 2), max(0, (w - width) // 2)
    dy, dx = max(0, (height - h) // 2), max(0, (width - w) // 2)
    ch, cw = min(h, height), min(w, width)
    out[dy : dy + ch, dx : dx + cw] = image[sy : sy + ch, sx : sx + cw]
    return out


#: Prefix of an image "folder" that names a synthetic finger instead: ``synthetic:SEED``.
SYNTHETIC_PREFIX = "synthetic:"


class SyntheticSource:
    """Serves successive impressions of one synthetic finger (``simulation.fingerprints``), as a trainer's voter
    pressing the same finger again and again: impression 0, 1, 2, ... of the master grown from ``seed``.
    """

    def __init__(self, seed: int) -> None:
        # Imported here: the generator is only needed when a trainer or test asks for synthetic fingers.
        from simulation.fingerprints import generate_master

        self.master = generate_master(seed)
        self.served = 0

    def __call__(self) -> np.ndarray:
        from simulation.fingerprints import generate_impression

        impression = generate_impression(self.master, self.served)
        self.served += 1
        return impression.image


def make_source(images: str | Path | ImageSource | None, width: int, height: int) -> ImageSource:
    """An image source from a folder path, ``synthetic:SEED``, a callable, or None (the built-in ridge pattern)."""
    if isinstance(images, str | Path) and str(images).startswith(SYNTHETIC_PREFIX):
        seed = str(images)[len(SYNTHETIC_PREFIX) :]
        if not seed.isdigit():
            raise ValueError(f"{images!r}: a synthetic finger is named synthetic:SEED with a whole number SEED")
        return SyntheticSource(int(seed))
    if images is None:
        counter = itertools.count()
        return lambda: ridge_pattern(width, height, seed=next(counter))
    if callable(images):
        return images
    return FolderSource(Path(images))
