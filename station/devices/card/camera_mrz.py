"""Reading the MRZ from a photo of the card (OpenCV), for when the operator does not type it.

A recipe of named stages: find the MRZ band (dark, dense, wide text near the card's bottom: black-hat and horizontal
gradient, closed into a block, ICAO 9303-3 §4.2 layout), straighten it by the band's angle, split it into lines by
the ink profile, cut each line into its 30 or 44 fixed-pitch cells (OCR-B is monospaced), and classify each cell by
nearest template among glyphs rendered from the OCR-B font (Debian ``fonts-ocr-b``; DejaVu Sans Mono if absent).
The characters allowed at each position (digits in dates and check digits, letters in names) settle O/0 and I/1;
the result then goes through :func:`parse_mrz`, so every check digit must agree before the MRZ is used for BAC.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from station.devices.card.errors import CardError, MrzError
from station.devices.card.mrz import Mrz, parse_mrz

FONT_CANDIDATES = (
    Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"),
)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ<"
CELL_W, CELL_H = 16, 24  # normalised glyph size for matching, pixels
TEMPLATE_FONT_PX = 64  # glyphs are rendered large, then reduced like the photo's cells


def font_path() -> Path:
    """The OCR-B font if installed, else a monospace fallback (recognition is then less certain)."""
    for path in FONT_CANDIDATES:
        if path.exists():
            return path
    raise CardError("no MRZ font found: apt-get install fonts-ocr-b")


def _recentre(line: np.ndarray, centre: float, pitch: float) -> np.ndarray:
    """A cell one pitch wide, moved onto the ink centroid found near ``centre`` (tolerates pitch drift)."""
    x0 = int(round(centre - pitch / 2))
    x1 = int(round(centre + pitch / 2))
    cell = line[:, max(0, x0) : max(0, x1)]
    cols = cell.sum(axis=0)
    if cols.sum() > 0:
        centre = max(0, x0) + float((cols * np.arange(cols.size)).sum() / cols.sum())
    width = max(1, int(round(pitch)))
    left = int(round(centre - pitch / 2))
    out = np.zeros((line.shape[0], width), dtype=np.float32)
    src0, src1 = max(0, left), min(line.shape[1], left + width)
    if src1 > src0:
        out[:, src0 - left : src1 - left] = line[:, src0:src1]
    return out


def _vector(cell: np.ndarray) -> np.ndarray | None:
    """A cell's ink (1 = ink) resized to CELL_W x CELL_H as a zero-mean unit vector; None for an empty cell."""
    if not cell.any():
        return None
    vec = cv2.resize(cell.astype(np.float32), (CELL_W, CELL_H), interpolation=cv2.INTER_AREA).ravel()
    vec -= vec.mean()
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else None


