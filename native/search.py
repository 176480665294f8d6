"""1:1 and 1:N matching over the compiled kernels: input checks and conversion here, arithmetic in ``_mcc_cy``.

identify() runs in two passes (both across all cores with the GIL released):

1. **screen**: for every gallery template, each probe cylinder's best local similarity in it (the bit Γ of
   Cappelli et al. 2010 §5), and the sum of the max_NP (LSS_MAX_PAIRS) largest of these: a Local Similarity Sort
   (§4.2) without the one-to-one pairing and without relaxation. It costs the popcounts of the similarity matrix only,
   about a third of a full comparison, and only :data:`SCREEN_CYLINDERS` probe cylinders take part;
2. **score**: the full LSS-R score (§4.3) for the ``shortlist`` best-screened templates, ranked.

The shortlist is large enough that the rank-1 result equals the exhaustive search on the shared real databases
(tests/native/test_real.py checks it on FVC2002; bench/match.py measures it with padded galleries); ``prefilter=False`` scores every template.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fingerprint import mcc_bits
from fingerprint import parameters as p
from fingerprint.model import Template
from native.errors import check
from native.gallery import Gallery
from native.kernels import kernel, params, use_simd

#: Screening probe cylinders and shortlist size: values and reasons in fingerprint.parameters (section "Bit-based MCC").
SCREEN_CYLINDERS = p.SEARCH_SCREEN_CYLINDERS
SHORTLIST_MIN = p.SEARCH_SHORTLIST_MIN
SHORTLIST_FRACTION = p.SEARCH_SHORTLIST_FRACTION

SearchForm = mcc_bits.BitCylinders


@dataclass(frozen=True)
class Candidate:
    """A ranked gallery row: which row, whose (voter id), which finger (ISO position 1-10), and the score (0..1)."""

    row: int
    voter: str
    finger: int
    score: float


def search_form(template: Template | SearchForm) -> SearchForm:
    """The bit cylinders of a template (built once per capture; a search form passes through)."""
    if isinstance(template, mcc_bits.BitCylinders):
        return template
    if not isinstance(template, Template):
        raise TypeError(f"expected a fingerprint.Template or BitCylinders, got {type(template).__name__}")
    return mcc_bits.bit_cylinders(template)


def _contiguous(c: SearchForm) -> tuple[npt.NDArray[np.generic], ...]:
    nd = mcc_bits.BITS_DIRECTION_CELLS
    return (
        np.ascontiguousarray(c.x, dtype=np.int16),
        np.ascontiguousarray(c.y, dtype=np.int16),
        np.ascontiguousarray(c.angle, dtype=np.uint16),
        np.ascontiguousarray(c.cells, dtype=np.uint64).reshape(-1, nd),
        np.ascontiguousarray(c.valid, dtype=np.uint64),
    )


def score_rows(
    probe: SearchForm, gallery: Gallery, rows: npt.NDArray[np.int64], threads: int = 0, simd: bool | None = None
) -> np.ndarray:
    """Full LSS-R scores of ``probe`` against gallery ``rows`` (float64, one per row).

    ``simd`` False forces the scalar popcount path (None: the AVX-512 path when the CPU has it; equal scores).
    """
    rows_c = np.ascontiguousarray(rows, dtype=np.int64)
    out = np.zeros(rows_c.shape[0], dtype=np.float64)
    px, py, pa, pc, pv = _contiguous(probe)
    z1, z2, z3, atan = mcc_bits.relax_tables()
    status = kernel.score_many(
        px, py, pa, pc, pv,  # type: ignore[arg-type]
        gallery.offsets, gallery.x, gallery.y, gallery.angle, gallery.cells, gallery.valid,
        rows_c, params(), z1, z2, z3, atan, float(mcc_bits.DISTANCE_STEPS_PER_PX),
        mcc_bits.ANGLE_TABLE_SHIFT, out, int(threads), int(use_simd() if simd is None else simd),
    )
    check(status)
    return out


def screen_subset(form: SearchForm, count: int = SCREEN_CYLINDERS) -> SearchForm:
    """At most ``count`` of the probe's cylinders, evenly spread over them (the screening pass's probe)."""
    n = len(form)
    if n <= count:
        return form
    idx = np.linspace(0, n - 1, count).round().astype(np.intp)
    return mcc_bits.BitCylinders(form.x[idx], form.y[idx], form.angle[idx], form.cells[idx], form.valid[idx])


def screen(probe: SearchForm, gallery: Gallery, threads: int = 0, simd: bool | None = None) -> np.ndarray:
    """First-pass screening score of ``probe`` against every gallery template (see module doc; ``simd`` as in
    :func:`score_rows`)."""
    out = np.zeros(len(gallery), dtype=np.float64)
    _, _, pa, pc, pv = _contiguous(probe)
    check(
        kernel.screen_many(
            pa, pc, pv,  # type: ignore[arg-type]
            gallery.offsets, gallery.angle, gallery.cells, gallery.valid, params(), out, int(threads),
            int(use_simd() if simd is None else simd),
        )
    )
    return out


def verify(probe: Template | SearchForm, candidate: Template | SearchForm) -> float:
    """1:1 similarity (0..1) of two templates or search forms; equals ``fingerprint.mcc_bits.compare_bits``."""
    a, b = search_form(probe), search_form(candidate)
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
    threads: int = 0,
) -> list[Candidate]:
    """The ``top_k`` best gallery rows for ``probe``, best first (ties: lower row first); ``threads`` 0 = all cores.

    ``shortlist`` overrides how many screened templates get the full score (default :func:`shortlist_size`).
    """
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
    order = np.lexsort((rows, -scores))[:top_k]
    out = []
    for i in order:
        row = int(rows[i])
        voter, finger = gallery.row(row)
        out.append(Candidate(row=row, voter=voter, finger=finger, score=float(scores[i])))
    return out
