"""On real templates (third-party ISO 19794-2 records of FVC2002): native equals its oracles (the float reference and
the bit form), and identify (screen, bit scores, float rescoring) keeps the exhaustive reference search's rank-1
answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import native
from fingerprint import Template, from_iso, matcher, mcc_bits


@pytest.fixture(scope="module")
def real_templates(fingerprint_data: Path) -> list[tuple[str, int, Template]]:
    root = fingerprint_data / "ISO19794_templates_FVC2002"
    files = sorted(root.glob("DB*_B/*.iso"))
    if not files:
        pytest.skip(f"no ISO templates under {root}")
    out = []
    for f in files:
        finger, impression = f.stem.split("_")
        out.append((f"{f.parent.name}/{finger}", int(impression), from_iso(f.read_bytes())))
    return out


@pytest.mark.data
def test_native_equals_its_oracles_on_real_pairs(real_templates: list[tuple[str, int, Template]]) -> None:
    templates = [t for _, _, t in real_templates]
    forms = [mcc_bits.bit_cylinders(t) for t in templates]
    rng = np.random.default_rng(0)
    pairs = [(i, i + 1) for i in range(0, 80, 2)] + [tuple(rng.integers(0, len(forms), 2)) for _ in range(40)]
    worst_bits = max(
        abs(native.verify_bits(forms[i], forms[j]) - mcc_bits.compare_bits(forms[i], forms[j])) for i, j in pairs
    )
    assert worst_bits <= 1e-9
    # Genuine pairs (the first 40) and impostor pairs: the reference's own score, far inside the stated 1e-7.
    worst_float = max(abs(native.verify(templates[i], templates[j]) - matcher.compare(templates[i], templates[j]))
                      for i, j in pairs[:60])
    assert worst_float <= 1e-9


@pytest.mark.data
def test_search_keeps_rank1_of_exhaustive_reference_search(real_templates: list[tuple[str, int, Template]]) -> None:
    """Each DB1_B and DB3_B impression against all 319 other templates (its own finger's others plus three other
    databases), with a shortlist of 20 (6%) and the default rescoring: wherever the exhaustive reference search (the
    float score of every row) finds the right finger at rank 1, so does identify, and its rank-1 rate is at least
    the exhaustive one."""
    from native.search import compare_many, float_form, search_form

    forms = [search_form(t) for _, _, t in real_templates]
    floats = [float_form(f) for f in forms]
    stored = [native.stored_form(t) for _, _, t in real_templates]
    hits_full = hits_pre = 0
    probes = [i for i, (who, _, _) in enumerate(real_templates) if who.startswith(("DB1_B/", "DB3_B/"))]
    for i in probes:
        others = [j for j in range(len(real_templates)) if j != i]
        gallery = native.Gallery.from_cylinders(
            (real_templates[j][0], 1 + real_templates[j][1] % 10, stored[j]) for j in others
        )
        reference = compare_many(floats[i], [floats[j] for j in others])
        full_row = int(np.lexsort((np.arange(len(others)), -reference))[0])
        full_voter = real_templates[others[full_row]][0]
        pre = native.identify(forms[i], gallery, top_k=1, shortlist=20)[0]
        if full_voter == real_templates[i][0]:
            assert pre.voter == full_voter
        if pre.row == full_row:
            assert pre.score == pytest.approx(reference[full_row], abs=1e-9)
        hits_full += full_voter == real_templates[i][0]
        hits_pre += pre.voter == real_templates[i][0]
    assert hits_pre >= hits_full
    assert hits_full >= 0.9 * len(probes)
