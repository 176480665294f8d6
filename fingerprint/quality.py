"""Image quality: a 0 to 100 score and an actionable verdict for the operator.

In the spirit of NFIQ 2 (ISO/IEC 29794-4): the score combines the foreground area, the orientation certainty
(coherence of the gradient tensor), the ridge-valley clarity (share of the windows' energy in the ridge band) and the
frequency consistency (steadiness of the ridge spacing), each averaged over the foreground. It is not NFIQ 2 (whose
random-forest model is trained on NIST data), but it uses the same kind of features and is checked against genuine
comparison scores in the evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
import numpy.typing as npt

from fingerprint import parameters as p
from fingerprint.frequency import FrequencyField
from fingerprint.orientation import OrientationField
from fingerprint.segmentation import Segmentation

_MM_PER_PX = 25.4 / p.WORKING_DPI


class Verdict(Enum):
    """What the operator should do; ``value`` is the message shown to them."""

    GOOD = "good image"
    NO_FINGER = "no finger detected: place a finger flat on the scanner"
    CENTRE_FINGER = "place the finger in the centre of the scanner, flat, covering the glass"
    PRESS_HARDER = "ridges are faint: press a little harder (or moisten a very dry finger slightly)"
    CLEAN_OR_DRY = "print is smudged: clean and dry the finger and the scanner glass, then try again"
    USE_ANOTHER_FINGER = "this finger gives a poor image: try another finger"


@dataclass(frozen=True)
class Quality:
    """Quality score 0..100, the verdict, and the features behind them (each 0..1 except area in mm²)."""

    score: int
    verdict: Verdict
    area_mm2: float
    orientation_certainty: float
    clarity: float
    frequency_consistency: float

    @property
    def acceptable(self) -> bool:
        return self.verdict is Verdict.GOOD


def assess(
    grey: npt.NDArray[np.float32],
    segmentation: Segmentation,
    orientation: OrientationField,
    frequency: FrequencyField,
) -> Quality:
    """Score and verdict of one image (at the working resolution) from the stages' outputs."""
    mask = segmentation.mask
    area_mm2 = float(mask.sum()) * _MM_PER_PX**2
    if area_mm2 < p.QUALITY_NO_FINGER_AREA_MM2:
        return Quality(0, Verdict.NO_FINGER, area_mm2, 0.0, 0.0, 0.0)
    blocks = segmentation.block_mask
    certainty = float(orientation.block_coherence[blocks].mean()) if blocks.any() else 0.0
    clarity = float(segmentation.band_ratio[blocks].mean()) if blocks.any() else 0.0
    consistency = float(frequency.consistency[blocks].mean()) if blocks.any() else 0.0
    area_term = min(1.0, area_mm2 / p.QUALITY_FULL_AREA_MM2)
    # Each feature mapped to 0..1 over the range seen between a smudge and a crisp live scan, then a geometric mean:
    # any one bad feature pulls the score down (sharp ridges of inconsistent spacing are scars or noise). The mix
    # was chosen by the rank correlation of the pair's lower score with its genuine comparison score (evaluation).
    certainty_term = float(np.clip((certainty - 0.2) / 0.6, 0.0, 1.0))
    clarity_term = float(np.clip((clarity - 0.4) / 0.6, 0.0, 1.0))
    consistency_term = float(np.clip(consistency, 0.0, 1.0))
    blend = float((certainty_term * clarity_term * consistency_term) ** (1.0 / 3.0))
    score = int(round(100.0 * area_term * blend))
    verdict = Verdict.GOOD
    if score < p.QUALITY_ACCEPT_SCORE or area_mm2 < p.QUALITY_PARTIAL_AREA_MM2:
        verdict = _advice(grey, mask, area_mm2)
    return Quality(score, verdict, area_mm2, certainty, clarity, consistency)


def _advice(grey: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_], area_mm2: float) -> Verdict:
    """The most likely cause of a poor image, in the order an operator can fix it."""
    height, width = mask.shape
    ys, xs = np.nonzero(mask)
    off_centre = max(abs(ys.mean() - height / 2) / (height / 2), abs(xs.mean() - width / 2) / (width / 2))
    if area_mm2 < p.QUALITY_PARTIAL_AREA_MM2 or off_centre > p.QUALITY_OFF_CENTRE_FRACTION:
        return Verdict.CENTRE_FINGER
    level = float(grey[mask].mean())
    if level > p.QUALITY_FAINT_GREY:
        return Verdict.PRESS_HARDER
    if level < p.QUALITY_DARK_GREY:
        return Verdict.CLEAN_OR_DRY
    return Verdict.USE_ANOTHER_FINGER
