"""Synthetic fingerprints: determinism, pattern-class singularities and ridge period measured on the pixels,
impressions of one finger that differ yet overlap, clear errors for bad arguments."""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np
import pytest

from simulation.fingerprints import (
    Impression,
    MasterFingerprint,
    PatternClass,
    SkinCondition,
    SyntheticFingerprintError,
    generate_impression,
    generate_master,
)
from simulation.fingerprints.orientation import choose_class
from tests.simulation.fingerprint_measures import poincare_index, ridge_orientation, ridge_period

_MASTERS: dict[tuple[int, str], MasterFingerprint] = {}


def master(seed: int, pattern: str) -> MasterFingerprint:
    """Masters are cached per test session: each costs a few tenths of a second."""
    key = (seed, pattern)
    if key not in _MASTERS:
        _MASTERS[key] = generate_master(seed, pattern)
    return _MASTERS[key]


def test_same_seed_same_finger_and_impressions() -> None:
    a, b = generate_master(11), generate_master(11)
    assert a.pattern == b.pattern and a.singularities == b.singularities
    assert np.array_equal(a.ridges, b.ridges)
    assert np.array_equal(generate_impression(a, 3).image, generate_impression(b, 3).image)
    assert not np.array_equal(generate_master(12).ridges, a.ridges)


def test_master_arrays_are_read_only() -> None:
    m = master(1, "whorl")
    with pytest.raises(ValueError):
        m.ridges[0, 0] = 1.0


@pytest.mark.parametrize(
    ("pattern", "cores", "deltas"),
    [("tented_arch", 1, 1), ("left_loop", 1, 1), ("right_loop", 1, 1), ("whorl", 2, 2)],
)
@pytest.mark.parametrize("seed", [1, 2])
def test_ridges_turn_around_the_singular_points(pattern: str, cores: int, deltas: int, seed: int) -> None:
    m = master(seed, pattern)
    kinds = [s.kind for s in m.singularities]
    assert kinds.count("core") == cores and kinds.count("delta") == deltas
    measured = ridge_orientation(m.image())
    # Deltas of whorls may fall at the very edge of the finger (as on real fingers): check the points with ridges
    # all around them.
    inside = [
        s for s in m.singularities if m.silhouette.normalised_radius(np.array(s.x), np.array(s.y)) < 0.75
    ]
    assert sum(s.kind == "core" for s in inside) == cores
    for s in inside:
        expected = 0.5 if s.kind == "core" else -0.5
        assert poincare_index(measured, s.x, s.y) == pytest.approx(expected, abs=0.1), s
    # Away from every singular point the measured field has index 0.
    x, y = m.silhouette.cx - 0.6 * m.silhouette.half_width, m.silhouette.cy - 0.5 * m.silhouette.upper
    if all(math.hypot(s.x - x, s.y - y) > 60 for s in m.singularities):
        assert poincare_index(measured, x, y) == pytest.approx(0.0, abs=0.1)


def test_left_and_right_loops_have_their_delta_on_opposite_sides() -> None:
    for seed in (1, 2, 3):
        left, right = generate_master(seed, "left_loop"), generate_master(seed, "right_loop")
        (lc, ld), (rc, rd) = left.singularities, right.singularities
        assert ld.x > lc.x and ld.y > lc.y
        assert rd.x < rc.x and rd.y > rc.y


@pytest.mark.parametrize("seed", [1, 2])
def test_arch_has_no_singular_point(seed: int) -> None:
    m = master(seed, "arch")
    assert m.singularities == ()
    measured = ridge_orientation(m.image())
    s = m.silhouette
    for fx in (-0.4, 0.0, 0.4):
        for fy in (-0.4, 0.0, 0.4):
            x = s.cx + fx * s.half_width
            y = s.cy + fy * (s.upper if fy < 0 else s.lower)
            assert poincare_index(measured, x, y, radius=30) == pytest.approx(0.0, abs=0.1), (x, y)


@pytest.mark.parametrize(("seed", "pattern"), [(1, "whorl"), (2, "left_loop"), (1, "arch")])
def test_ridge_period_is_about_nine_pixels(seed: int, pattern: str) -> None:
    m = master(seed, pattern)
    s = m.silhouette
    image = m.image()
    periods = [
        ridge_period(image, int(s.cx + dx), int(s.cy + dy)) for dx in (-70, 0, 70) for dy in (-90, 0, 90)
    ]
    median = float(np.median(periods))
    assert 7.8 <= median <= 10.8
    assert median == pytest.approx(m.mean_period_px, abs=1.0)


def test_impression_period_and_format() -> None:
    m = master(2, "left_loop")
    imp = generate_impression(m, 0, SkinCondition.NORMAL, pressure=0.6)
    assert imp.image.dtype == np.uint8 and imp.image.shape == (480, 400) and imp.dpi == 500
    cx, cy = imp.to_image(m.silhouette.cx, m.silhouette.cy)
    assert ridge_period(imp.image, int(cx), int(cy)) == pytest.approx(m.mean_period_px, abs=1.3)
    # Ridges are dark on a light background with a real dynamic range.
    assert np.percentile(imp.image, 95) - np.percentile(imp.image, 5) > 80


def _in_master_frame(imp: Impression, master_shape: tuple[int, int]) -> np.ndarray:
    """The impression warped back onto the master canvas with its rigid placement undone."""
    rows, cols = imp.image.shape
    c, s = math.cos(imp.rotation_rad), math.sin(imp.rotation_rad)
    wx, wy = imp.window_centre
    forward = np.array([[c, s, cols / 2 - c * wx - s * wy], [-s, c, rows / 2 + s * wx - c * wy]])
    return cv2.warpAffine(
        imp.image.astype(np.float32),
        forward,
        (master_shape[1], master_shape[0]),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderValue=float(np.median(imp.image)),
    )


