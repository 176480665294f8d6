"""The whole extractor: recipe outputs, debug sink, blank and noise images, quality ordering."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from fingerprint.debug import DebugSink
from fingerprint.extract import extract
from fingerprint.quality import Verdict
from fingerprint.resample import native_grid_scale
from fingerprint.template_format import dumps, loads
from tests.fingerprint.synthetic import disc, ridges

STAGES = (
    "resample",
    "segmentation",
    "orientation",
    "frequency",
    "enhancement",
    "mask",
    "binarisation",
    "thinning",
    "minutiae",
    "false_minutiae",
    "quality",
)


def test_blank_image_gets_a_verdict_not_an_exception() -> None:
    for value in (0, 128, 255):
        result = extract(np.full((300, 300), value, np.uint8), 500)
        assert len(result.template) == 0
        assert result.quality.verdict is Verdict.NO_FINGER
        assert result.quality.score == 0


def test_noise_image_gets_a_verdict_not_an_exception() -> None:
    noise = np.random.default_rng(3).integers(0, 256, (300, 300)).astype(np.uint8)
    result = extract(noise, 500)
    assert not result.quality.acceptable
    assert len(result.template) < 5


def test_debug_sink_collects_every_stage_and_changes_nothing() -> None:
    image = disc(ridges((300, 300), noise=20), 120)
    sink = DebugSink()
    with_sink = extract(image, 500, sink)
    assert tuple(sink.stages) == STAGES
    assert extract(image, 500).template == with_sink.template
    assert sink["thinning"].dtype == bool


def test_other_resolutions_land_in_the_500_dpi_frame() -> None:
    image = disc(ridges((300, 300), period_px=9.0), 120)
    big = np.kron(image, np.ones((2, 2), np.uint8))  # the same finger at 1000 dpi
    assert extract(big, 1000).template.width == extract(image, 500).template.width


def test_near_500_dpi_is_extracted_on_its_own_grid_and_scaled(fingerprint_data: Path) -> None:
    assert native_grid_scale(500) is None and native_grid_scale(1000) is None and native_grid_scale(400) is None
    assert native_grid_scale(569) == 500 / 569
    image = np.asarray(Image.open(fingerprint_data / "FVC2002" / "DB2_B" / "101_1.tif").convert("L"))  # 569 dpi
    grid = DebugSink()
    template = extract(image, 569, grid).template
    assert grid["resample"].shape == image.shape  # extracted on the sensor's grid, not resampled
    h, w = image.shape
    assert (template.width, template.height) == (round(w * 500 / 569), round(h * 500 / 569))
    # The same minutiae as after resampling first, in the same 500-dpi frame: most lie within a ridge period.
    resampled = extract(cv2.resize(image, (template.width, template.height), interpolation=cv2.INTER_AREA), 500)
    ours = np.array([(m.x, m.y) for m in template.minutiae], float)
    theirs = np.array([(m.x, m.y) for m in resampled.template.minutiae], float)
    assert len(ours) >= 20 and len(theirs) >= 20
    nearest = np.min(np.linalg.norm(ours[:, None, :] - theirs[None, :, :], axis=2), axis=1)
    assert np.mean(nearest <= 9.0) >= 0.6
    assert (ours[:, 0] < template.width).all() and (ours[:, 1] < template.height).all()


def test_quality_falls_with_noise_and_small_area() -> None:
    good = extract(disc(ridges((320, 320), noise=10), 150), 500).quality
    noisy = extract(disc(ridges((320, 320), noise=150, seed=2), 150), 500).quality
    small = extract(disc(ridges((320, 320), noise=10), 45), 500).quality
    assert good.acceptable
    assert good.score > noisy.score
    assert good.score > small.score
    assert small.verdict in (Verdict.CENTRE_FINGER, Verdict.NO_FINGER)


def test_extracted_templates_round_trip() -> None:
    template = extract(disc(ridges((300, 300), noise=30), 120), 500).template
    assert loads(dumps(template)) == template
