"""Error-rate definitions on hand-checked score sets."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.errors import EvaluationError
from evaluation.metrics import eer, error_curve, fnmr_at_fmr, summary


def test_perfect_separation_has_zero_error() -> None:
    result = summary(np.array([0.8, 0.9, 1.0]), np.array([0.0, 0.1, 0.2]))
    assert result == {"eer": 0.0, "fmr100": 0.0, "fmr1000": 0.0, "zero_fmr": 0.0}


def test_known_overlap() -> None:
    genuine = np.array([0.1, 0.6, 0.7, 0.8, 0.9])  # one genuine below every impostor
    impostor = np.array([0.2, 0.3, 0.4, 0.5, 0.65])  # one impostor above one genuine
    # At threshold 0.6: FNMR 1/5 and FMR 1/5.
    assert eer(genuine, impostor) == pytest.approx(0.2)
    assert fnmr_at_fmr(genuine, impostor, 0.0) == pytest.approx(
        0.4
    )  # threshold above 0.65 rejects 0.1 and 0.6


def test_curve_is_monotonic() -> None:
    rng = np.random.default_rng(0)
    curve = error_curve(rng.normal(1, 1, 500), rng.normal(0, 1, 5000))
    assert np.all(np.diff(curve.fmr) <= 0) and np.all(np.diff(curve.fnmr) >= 0)
    assert curve.fmr[-1] == 0.0 and curve.fnmr[0] == 0.0


def test_empty_sets_raise() -> None:
    with pytest.raises(EvaluationError):
        eer(np.array([]), np.array([0.1]))