@functools.lru_cache(maxsize=1)
def _templates() -> tuple[str, np.ndarray]:
    """Each MRZ character rendered in the MRZ font, cut like a photographed cell (line band, one pitch wide)."""
    font = ImageFont.truetype(str(font_path()), TEMPLATE_FONT_PX)
    pitch = float(font.getlength("M"))  # monospaced: every advance is the same
    height = TEMPLATE_FONT_PX * 2
    masks = []
    for ch in ALPHABET:
        img = Image.new("L", (int(pitch) * 3, height), 0)
        ImageDraw.Draw(img).text((int(pitch), TEMPLATE_FONT_PX // 2), ch, font=font, fill=255)
        masks.append(np.asarray(img) > 127)
    rows = np.flatnonzero(np.stack(masks).any(axis=(0, 2)))
    band = slice(int(rows[0]), int(rows[-1]) + 1)  # the line band: union of every glyph's ink rows
    vectors = []
    for mask in masks:
        vec = _vector(_recentre(mask[band].astype(np.float32), 1.5 * pitch, pitch))
        assert vec is not None
        vectors.append(vec)
    return ALPHABET, np.stack(vectors)


_template_lock = threading.Lock()


def _ranked(cell: np.ndarray, allowed: str) -> list[tuple[float, str]]:
    """Allowed characters by similarity to the cell, best first (an empty cell is the filler)."""
    vec = _vector(cell)
    if vec is None:
        return [(1.0, "<")]
    with _template_lock:
        alphabet, vectors = _templates()
    scores = vectors @ vec
    return sorted(((float(scores[i]), ch) for i, ch in enumerate(alphabet) if ch in allowed), reverse=True)


def _allowed(fmt: str, line: int, pos: int) -> str:
    """Characters possible at one MRZ position (ICAO 9303-5 §4.2.2 for TD1, 9303-4 §4.2.2 for TD3)."""
    alnum = ALPHABET
    if fmt == "TD1":
        if line == 0:
            return LETTERS if pos < 5 else (DIGITS + "<" if pos == 14 else alnum)
        if line == 1:
            if pos <= 6 or 8 <= pos <= 14 or pos == 29:
                return DIGITS
            if pos == 7:
                return "MFX<"
            return LETTERS if 15 <= pos <= 17 else alnum
        return LETTERS
    if line == 0:
        return LETTERS
    if pos == 9 or 13 <= pos <= 19 or 21 <= pos <= 27 or pos == 43:
        return DIGITS
    if pos == 20:
        return "MFX<"
    if 10 <= pos <= 12:
        return LETTERS
    return DIGITS + "<" if pos == 42 else alnum


# --- stages ---------------------------------------------------------------------------------------------------------
def to_gray(image: np.ndarray) -> np.ndarray:
    """A greyscale uint8 copy of a camera frame (BGR, BGRA or already grey)."""
    if image.ndim == 2:
        return image.astype(np.uint8, copy=False)
    if image.ndim == 3 and image.shape[2] in (3, 4):
        code = cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        return cv2.cvtColor(image.astype(np.uint8, copy=False), code)
    raise MrzError(f"camera frame has shape {image.shape}; expected a grey or colour image")


def find_mrz_band(gray: np.ndarray) -> tuple[tuple[float, float], tuple[float, float], float]:
    """The rotated rectangle (centre, size, angle) around the MRZ: the widest dense text block, lowest on the card."""
    h, w = gray.shape
    unit = max(3, w // 100)
    blackhat = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (unit * 3, unit)))
    grad = np.abs(cv2.Sobel(blackhat, cv2.CV_32F, 1, 0, ksize=3))
    grad = (grad * (255.0 / max(float(grad.max()), 1e-6))).astype(np.uint8)
    grad = cv2.morphologyEx(grad, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (unit * 3, 1)))
    _, mask = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (unit * 2, unit * 3)))
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=2)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    best = None
    for contour in contours:
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if rw < rh:
            rw, rh, angle = rh, rw, angle - 90
        angle = (angle + 90.0) % 180.0 - 90.0  # a line has no direction: keep the turn within +-90 degrees
        if rw < 0.4 * w or rw / max(rh, 1) < 3.0:
            continue
        score = rw * rh + cy  # prefer big blocks, then the lower one
        if best is None or score > best[0]:
            best = (score, ((cx, cy), (rw, rh), angle))
    if best is None:
        raise MrzError("no MRZ found in the photo; hold the card flat, MRZ side up, filling most of the picture")
    return best[1]


def straighten(gray: np.ndarray, band: tuple[tuple[float, float], tuple[float, float], float]) -> np.ndarray:
    """The MRZ band cut out of the photo and rotated level, with a margin."""
    (cx, cy), (rw, rh), angle = band
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    level = cv2.warpAffine(gray, matrix, (gray.shape[1], gray.shape[0]), flags=cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_REPLICATE)
    mx, my = rw * 0.04, rh * 0.25
    x0, x1 = int(max(0, cx - rw / 2 - mx)), int(min(gray.shape[1], cx + rw / 2 + mx))
    y0, y1 = int(max(0, cy - rh / 2 - my)), int(min(gray.shape[0], cy + rh / 2 + my))
    return level[y0:y1, x0:x1]


