"""A face picture placeholder: a small deterministic drawing standing in for the ID card photo (DG2).

It is not a face recogniser's input; it exists so that screens, card files and receipts have a picture of the
right size (ICAO 9303 portraits are about 3:4) that differs from voter to voter.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

#: Picture size (px): width x height, 3:4 like an ID card portrait.
FACE_WIDTH_PX = 96
FACE_HEIGHT_PX = 128


def face_placeholder(seed: int, sex: str, age: int) -> npt.NDArray[np.uint8]:
    """A (128, 96, 3) BGR uint8 portrait drawing: head, hair (greyer with age), eyes, shoulders on a plain ground."""
    rng = np.random.default_rng([int(seed), 0xFACE])
    image = np.empty((FACE_HEIGHT_PX, FACE_WIDTH_PX, 3), np.uint8)
    image[:] = (235, 230, 225)
    skin = tuple(int(v) for v in rng.integers([120, 150, 185], [165, 195, 235]))
    grey = min(1.0, max(0.0, (age - 40) / 35.0))
    dark = np.array([30, 35, 45]) * (1 - grey) + np.array([200, 200, 200]) * grey
    hair = tuple(int(v) for v in dark + rng.integers(0, 20, 3))
    clothes = tuple(int(v) for v in rng.integers(40, 200, 3))
    cx = FACE_WIDTH_PX // 2 + int(rng.integers(-3, 4))
    cv2.ellipse(image, (cx, 128), (44, 26), 0, 180, 360, clothes, -1)
    head_w, head_h = int(rng.integers(22, 27)), int(rng.integers(29, 34))
    if sex == "F":
        cv2.ellipse(image, (cx, 56), (head_w + 8, head_h + 14), 0, 0, 360, hair, -1)
    cv2.ellipse(image, (cx, 58), (head_w, head_h), 0, 0, 360, skin, -1)
    cv2.ellipse(image, (cx, 46), (head_w + 1, head_h - 12), 0, 180, 360, hair, -1)
    for side in (-1, 1):
        cv2.circle(image, (cx + side * head_w // 2, 58), 2, (40, 30, 30), -1)
    cv2.line(image, (cx - 7, 76), (cx + 7, 76), (90, 80, 150), 2)
    return image


def face_png(seed: int, sex: str, age: int) -> bytes:
    """The placeholder portrait encoded as PNG bytes (for card files and screens)."""
    ok, encoded = cv2.imencode(".png", face_placeholder(seed, sex, age))
    if not ok:  # pragma: no cover - OpenCV's PNG encoder does not fail on a valid uint8 image
        raise RuntimeError("OpenCV could not encode the face placeholder as PNG")
    return encoded.tobytes()


def face_jpeg(seed: int, sex: str, age: int) -> bytes:
    """The placeholder portrait encoded as JPEG bytes (the usual DG2 image format on ID cards)."""
    ok, encoded = cv2.imencode(".jpg", face_placeholder(seed, sex, age), [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:  # pragma: no cover - as above
        raise RuntimeError("OpenCV could not encode the face placeholder as JPEG")
    return encoded.tobytes()
