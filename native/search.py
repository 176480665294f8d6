"""1:1 and 1:N matching over the compiled kernels: input checks and conversion here, arithmetic in ``_mcc_cy`` (bit
MCC) and ``_float_cy`` (the float reference, compiled).

verify() is the reference matcher's score (``fingerprint.matcher.compare``), compiled: about 1 ms for two templates.

identify() runs in three passes (each across all cores with the GIL released):

1. **screen**: for every gallery template, each probe cylinder's best local similarity in it (the bit Γ of
   Cappelli et al. 2010 §5), and the sum of the max_NP (LSS_MAX_PAIRS) largest of these: a Local Similarity Sort
   (§4.2) without the one-to-one pairing and without relaxation. It costs the popcounts of the similarity matrix only,
   about a third of a full comparison, and only :data:`SCREEN_CYLINDERS` probe cylinders take part;
2. **score**: the full bit LSS-R score (§4.3) for the ``shortlist`` best-screened templates, ranked;
3. **rescore**: the ``rescore`` best of those get the float reference's score, which ranks them and is the score
   returned, so a search's scores and a 1:1 check's are on one scale, the reference's.

The shortlist and the rescored count are large enough that the rank-1 result equals the exhaustive search on the
shared real databases (tests/native/test_real.py checks it on FVC2002; bench/match.py measures it with padded
galleries); ``prefilter=False`` bit-scores every template, ``rescore=0`` returns the bit scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fingerprint import mcc_bits
from fingerprint import parameters as p
from fingerprint.model import Template
from native.errors import KernelError, check
from native.forms import SearchForm, minutia_arrays, search_form
from native.gallery import Gallery
from native.kernels import float_kernel, float_params, kernel, params, use_simd

#: Screening probe cylinders and shortlist size: values and reasons in fingerprint.parameters (section "Bit-based MCC").
SCREEN_CYLINDERS = p.SEARCH_SCREEN_CYLINDERS
SHORTLIST_MIN = p.SEARCH_SHORTLIST_MIN
SHORTLIST_FRACTION = p.SEARCH_SHORTLIST_FRACTION
RESCORE_CANDIDATES = p.SEARCH_RESCORE_CANDIDATES

__all__ = [
    "Candidate", "SearchForm", "compare_forms", "compare_many", "float_form", "identify", "search_form", "verify",
    "verify_bits",
]


@dataclass(frozen=True)
class Candidate:
    """A ranked gallery row: which row, whose (voter id), which finger (ISO position 1-10), the score (0..1: the
    float reference's, or the bit score when the search did not rescore) and the bit score that ranked it."""

    row: int
    voter: str
    finger: int
    score: float
    bit_score: float


BitsInput = mcc_bits.BitCylinders | SearchForm


def _bits(form: BitsInput) -> mcc_bits.BitCylinders:
    return form.bits if isinstance(form, SearchForm) else form


def _contiguous(c: mcc_bits.BitCylinders) -> tuple[npt.NDArray[np.generic], ...]:
    nd = mcc_bits.BITS_DIRECTION_CELLS
    return (
        np.ascontiguousarray(c.x, dtype=np.int16),
        np.ascontiguousarray(c.y, dtype=np.int16),
        np.ascontiguousarray(c.angle, dtype=np.uint16),
        np.ascontiguousarray(c.cells, dtype=np.uint64).reshape(-1, nd),
        np.ascontiguousarray(c.valid, dtype=np.uint64),
    )


def score_rows(
    probe: BitsInput, gallery: Gallery, rows: npt.NDArray[np.int64], threads: int = 0, simd: bool | None = None
) -> np.ndarray:
    """Full bit LSS-R scores of ``probe`` against gallery ``rows`` (float64, one per row).

    ``simd`` False forces the scalar popcount path (None: the AVX-512 path when the CPU has it; equal scores).
    """
    rows_c = np.ascontiguousarray(rows, dtype=np.int64)
    out = np.zeros(rows_c.shape[0], dtype=np.float64)
    px, py, pa, pc, pv = _contiguous(_bits(probe))
    z1, z2, z3, atan = mcc_bits.relax_tables()
    status = kernel.score_many(
        px, py, pa, pc, pv,  # type: ignore[arg-type]
        gallery.offsets, gallery.x, gallery.y, gallery.angle, gallery.cells, gallery.valid,
        rows_c, params(), z1, z2, z3, atan, float(mcc_bits.DISTANCE_STEPS_PER_PX),
        mcc_bits.ANGLE_TABLE_SHIFT, out, int(threads), int(use_simd() if simd is None else simd),
    )
    check(status)
    return out


def float_rows(probe: SearchForm, gallery: Gallery, rows: npt.NDArray[np.int64], threads: int = 0) -> np.ndarray:
    """The float reference's scores of ``probe`` against gallery ``rows`` (each row's minutiae: its cylinders', then
    its others), in parallel."""
    rows_c = np.ascontiguousarray(rows, dtype=np.int64)
    out = np.zeros(rows_c.shape[0], dtype=np.float64)
    check(
        float_kernel.score_many(
            np.ascontiguousarray(probe.x, dtype=np.int16), np.ascontiguousarray(probe.y, dtype=np.int16),
            np.ascontiguousarray(probe.angle, dtype=np.uint16), gallery.offsets, gallery.x, gallery.y, gallery.angle,
            gallery.eoffsets, gallery.ex, gallery.ey, gallery.eangle, rows_c, float_params(), out, int(threads),
        )
    )
    return out


def screen_subset(form: BitsInput, count: int = SCREEN_CYLINDERS) -> mcc_bits.BitCylinders:
    """At most ``count`` of the probe's cylinders, evenly spread over them (the screening pass's probe)."""
    form = _bits(form)
    n = len(form)
    if n <= count:
        return form
    idx = np.linspace(0, n - 1, count).round().astype(np.intp)
    return mcc_bits.BitCylinders(form.x[idx], form.y[idx], form.angle[idx], form.cells[idx], form.valid[idx])


def screen(probe: BitsInput, gallery: Gallery, threads: int = 0, simd: bool | None = None) -> np.ndarray:
    """First-pass screening score of ``probe`` against every gallery template (see module doc; ``simd`` as in
    :func:`score_rows`)."""
    out = np.zeros(len(gallery), dtype=np.float64)
    _, _, pa, pc, pv = _contiguous(_bits(probe))
    check(
        kernel.screen_many(
            pa, pc, pv,  # type: ignore[arg-type]
            gallery.offsets, gallery.angle, gallery.cells, gallery.valid, params(), out, int(threads),
            int(use_simd() if simd is None else simd),
        )
    )
    return out


def float_form(template: Template | SearchForm) -> float_kernel.Form:
    """The float reference's cylinders of a template or search form (built in C, about 1 ms)."""
    if isinstance(template, SearchForm):
        x, y, a = template.x, template.y, template.angle
    elif isinstance(template, Template):
        x, y, a = minutia_arrays(template)
    else:
        raise TypeError(f"expected a fingerprint.Template or native SearchForm, got {type(template).__name__}")
    form = float_kernel.Form.build(
        np.ascontiguousarray(x, dtype=np.int16), np.ascontiguousarray(y, dtype=np.int16),
        np.ascontiguousarray(a, dtype=np.uint16), float_params(),
    )
    if form is None:
        raise KernelError("native float matcher refused its input (a bug in native/: report it)")
    return form


def compare_forms(a: float_kernel.Form, b: float_kernel.Form) -> float:
    """The float reference's score of two built forms (see :func:`float_form`)."""
    score = a.compare(b)
    if score < 0.0:
        raise KernelError("native float matcher ran out of memory for its scratch buffers")
    return float(score)


def compare_many(probe: float_kernel.Form, others: list[float_kernel.Form], threads: int = 0) -> np.ndarray:
    """The float reference's scores of one built form against many (float64, one per form), across all cores."""
    out = np.zeros(len(others), dtype=np.float64)
    check(float_kernel.compare_many(probe, list(others), out, int(threads)))
    return out


def verify(probe: Template | SearchForm, candidate: Template | SearchForm) -> float:
    """1:1 similarity (0..1) of two templates or search forms: the reference matcher's score
    (``fingerprint.matcher.compare``) computed by the compiled float kernel (tolerance in native/README.md)."""
    return compare_forms(float_form(probe), float_form(candidate))


def verify_bits(probe: Template | BitsInput, candidate: Template | BitsInput) -> float:
    """1:1 bit LSS-R score (what identify's second pass ranks by); equals ``fingerprint.mcc_bits.compare_bits``."""
    a = mcc_bits.bit_cylinders(probe) if isinstance(probe, Template) else _bits(probe)
    b = mcc_bits.bit_cylinders(candidate) if isinstance(candidate, Template) else _bits(candidate)
    single = Gallery.from_cylinders([("-", 1, b)])
    return float(score_rows(a, single, np.zeros(1, dtype=np.int64), threads=1)[0])


def shortlist_size(gallery_size: int, top_k: int) -> int:
    """How many screened templates get the full score."""
    return min(gallery_size, max(top_k, SHORTLIST_MIN, int(np.ceil(SHORTLIST_FRACTION * gallery_size))))


def identify(
    probe: Template | SearchForm,
    gallery: Gallery,
    top_k: int = 10,
    *,
    prefilter: bool = True,
    shortlist: int | None = None,
    rescore: int | None = None,
    threads: int = 0,
) -> list[Candidate]:
    """The ``top_k`` best gallery rows for ``probe``, best first (ties: lower row first); ``threads`` 0 = all cores.

    ``shortlist`` overrides how many screened templates get the full bit score (default :func:`shortlist_size`);
    ``rescore`` how many of the best bit-scored get the float reference's score (default the larger of ``top_k`` and
    ``RESCORE_CANDIDATES``; 0: none, the bit scores are returned).
    """
    if rescore is not None and rescore < 0:
        raise ValueError(f"rescore must be 0 or more, got {rescore}")
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    form = search_form(probe)
    n = len(gallery)
    if n == 0:
        return []
    keep = shortlist_size(n, top_k) if shortlist is None else min(n, max(top_k, int(shortlist)))
    if prefilter and keep < n:
        first = screen(screen_subset(form), gallery, threads)
        rows = np.sort(np.argpartition(-first, keep - 1)[:keep]).astype(np.int64)
    else:
        rows = np.arange(n, dtype=np.int64)
    scores = score_rows(form, gallery, rows, threads)
    order = np.lexsort((rows, -scores))
    again = max(top_k, RESCORE_CANDIDATES) if rescore is None else rescore
    if again > 0:
        best = order[:again]
        final = float_rows(form, gallery, rows[best], threads)
        ranked = np.concatenate([best[np.lexsort((rows[best], -final))], order[again:]])
        final_of = dict(zip(best.tolist(), final.tolist(), strict=True))
    else:
        ranked, final_of = order, {}
    out = []
    for i in ranked[:top_k].tolist():
        row = int(rows[i])
        voter, finger = gallery.row(row)
        bit = float(scores[i])
        out.append(Candidate(row=row, voter=voter, finger=finger, score=final_of.get(i, bit), bit_score=bit))
    return out
