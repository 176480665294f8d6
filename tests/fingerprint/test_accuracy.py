"""A small accuracy check on real images: genuine comparisons beat impostors by a clear margin."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from evaluation.images import read_grey
from fingerprint import compare_cylinders, cylinders
from fingerprint.extract import extract


@pytest.mark.data
def test_genuine_scores_beat_impostors_on_fvc2002_db1(fingerprint_data: Path) -> None:
    folder = fingerprint_data / "FVC2002" / "DB1_B"
    fingers, impressions = (101, 103, 105, 107, 109), (1, 2, 3, 4)
    search = {}
    for finger, impression in itertools.product(fingers, impressions):
        result = extract(read_grey(folder / f"{finger}_{impression}.tif"), 500)
        assert len(result.template) >= 5, (finger, impression)
        search[finger, impression] = cylinders(result.template)
    genuine: list[float] = []
    impostor: list[float] = []
    for a, b in itertools.combinations(search, 2):
        score = compare_cylinders(search[a], search[b])
        (genuine if a[0] == b[0] else impostor).append(score)
    genuine_median = float(np.median(genuine))
    # Most genuine pairs clear the highest impostor; the median genuine score is several times the typical impostor.
    assert np.mean(np.array(genuine) > max(impostor)) > 0.8
    assert genuine_median > 3 * float(np.percentile(impostor, 95))
