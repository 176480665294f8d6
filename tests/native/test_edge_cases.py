"""Edge cases neither crash nor mis-rank: empty, one minutia, 255 minutiae, duplicated points."""

from __future__ import annotations

import numpy as np
import pytest

import native
from fingerprint import mcc_bits
from fingerprint.model import Minutia, Template


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
    assert native.verify(probe, other) == 0.0 == mcc_bits.compare(probe, other)
    assert native.verify(other, probe) == 0.0
    assert native.verify(probe, probe) == 0.0
    gallery = native.Gallery.build([("A", 1, probe), ("B", 2, other)])
    found = native.identify(probe, gallery, top_k=2)
    assert [c.score for c in found] == [0.0, 0.0]
    assert [c.row for c in found] == [0, 1]  # ties keep gallery order


def test_255_minutiae_are_capped_and_still_match_themselves() -> None:
    big = _random_template(2, 255, side=1000)
    form = mcc_bits.bit_cylinders(big)
    assert 0 < len(form) <= mcc_bits.MAX_CYLINDERS
    score = native.verify(big, big)
    assert abs(score - mcc_bits.compare(big, big)) <= 1e-9
    gallery = native.Gallery.build(
        [(f"V{i}", 1, _random_template(10 + i, 60, side=1000)) for i in range(20)] + [("SELF", 3, big)]
    )
    assert gallery.nbytes / len(gallery) <= 2048
    best = native.identify(big, gallery, top_k=3)[0]
    assert (best.voter, best.finger) == ("SELF", 3) and best.score > 0.9


def test_duplicated_points_do_not_crash_or_outrank_the_true_finger() -> None:
    base = _random_template(3, 40)
    doubled = Template(500, 500, base.minutiae + base.minutiae)  # every minutia twice
    stacked = Template(500, 500, tuple(Minutia(200, 200, 0.5) for _ in range(30)))  # all on one point
    for probe in (doubled, stacked):
        assert abs(native.verify(probe, base) - mcc_bits.compare(probe, base)) <= 1e-9
        assert abs(native.verify(probe, probe) - mcc_bits.compare(probe, probe)) <= 1e-9
    gallery = native.Gallery.build(
        [("STACK", 1, stacked), ("DOUBLE", 1, doubled)] + [(f"V{i}", 1, _random_template(20 + i, 40)) for i in range(10)]
        + [("TRUE", 2, base)]
    )
    ranked = native.identify(base, gallery, top_k=3, prefilter=False)
    assert ranked[0].voter in ("TRUE", "DOUBLE")
    assert ranked[0].score == pytest.approx(native.verify(base, base), abs=1e-9) and ranked[0].score > 0.99
    assert "STACK" not in [c.voter for c in ranked[:2]]


def test_identify_rejects_bad_arguments() -> None:
    gallery = native.Gallery.build([("A", 1, ONE)])
    with pytest.raises(ValueError, match="top_k"):
        native.identify(ONE, gallery, top_k=0)
    with pytest.raises(TypeError, match="Template"):
        native.verify("not a template", ONE)  # type: ignore[arg-type]
    empty = native.Gallery.build([])
    assert native.identify(ONE, empty) == []
