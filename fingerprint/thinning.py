"""Stage 6: thinning the ridge map to a one-pixel-wide skeleton.

Zhang and Suen, "A fast parallel algorithm for thinning digital patterns", CACM 27(3), 1984: two sub-iterations
that peel boundary pixels whose removal keeps the ridge connected, evaluated for every pixel at once through a
256-entry lookup table of the 8-neighbourhood. Zhang-Suen leaves two-pixel 'staircases' on diagonal ridges, which
would read as false bifurcations; a final sequential pass removes such corner pixels when they are simple (their
removal keeps 8-connectivity, Yokoi's connectivity number equal to 1).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

#: Neighbour offsets (dy, dx) in clockwise order starting north: P2, P3, ..., P9 of Zhang and Suen.
NEIGHBOURS: tuple[tuple[int, int], ...] = (
    (-1, 0),
    (-1, 1),
    (0, 1),
    (1, 1),
    (1, 0),
    (1, -1),
    (0, -1),
    (-1, -1),
)


def _bits(code: int) -> list[int]:
    return [(code >> k) & 1 for k in range(8)]


def _transitions(bits: list[int]) -> int:
    """Number of 0 -> 1 transitions around the cyclic neighbourhood (A in Zhang-Suen)."""
    return sum(1 for k in range(8) if bits[k] == 0 and bits[(k + 1) % 8] == 1)


def _zs_tables() -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    first = np.zeros(256, dtype=bool)
    second = np.zeros(256, dtype=bool)
    for code in range(256):
        b = _bits(code)
        p2, p4, p6, p8 = b[0], b[2], b[4], b[6]
        count = sum(b)
        if 2 <= count <= 6 and _transitions(b) == 1:
            first[code] = p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0
            second[code] = p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0
    return first, second


def _yokoi8(b: list[int]) -> int:
    """Yokoi's 8-connectivity number; with our clockwise order the 4-neighbours are b[0], b[2], b[4], b[6]."""
    x = [1 - v for v in b]
    return sum(x[k] - x[k] * x[(k + 1) % 8] * x[(k + 2) % 8] for k in (0, 2, 4, 6))


def _staircase_table() -> npt.NDArray[np.bool_]:
    table = np.zeros(256, dtype=bool)
    for code in range(256):
        b = _bits(code)
        corner = (b[0] and b[2]) or (b[2] and b[4]) or (b[4] and b[6]) or (b[6] and b[0])
        table[code] = bool(corner) and sum(b) >= 2 and _yokoi8(b) == 1
    return table


_FIRST, _SECOND = _zs_tables()
_STAIRCASE = _staircase_table()
_CROSSING = np.array([sum(abs(b[k] - b[(k + 1) % 8]) for k in range(8)) // 2 for b in map(_bits, range(256))])
#: The same tables as 0/1 bytes for ``cv2.LUT``, which maps a whole uint8 image through a table about eight times
#: faster than numpy's fancy indexing (thinning applies a table about a dozen times per image).
_FIRST_U8 = _FIRST.astype(np.uint8)
_SECOND_U8 = _SECOND.astype(np.uint8)
_STAIRCASE_U8 = _STAIRCASE.astype(np.uint8)
_CROSSING_U8 = _CROSSING.astype(np.uint8)


_CODE_KERNEL = np.zeros((3, 3), dtype=np.float32)
for _k, (_dy, _dx) in enumerate(NEIGHBOURS):
    _CODE_KERNEL[1 + _dy, 1 + _dx] = float(1 << _k)


def _codes_u8(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Neighbourhood codes of a 0/1 uint8 image: a 3 x 3 correlation with powers of two (at most 255, so exact in
    uint8 output); outside the image counts as off."""
    return np.asarray(cv2.filter2D(image, -1, _CODE_KERNEL, borderType=cv2.BORDER_CONSTANT), dtype=np.uint8)


def neighbour_codes(image: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """The 8-bit code of every pixel's neighbourhood (bit k set when neighbour k of ``NEIGHBOURS`` is on)."""
    return _codes_u8(image.astype(np.uint8))


def crossing_numbers(skeleton: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint8]:
    """Rutovitz crossing number per pixel: 1 at ridge endings, 2 along ridges, 3 at bifurcations (0 off skeleton)."""
    return crossing_from_codes(skeleton, neighbour_codes(skeleton))


def crossing_from_codes(skeleton: npt.NDArray[np.bool_], codes: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """:func:`crossing_numbers` from the skeleton's neighbourhood codes (when the caller has them already)."""
    return np.asarray(cv2.LUT(codes, _CROSSING_U8), dtype=np.uint8) * skeleton.astype(np.uint8)


def thin(ridges: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """One-pixel-wide, 8-connected skeleton of a binary ridge map."""
    image = ridges.copy()
    # Only the bounding box of the ridges needs work (the rest stays empty).
    bx, by, bw, bh = cv2.boundingRect(image.view(np.uint8))
    if bw == 0 or bh == 0:
        return image
    y0, y1, x0, x1 = max(by - 1, 0), by + bh + 1, max(bx - 1, 0), bx + bw + 1
    # 0/1 bytes throughout: OpenCV's correlation, lookup and bitwise operations on them are single passes in C.
    work = np.ascontiguousarray(image[y0:y1, x0:x1], dtype=np.uint8)
    while True:
        changed = False
        for table in (_FIRST_U8, _SECOND_U8):
            delete = cv2.bitwise_and(work, cv2.LUT(_codes_u8(work), table))
            if cv2.countNonZero(delete):
                work = np.asarray(cv2.subtract(work, delete), dtype=np.uint8)
                changed = True
        if not changed:
            break
    # Staircases: pixels of one parity class (y mod 2, x mod 2) are never 8-neighbours, so removing a class at once
    # equals removing its pixels one by one; two corner pixels of one step are never both removed.
    for py in (0, 1):
        for px in (0, 1):
            view = work[py::2, px::2]
            corner = np.asarray(cv2.LUT(_codes_u8(work), _STAIRCASE_U8), dtype=np.uint8)[py::2, px::2]
            view &= np.uint8(1) - corner
    out = np.zeros_like(image)
    out[y0:y1, x0:x1] = work.astype(bool)
    return out