def ink_mask(crop: np.ndarray) -> np.ndarray:
    """Dark print as True (Otsu threshold after a light blur against sensor noise)."""
    blurred = cv2.GaussianBlur(crop, (3, 3), 0)
    _, mask = cv2.threshold(blurred, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return mask.astype(bool)


def _darkness(crop: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Print darkness from 0 (paper) to 1 (ink), from the medians of the paper and ink pixels."""
    paper = float(np.median(crop[~mask])) if (~mask).any() else 255.0
    ink = float(np.median(crop[mask])) if mask.any() else 0.0
    span = max(paper - ink, 1.0)
    return np.clip((paper - crop.astype(np.float32)) / span, 0.0, 1.0)


def split_lines(mask: np.ndarray) -> list[slice]:
    """The rows of each text line of the band (between gaps in the ink profile)."""
    profile = mask.sum(axis=1)
    on = profile > max(2, 0.05 * profile.max())
    lines: list[tuple[int, int]] = []
    start = None
    for y, flag in enumerate([*on, False]):
        if flag and start is None:
            start = y
        elif not flag and start is not None:
            lines.append((start, y))
            start = None
    tallest = max((b - a for a, b in lines), default=0)
    lines = [(a, b) for a, b in lines if b - a >= 0.5 * tallest]
    return [slice(a, b) for a, b in lines]


def read_line(
    line: np.ndarray, ink: np.ndarray, count: int, fmt: str, number: int
) -> list[list[tuple[float, str]]]:
    """Ranked candidates for the ``count`` cells of one line (``ink``: 0..1 darkness, ``line``: its ink mask); the
    first and last glyph centres fix the pitch, and cells are matched on darkness, which keeps the thin differences
    (O and 0) that a threshold loses."""
    n_labels, _, stats, centroids = cv2.connectedComponentsWithStats(line.astype(np.uint8), connectivity=8)
    min_area = max(3, int(0.01 * line.shape[0] ** 2))
    blobs = [i for i in range(1, n_labels) if stats[i, cv2.CC_STAT_AREA] >= min_area]
    if len(blobs) < 2:
        raise MrzError("an MRZ line in the photo is blank; move the card closer to the camera")
    lefts = [stats[i, cv2.CC_STAT_LEFT] for i in blobs]
    rights = [stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH] for i in blobs]
    first = float(centroids[blobs[int(np.argmin(lefts))]][0])
    last = float(centroids[blobs[int(np.argmax(rights))]][0])
    pitch = (last - first) / (count - 1)
    if pitch <= 2:
        raise MrzError("the MRZ in the photo is too small to read; move the card closer to the camera")
    cells = ink
    return [
        _ranked(_recentre(cells, first + i * pitch, pitch), _allowed(fmt, number, i)) for i in range(count)
    ]


#: How many least-certain cells may be swapped for their second choice when the check digits disagree.
REPAIR_CELLS = 8


def _repair(candidates: list[list[list[tuple[float, str]]]]) -> Mrz:
    """Parse the best reading; if a check digit disagrees, try second choices at the least certain cells."""
    best = [[cell[0][1] for cell in line] for line in candidates]
    doubtful = sorted(
        ((cell[0][0] - cell[1][0], n, i) for n, line in enumerate(candidates) for i, cell in enumerate(line)
         if len(cell) > 1),
    )[:REPAIR_CELLS]
    first_error: MrzError | None = None
    for mask in range(1 << len(doubtful)):
        trial = [list(line) for line in best]
        for bit, (_, n, i) in enumerate(doubtful):
            if mask >> bit & 1:
                trial[n][i] = candidates[n][i][1][1]
        try:
            return parse_mrz("\n".join("".join(line) for line in trial))
        except MrzError as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise MrzError(f"the MRZ photo does not read with valid check digits ({first_error}); type the MRZ instead")


def read_mrz_image(image: np.ndarray) -> Mrz:
    """The MRZ of a photographed TD1 card or TD3 passport page; raises :class:`MrzError` when it cannot be read."""
    gray = to_gray(image)
    if min(gray.shape) < 60:
        raise MrzError("the camera picture is too small to hold an MRZ")
    try:
        return _read(gray)
    except (cv2.error, ValueError, ZeroDivisionError) as exc:
        if isinstance(exc, MrzError):
            raise
        raise MrzError(f"the photo could not be read ({type(exc).__name__}); hold the card still and retry") from exc


def _read(gray: np.ndarray) -> Mrz:
    crop = straighten(gray, find_mrz_band(gray))
    mask = ink_mask(crop)
    darkness = _darkness(crop, mask)
    rows = split_lines(mask)
    if len(rows) >= 3:
        fmt, count, rows = "TD1", 30, rows[-3:]
    elif len(rows) == 2:
        fmt, count = "TD3", 44
    else:
        raise MrzError(f"found {len(rows)} MRZ lines in the photo; hold the card level and fully in view")
    return _repair([read_line(mask[r], darkness[r], count, fmt, n) for n, r in enumerate(rows)])


def read_mrz_camera(source: int | str, frames: int = 30) -> Mrz:
    """Grab up to ``frames`` frames from an OpenCV camera (index or URL) until one gives a valid MRZ."""
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise CardError(f"camera {source!r} cannot be opened; check its cable or type the MRZ instead")
    last: MrzError | None = None
    try:
        for _ in range(frames):
            ok, frame = capture.read()
            if not ok:
                break
            try:
                return read_mrz_image(frame)
            except MrzError as exc:
                last = exc
    finally:
        capture.release()
    raise last or MrzError("the camera gave no picture; type the MRZ instead")


def read_first(images: Iterable[np.ndarray]) -> Mrz:
    """The first of several photos whose MRZ reads with valid check digits."""
    last: MrzError | None = None
    for image in images:
        try:
            return read_mrz_image(image)
        except MrzError as exc:
            last = exc
    raise last or MrzError("no photo given")
