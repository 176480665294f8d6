"""The compiled core reproduces its numpy oracles on generated templates.

- ``native.verify`` and the final scores of ``native.identify`` are the reference matcher's (``fingerprint.matcher``,
  float MCC with LSS-R) computed by ``native/_float_cy``. Tolerance :data:`FLOAT_TOLERANCE` = 1e-7: the same formulas
  in the same order, but a few sums are added in another order than numpy's einsum and BLAS, and libm's exp, sin and
  cos may differ from numpy's vectorised ones by a few ulp. That moves a score by about 1e-15, except where two
  cylinders are nearly identical: eq. 17's ||a - b|| is then the square root of ||a||² + ||b||² - 2<a, b>, a
  difference that cancels to about 1e-13, whose rounding (in either implementation) moves Γ by up to ~1e-8.
  Observed: 1e-14 on impostor-like and 4e-10 on genuine-like pairs, 1.2e-8 on a template against itself.
- The bit form (``native.verify_bits``, identify's ranking passes) equals ``fingerprint.mcc_bits`` within
  :data:`TOLERANCE` = 1e-9: the same integer popcounts, table lookups and pair order; only the relaxation's sums may
  be added in another order.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import native
from fingerprint import matcher, mcc_bits
from fingerprint.model import Template
from tests.native.strategies import distorted_pairs, minutiae_sets

TOLERANCE = 1e-9
FLOAT_TOLERANCE = 1e-7
_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(minutiae_sets(), minutiae_sets())
def test_verify_equals_reference_on_random_templates(a: Template, b: Template) -> None:
    assert abs(native.verify(a, b) - matcher.compare(a, b)) <= FLOAT_TOLERANCE


@_SETTINGS
@given(distorted_pairs())
def test_verify_equals_reference_on_genuine_like_pairs(pair: tuple[Template, Template]) -> None:
    a, b = pair
    assert abs(native.verify(a, b) - matcher.compare(a, b)) <= FLOAT_TOLERANCE
    assert abs(native.verify(b, a) - matcher.compare(b, a)) <= FLOAT_TOLERANCE
    assert abs(native.verify(a, a) - matcher.compare(a, a)) <= FLOAT_TOLERANCE


@_SETTINGS
@given(minutiae_sets(), minutiae_sets())
def test_verify_bits_equals_oracle_on_random_templates(a: Template, b: Template) -> None:
    assert abs(native.verify_bits(a, b) - mcc_bits.compare(a, b)) <= TOLERANCE


@_SETTINGS
@given(distorted_pairs())
def test_verify_bits_equals_oracle_on_genuine_like_pairs(pair: tuple[Template, Template]) -> None:
    a, b = pair
    assert abs(native.verify_bits(a, b) - mcc_bits.compare(a, b)) <= TOLERANCE
    assert abs(native.verify_bits(b, a) - mcc_bits.compare(b, a)) <= TOLERANCE


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(minutiae_sets(max_size=40), min_size=1, max_size=12), minutiae_sets(max_size=40))
def test_identify_ranks_and_scores_as_the_reference(gallery_templates: list[Template], probe: Template) -> None:
    """Every row rescored: the order is the reference's (up to the tolerance) and each score is the reference's,
    although the gallery hands the kernel a row's minutiae in its own order (cylinders first)."""
    gallery = native.Gallery.build((f"V{i}", 1 + i % 10, t) for i, t in enumerate(gallery_templates))
    reference = np.array([matcher.compare(probe, t) for t in gallery_templates])
    got = native.identify(probe, gallery, top_k=len(gallery_templates), prefilter=False, rescore=len(gallery_templates))
    assert sorted(c.row for c in got) == list(range(len(gallery_templates)))
    for c in got:
        assert abs(c.score - reference[c.row]) <= FLOAT_TOLERANCE
        assert (c.voter, c.finger) == (f"V{c.row}", 1 + c.row % 10)
    for first, second in zip(got, got[1:], strict=False):
        assert reference[first.row] >= reference[second.row] - FLOAT_TOLERANCE


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(minutiae_sets(max_size=40), min_size=1, max_size=12), minutiae_sets(max_size=40))
def test_identify_without_rescoring_ranks_as_the_bit_oracle(gallery_templates: list[Template], probe: Template) -> None:
    forms = [native.stored_form(t) for t in gallery_templates]
    gallery = native.Gallery.from_cylinders((f"V{i}", 1 + i % 10, f) for i, f in enumerate(forms))
    pform = mcc_bits.bit_cylinders(probe)
    oracle = np.array([mcc_bits.compare_bits(pform, f.bits) for f in forms])
    expected_rows = list(np.lexsort((np.arange(len(oracle)), -oracle)))
    got = native.identify(probe, gallery, top_k=len(gallery_templates), prefilter=False, rescore=0)
    assert [c.row for c in got] == expected_rows
    for c in got:
        assert abs(c.score - oracle[c.row]) <= TOLERANCE and c.score == c.bit_score


