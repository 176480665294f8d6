"""Synthetic impressions against real ones, measured the same way: ridge period on the pixels and the engine's
quality score. Needs the shared databases (skips with a message without them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluation.images import read_grey
from simulation.fingerprints import generate_impression, generate_master
from tests.simulation.fingerprint_measures import ridge_period


def _centre_period(image: np.ndarray) -> float:
    rows, cols = image.shape
    return float(
        np.median(
            [ridge_period(image, cols // 2 + dx, rows // 2 + dy) for dx in (-40, 40) for dy in (-40, 40)]
        )
    )


@pytest.mark.data
@pytest.mark.slow
def test_synthetic_period_and_quality_are_those_of_real_prints(fingerprint_data: Path) -> None:
    from fingerprint.extract import extract

    real = [read_grey(path) for path in sorted((fingerprint_data / "FVC2002" / "DB1_B").glob("*_1.tif"))[:8]]
    synthetic = [generate_impression(generate_master(seed), 0, "normal").image for seed in range(31, 39)]
    real_period = np.median([_centre_period(image) for image in real])
    synthetic_period = np.median([_centre_period(image) for image in synthetic])
    assert synthetic_period == pytest.approx(real_period, abs=1.2)
    real_quality = np.median([extract(image, 500).quality.score for image in real])
    synthetic_quality = np.median([extract(image, 500).quality.score for image in synthetic])
    assert abs(synthetic_quality - real_quality) <= 20
