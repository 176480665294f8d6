"""On real templates (third-party ISO 19794-2 records of FVC2002): native equals its oracle, and the screening
prefilter keeps the exhaustive search's rank-1 answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import native
from fingerprint import from_iso, mcc_bits


@pytest.fixture(scope="module")
def real_forms(fingerprint_data: Path) -> list[tuple[str, int, mcc_bits.BitCylinders]]:
    root = fingerprint_data / "ISO19794_templates_FVC2002"
    files = sorted(root.glob("DB*_B/*.iso"))
    if not files:
        pytest.skip(f"no ISO templates under {root}")
    out = []
    for f in files:
        finger, impression = f.stem.split("_")
        out.append((f"{f.parent.name}/{finger}", int(impression), mcc_bits.bit_cylinders(from_iso(f.read_bytes()))))
    return out


@pytest.mark.data
def test_native_equals_oracle_on_real_pairs(real_forms: list[tuple[str, int, mcc_bits.BitCylinders]]) -> None:
    forms = [f for _, _, f in real_forms]
    rng = np.random.default_rng(0)
    pairs = [(i, i + 1) for i in range(0, 80, 2)] + [tuple(rng.integers(0, len(forms), 2)) for _ in range(40)]
    worst = max(abs(native.verify(forms[i], forms[j]) - mcc_bits.compare_bits(forms[i], forms[j])) for i, j in pairs)
    assert worst <= 1e-9


@pytest.mark.data
def test_prefilter_keeps_rank1_of_exhaustive_search(real_forms: list[tuple[str, int, mcc_bits.BitCylinders]]) -> None:
    """Each DB1_B and DB3_B impression against all 319 other templates (its own finger's others plus three other
    databases), with a shortlist of 20 (6%): wherever the exhaustive search finds the right finger at rank 1, so does
    the prefiltered search (the same row with the same score, or another impression of that finger), and the rank-1
    rates are equal."""
    hits_full = hits_pre = 0
    probes = [i for i, (who, _, _) in enumerate(real_forms) if who.startswith(("DB1_B/", "DB3_B/"))]
    for i in probes:
        others = [r for j, r in enumerate(real_forms) if j != i]
        gallery = native.Gallery.from_cylinders((who, 1 + imp % 10, form) for who, imp, form in others)
        probe = real_forms[i][2]
        full = native.identify(probe, gallery, top_k=1, prefilter=False)[0]
        pre = native.identify(probe, gallery, top_k=1, shortlist=20)[0]
        if full.voter == real_forms[i][0]:
            assert pre.voter == full.voter
        if pre.row == full.row:
            assert pre.score == full.score
        hits_full += full.voter == real_forms[i][0]
        hits_pre += pre.voter == real_forms[i][0]
    assert hits_pre == hits_full
    assert hits_full >= 0.9 * len(probes)