def test_threads_do_not_change_scores() -> None:
    rng = np.random.default_rng(7)
    from fingerprint.model import Minutia

    templates = [
        Template(400, 400, tuple(
            Minutia(int(x), int(y), float(a)) for x, y, a in zip(
                rng.integers(0, 400, 40), rng.integers(0, 400, 40), rng.uniform(0, 6.28, 40), strict=True
            )
        ))
        for _ in range(50)
    ]
    gallery = native.Gallery.build((f"V{i}", 1, t) for i, t in enumerate(templates))
    one = native.identify(templates[3], gallery, top_k=50, prefilter=False, threads=1)
    two = native.identify(templates[3], gallery, top_k=50, prefilter=False, threads=2)
    assert one == two
    assert one[0].row == 3 and one[0].score > one[1].score


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(minutiae_sets(max_size=40), min_size=1, max_size=40), minutiae_sets(max_size=40))
def test_screen_equals_its_numpy_definition_on_any_thread_count(
    gallery_templates: list[Template], probe: Template
) -> None:
    """Screen score = sum of the LSS_MAX_PAIRS largest per-probe-cylinder best Γ (0 when none is comparable)."""
    from fingerprint import parameters as p
    from native.search import screen

    forms = [mcc_bits.bit_cylinders(t) for t in gallery_templates]
    gallery = native.Gallery.from_cylinders((f"V{i}", 1, f) for i, f in enumerate(forms))
    pform = mcc_bits.bit_cylinders(probe)
    expected = []
    for f in forms:
        gamma = mcc_bits.local_similarities(pform, f)
        best = gamma.max(axis=1) if gamma.shape[1] else np.zeros(gamma.shape[0])
        expected.append(np.sort(best)[::-1][: p.LSS_MAX_PAIRS].sum())
    for threads in (1, 2):
        np.testing.assert_allclose(screen(pform, gallery, threads), expected, rtol=0, atol=1e-12)


def test_screen_is_thread_safe_on_large_galleries() -> None:
    """Over several 256-template chunks per thread the two-thread screen equals the one-thread screen (each thread
    keeps its own best list)."""
    from native.search import screen
    from tests.native.test_edge_cases import _random_template

    forms = [mcc_bits.bit_cylinders(_random_template(500 + i, 45)) for i in range(25)]
    gallery = native.Gallery.from_cylinders((f"V{i}", 1, forms[i % 25]) for i in range(2000))
    probe = forms[7]
    one, two = screen(probe, gallery, 1), screen(probe, gallery, 2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one.reshape(-1, 25), np.tile(one[:25], (80, 1)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(minutiae_sets(max_size=60), min_size=1, max_size=20), minutiae_sets(max_size=60))
def test_scalar_and_simd_paths_give_identical_scores(gallery_templates: list[Template], probe: Template) -> None:
    """The AVX-512 path (taken when the CPU has VPOPCNTDQ) and the scalar fallback compute the same integers and the
    same IEEE operations: scores and screening values are bit-identical, and both equal the oracle."""
    import pytest

    from native.kernels import kernel
    from native.search import score_rows, screen

    if not kernel.simd_available():
        pytest.skip("this CPU has no AVX-512 VPOPCNTDQ: only the scalar path exists here")
    forms = [mcc_bits.bit_cylinders(t) for t in gallery_templates]
    gallery = native.Gallery.from_cylinders((f"V{i}", 1, f) for i, f in enumerate(forms))
    pform = mcc_bits.bit_cylinders(probe)
    rows = np.arange(len(forms), dtype=np.int64)
    fast, slow = score_rows(pform, gallery, rows, simd=True), score_rows(pform, gallery, rows, simd=False)
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(screen(pform, gallery, simd=True), screen(pform, gallery, simd=False))
    oracle = np.array([mcc_bits.compare_bits(pform, f) for f in forms])
    assert np.abs(fast - oracle).max() <= TOLERANCE


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(distorted_pairs())
def test_scalar_and_simd_paths_agree_on_genuine_like_pairs(pair: tuple[Template, Template]) -> None:
    """Genuine-like pairs have many compatible pairs of pairs: the AVX-512 path's two-pass ρ list (candidates, then 8
    at a time, (u, t) entries before (t, u)) must give the scalar path's relaxation sums exactly."""
    import pytest

    from native.kernels import kernel
    from native.search import score_rows

    if not kernel.simd_available():
        pytest.skip("this CPU has no AVX-512 VPOPCNTDQ: only the scalar path exists here")
    a, b = (mcc_bits.bit_cylinders(t) for t in pair)
    for probe, cand in ((a, b), (b, a)):
        gallery = native.Gallery.from_cylinders([("V", 1, cand)])
        rows = np.zeros(1, dtype=np.int64)
        fast, slow = score_rows(probe, gallery, rows, simd=True), score_rows(probe, gallery, rows, simd=False)
        np.testing.assert_array_equal(fast, slow)
        assert abs(fast[0] - mcc_bits.compare_bits(probe, cand)) <= TOLERANCE
