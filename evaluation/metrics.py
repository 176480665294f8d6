"""Error rates from genuine and impostor score lists (higher score = more similar).

Definitions follow the FVC protocol (Maio et al., "FVC2000: Fingerprint Verification Competition", IEEE TPAMI 24(3),
2002, §4): FMR(t) is the share of impostor scores >= t, FNMR(t) the share of genuine scores < t; the EER is where
the two curves cross (the mean of the two rates at the threshold where they are closest, as FVC reports it when
they do not meet exactly); FMR100 / FMR1000 are the lowest FNMR with FMR <= 1% / 0.1%; ZeroFMR the lowest FNMR with
no false match at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from evaluation.errors import EvaluationError

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ErrorCurve:
    """FMR and FNMR at every distinct threshold (ascending thresholds)."""

    thresholds: FloatArray
    fmr: FloatArray
    fnmr: FloatArray


def error_curve(genuine: FloatArray, impostor: FloatArray) -> ErrorCurve:
    """FMR/FNMR at every threshold where either changes (accept when score >= threshold)."""
    g = np.sort(np.asarray(genuine, dtype=np.float64))
    i = np.sort(np.asarray(impostor, dtype=np.float64))
    if len(g) == 0 or len(i) == 0:
        raise EvaluationError("error rates need at least one genuine and one impostor score")
    thresholds = np.unique(np.concatenate([g, i, [np.inf]]))
    fnmr = np.searchsorted(g, thresholds, side="left") / len(g)
    fmr = 1.0 - np.searchsorted(i, thresholds, side="left") / len(i)
    return ErrorCurve(thresholds, fmr, fnmr)


def eer(genuine: FloatArray, impostor: FloatArray) -> float:
    """Equal error rate (fraction 0..1)."""
    curve = error_curve(genuine, impostor)
    # FVC2000 §4: t1 is the last threshold with FNMR <= FMR, t2 the first with FNMR >= FMR; the EER is the mean of
    # the two rates at whichever of t1, t2 has the smaller sum.
    below = np.nonzero(curve.fnmr <= curve.fmr)[0]
    above = np.nonzero(curve.fnmr >= curve.fmr)[0]
    t1 = int(below[-1]) if len(below) else 0
    t2 = int(above[0]) if len(above) else len(curve.fmr) - 1
    sum1 = curve.fnmr[t1] + curve.fmr[t1]
    sum2 = curve.fnmr[t2] + curve.fmr[t2]
    return float(min(sum1, sum2) / 2.0)


def fnmr_at_fmr(genuine: FloatArray, impostor: FloatArray, max_fmr: float) -> float:
    """Lowest FNMR among thresholds whose FMR is at most ``max_fmr`` (fraction 0..1)."""
    curve = error_curve(genuine, impostor)
    ok = curve.fmr <= max_fmr + 1e-12
    return float(curve.fnmr[ok].min())


def summary(genuine: FloatArray, impostor: FloatArray) -> dict[str, float]:
    """EER, FMR100, FMR1000 and ZeroFMR as fractions."""
    return {
        "eer": eer(genuine, impostor),
        "fmr100": fnmr_at_fmr(genuine, impostor, 0.01),
        "fmr1000": fnmr_at_fmr(genuine, impostor, 0.001),
        "zero_fmr": fnmr_at_fmr(genuine, impostor, 0.0),
    }
