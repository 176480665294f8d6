"""Edge cases neither crash nor mis-rank: empty, one minutia, 255 minutiae, duplicated points."""

from __future__ import annotations

import numpy as np
import pytest

import native
from fingerprint import matcher, mcc_bits
from fingerprint.model import Minutia, Template
from native.forms import stored_cylinder_cap

FLOAT_TOLERANCE = 1e-7  # tests/native/test_differential.py says why


def _random_template(seed: int, n: int, side: int = 500) -> Template:
    rng = np.random.default_rng(seed)
    return Template(side, side, tuple(
        Minutia(int(x), int(y), float(a), quality=int(q)) for x, y, a, q in zip(
            rng.integers(0, side, n), rng.integers(0, side, n), rng.uniform(0, 6.283, n), rng.integers(0, 101, n),
            strict=True,
        )
    ))


EMPTY = Template(100, 100)
ONE = Template(100, 100, (Minutia(50, 50, 1.0),))


@pytest.mark.parametrize("probe", [EMPTY, ONE])
def test_templates_without_cylinders_score_zero_and_search_cleanly(probe: Template) -> None:
    other = _random_template(1, 40)
    assert native.verify(probe, other) == 0.0 == matcher.compare(probe, other)
    assert native.verify(other, probe) == 0.0
    assert native.verify(probe, probe) == 0.0
    assert native.verify_bits(probe, other) == 0.0 == mcc_bits.compare(probe, other)
    gallery = native.Gallery.build([("A", 1, probe), ("B", 2, other)])
    found = native.identify(probe, gallery, top_k=2)
    assert [c.score for c in found] == [0.0, 0.0]
    assert [c.row for c in found] == [0, 1]  # ties keep gallery order


def test_255_minutiae_are_capped_and_still_match_themselves() -> None:
    big = _random_template(2, 255, side=1000)
    form = mcc_bits.bit_cylinders(big)
    assert 0 < len(form) <= mcc_bits.MAX_CYLINDERS
    assert abs(native.verify(big, big) - matcher.compare(big, big)) <= FLOAT_TOLERANCE
    assert abs(native.verify_bits(big, big) - mcc_bits.compare(big, big)) <= 1e-9
    rows = [(f"V{i}", 1, _random_template(10 + i, 60, side=1000)) for i in range(20)] + [("SELF", 3, big)]
    gallery = native.Gallery.build(rows)
    # Every row within the 2 KiB budget, the 255-minutia one too (it keeps fewer bit cylinders for its minutiae).
    assert int(gallery.template_bytes().max()) <= 2048
    assert int(gallery.offsets[-1] - gallery.offsets[-2]) <= stored_cylinder_cap(255) < mcc_bits.MAX_CYLINDERS
    assert sum(len(native.Gallery.template_minutiae(gallery, i)[0]) for i in range(len(gallery))) == sum(
        len(t) for _, _, t in rows
    )
    best = native.identify(big, gallery, top_k=3)[0]
    assert (best.voter, best.finger) == ("SELF", 3) and best.score > 0.9
    assert best.score == pytest.approx(native.verify(big, big), abs=FLOAT_TOLERANCE)


def test_more_than_255_minutiae_are_refused_with_a_clear_error() -> None:
    huge = _random_template(4, 256, side=1000)
    with pytest.raises(native.NativeError, match="at most 255"):
        native.verify(huge, ONE)
    with pytest.raises(native.NativeError, match="at most 255"):
        native.Gallery.build([("HUGE", 1, huge)])


def test_duplicated_points_do_not_crash_or_outrank_the_true_finger() -> None:
    base = _random_template(3, 40)
    doubled = Template(500, 500, base.minutiae + base.minutiae)  # every minutia twice
    stacked = Template(500, 500, tuple(Minutia(200, 200, 0.5) for _ in range(30)))  # all on one point
    for probe in (doubled, stacked):
        assert abs(native.verify(probe, base) - matcher.compare(probe, base)) <= FLOAT_TOLERANCE
        assert abs(native.verify(probe, probe) - matcher.compare(probe, probe)) <= FLOAT_TOLERANCE
        assert abs(native.verify_bits(probe, base) - mcc_bits.compare(probe, base)) <= 1e-9
    gallery = native.Gallery.build(
        [("STACK", 1, stacked), ("DOUBLE", 1, doubled)] + [(f"V{i}", 1, _random_template(20 + i, 40)) for i in range(10)]
        + [("TRUE", 2, base)]
    )
    ranked = native.identify(base, gallery, top_k=3, prefilter=False)
    assert ranked[0].voter in ("TRUE", "DOUBLE")
    assert ranked[0].score == pytest.approx(native.verify(base, base), abs=FLOAT_TOLERANCE) and ranked[0].score > 0.99
    assert "STACK" not in [c.voter for c in ranked[:2]]


def test_identify_rejects_bad_arguments() -> None:
    gallery = native.Gallery.build([("A", 1, ONE)])
    with pytest.raises(ValueError, match="top_k"):
        native.identify(ONE, gallery, top_k=0)
    with pytest.raises(TypeError, match="Template"):
        native.verify("not a template", ONE)  # type: ignore[arg-type]
    empty = native.Gallery.build([])
    assert native.identify(ONE, empty) == []