def _correlation(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    x, y = a[where] - a[where].mean(), b[where] - b[where].mean()
    return float((x * y).sum() / math.sqrt((x * x).sum() * (y * y).sum()))


def test_impressions_of_one_finger_differ_but_overlap() -> None:
    m = master(3, "right_loop")
    other = master(4, "right_loop")
    first, second = generate_impression(m, 0, "normal"), generate_impression(m, 1, "normal")
    assert not np.array_equal(first.image, second.image)
    assert first.rotation_rad != second.rotation_rad
    overlap = first.contact & second.contact
    assert overlap.sum() > 0.4 * min(first.contact.sum(), second.contact.sum())
    # Back on the master canvas, the common core of the two contacts shows the same ridges (plastic distortion
    # moves only the borders); another finger placed the same way does not.
    core = cv2.erode(overlap.astype(np.uint8), np.ones((41, 41), np.uint8)).astype(bool)
    a, b = _in_master_frame(first, m.shape), _in_master_frame(second, m.shape)
    stranger = generate_impression(other, 0, "normal")
    genuine = _correlation(a, b, core)
    impostor = _correlation(a, _in_master_frame(stranger, m.shape), core)
    assert genuine > 0.35
    assert abs(impostor) < 0.15


@pytest.mark.parametrize("condition", list(SkinCondition))
def test_skin_conditions_change_the_ridges(condition: SkinCondition) -> None:
    m = master(5, "whorl")
    imp = generate_impression(m, 0, condition, pressure=0.5)
    normal = generate_impression(m, 0, SkinCondition.NORMAL, pressure=0.5)
    assert imp.condition is condition
    # Same placement and sensor for both (only the skin stage changes), so the same window shows the same ridges.
    assert imp.rotation_rad == normal.rotation_rad
    cx, cy = (int(v) for v in imp.to_image(m.silhouette.cx, m.silhouette.cy))
    patch = imp.image[cy - 60 : cy + 60, cx - 60 : cx + 60].astype(float)
    reference = normal.image[cy - 60 : cy + 60, cx - 60 : cx + 60].astype(float)

    def dark_share(a: np.ndarray) -> float:
        low, high = np.percentile(reference, [2, 98])
        return float((a < (low + high) / 2).mean())

    def contrast(a: np.ndarray) -> float:
        low, high = np.percentile(a, [5, 95])
        return float(high - low)

    if condition is SkinCondition.NORMAL:
        assert np.array_equal(patch, reference)
    elif condition is SkinCondition.WET:
        assert dark_share(patch) > dark_share(reference) + 0.1
    elif condition is SkinCondition.DRY:
        assert dark_share(patch) < dark_share(reference) - 0.1
    else:
        assert contrast(patch) < 0.8 * contrast(reference)


def test_heavier_pressure_touches_more_skin() -> None:
    m = master(6, "left_loop")
    light = generate_impression(m, 0, "normal", pressure=0.05)
    heavy = generate_impression(m, 0, "normal", pressure=0.95)
    assert heavy.contact.sum() > 1.3 * light.contact.sum()


def test_class_shares_follow_nist_frequencies() -> None:
    rng = np.random.default_rng(0)
    draws = [choose_class(rng) for _ in range(20_000)]
    share = {c: draws.count(c) / len(draws) for c in PatternClass}
    assert share[PatternClass.LEFT_LOOP] == pytest.approx(0.338, abs=0.015)
    assert share[PatternClass.WHORL] == pytest.approx(0.279, abs=0.015)
    assert share[PatternClass.ARCH] == pytest.approx(0.037, abs=0.006)


@pytest.mark.parametrize(
    "call",
    [
        lambda: generate_master(-1),
        lambda: generate_master(1, "double_loop"),
        lambda: generate_master(1, shape=(100, 100)),
        lambda: generate_impression(master(1, "whorl"), -2),
        lambda: generate_impression(master(1, "whorl"), 0, "sweaty"),
        lambda: generate_impression(master(1, "whorl"), 0, pressure=1.5),
    ],
)
def test_bad_arguments_raise_one_clear_error(call: Callable[[], object]) -> None:
    with pytest.raises(SyntheticFingerprintError, match="use|must"):
        call()


@pytest.mark.slow
def test_the_project_engine_tells_synthetic_fingers_apart() -> None:
    """Realism smoke test with the project's own engine: synthetic impressions extract with usable quality, and
    impressions of one finger score far above impressions of others (the bench gives the full table)."""
    from fingerprint import compare
    from fingerprint.extract import extract

    templates = {}
    qualities = []
    for seed in (21, 22, 23):
        m = generate_master(seed)
        for index in range(2):
            extraction = extract(generate_impression(m, index, "normal", pressure=0.6).image, 500)
            templates[(seed, index)] = extraction.template
            qualities.append(extraction.quality.score)
    genuine = [compare(templates[(s, 0)], templates[(s, 1)]) for s in (21, 22, 23)]
    impostor = [
        compare(templates[(a, i)], templates[(b, j)])
        for a, b in ((21, 22), (21, 23), (22, 23))
        for i in (0, 1)
        for j in (0, 1)
    ]
    assert min(qualities) >= 40
    assert all(len(t) >= 12 for t in templates.values())
    assert np.mean(genuine) > 3 * np.mean(impostor)
    assert min(genuine) > max(impostor)
