"""The reference matcher (MCC + LSS-R): range, symmetry, determinism, genuine above impostor."""

from __future__ import annotations

import numpy as np

from fingerprint.matcher import compare, compare_cylinders, cylinders, local_similarities
from fingerprint.model import Minutia, Template
from tests.fingerprint.conftest import random_template, transformed


def test_identical_templates_score_near_one(template: Template) -> None:
    assert compare(template, template) > 0.95


def test_same_finger_moved_beats_other_fingers(template: Template) -> None:
    moved = transformed(template, dx=25, dy=-15, rotation_rad=0.3, jitter_px=2.0, seed=5)
    genuine = compare(template, moved)
    impostors = [compare(template, random_template(seed)) for seed in range(10, 20)]
    assert genuine > 0.3
    assert max(impostors) < 0.15
    assert genuine > 3 * max(impostors)


def test_score_is_deterministic_and_in_range(template: Template) -> None:
    other = random_template(7)
    first = compare(template, other)
    assert first == compare(template, other)
    assert 0.0 <= first <= 1.0


def test_order_of_minutiae_does_not_matter(template: Template) -> None:
    shuffled = Template(template.width, template.height, tuple(reversed(template.minutiae)))
    moved = transformed(template, 10, 10, 0.1, 1.0, seed=3)
    assert abs(compare(shuffled, moved) - compare(template, moved)) < 1e-9


def test_empty_and_tiny_templates_score_zero() -> None:
    empty = Template(300, 300)
    one = Template(300, 300, (Minutia(100, 100, 0.0),))
    assert compare(empty, empty) == 0.0
    assert compare(one, one) == 0.0  # one minutia has no neighbours: no valid cylinder


def test_cylinder_shapes(template: Template) -> None:
    cyl = cylinders(template)
    assert cyl.values.shape == (len(cyl), 16 * 16 * 6)
    assert cyl.valid.shape == (len(cyl), 256)
    assert np.all((cyl.values >= 0) & (cyl.values <= 1))
    gamma = local_similarities(cyl, cyl)
    assert np.allclose(np.diag(gamma), 1.0)
    assert compare_cylinders(cyl, cyl) > 0.95
