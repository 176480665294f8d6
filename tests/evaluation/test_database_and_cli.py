"""Databases on disk: naming, the FVC protocol counts, image decoding and the eval command end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from evaluation.database import protocol, samples
from evaluation.errors import EvaluationError
from evaluation.images import read_grey
from shailoo.cli import main


def _touch_fvc(folder: Path, fingers: int, impressions: int) -> None:
    for f in range(fingers):
        for i in range(1, impressions + 1):
            (folder / f"{101 + f}_{i}.tif").write_bytes(b"")


def test_protocol_counts_match_the_readme(tmp_path: Path) -> None:
    _touch_fvc(tmp_path, 10, 8)
    pairs = protocol(samples(tmp_path))
    assert len(pairs.genuine) == 280
    assert len(pairs.impostor_fvc) == 45
    assert len(pairs.impostor_all) == 80 * 79 // 2 - 280


def test_crossmatch_names_group_by_person_and_finger(tmp_path: Path) -> None:
    for name in ("012_3_1", "012_3_2", "012_4_1", "013_3_1"):
        (tmp_path / f"{name}.tif").write_bytes(b"")
    items = samples(tmp_path)
    assert [s.finger for s in items] == ["012_3", "012_3", "012_4", "013_3"]
    assert len(protocol(items).genuine) == 1


def test_bad_folders_raise_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(EvaluationError, match="not a folder"):
        samples(tmp_path / "missing")
    with pytest.raises(EvaluationError, match="no "):
        samples(tmp_path)
    (tmp_path / "scan.tif").write_bytes(b"")
    with pytest.raises(EvaluationError, match="<finger>_<impression>"):
        samples(tmp_path)


def test_palette_tif_is_decoded_through_its_palette(tmp_path: Path) -> None:
    palette_image = Image.new("P", (8, 8))
    # Index i shows grey 255 - i: reading indices as grey levels would be wrong.
    palette_image.putpalette([v for i in range(256) for v in (255 - i,) * 3])
    palette_image.putdata([3] * 64)
    palette_image.save(tmp_path / "p.tif")
    assert (read_grey(tmp_path / "p.tif") == 252).all()
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(EvaluationError, match="cannot read"):
        read_grey(tmp_path / "junk.png")


@pytest.mark.data
def test_shared_palette_tifs_and_pngs_decode(fingerprint_data: Path) -> None:
    crossmatch = read_grey(fingerprint_data / "CrossMatch_sample" / "012_3_1.tif")
    assert crossmatch.dtype == np.uint8 and crossmatch.shape == (480, 504)
    upek = read_grey(next((fingerprint_data / "UPEK").glob("*.png")))
    assert upek.ndim == 2 and upek.std() > 10


@pytest.mark.data
def test_eval_command_writes_the_issue_keys(fingerprint_data: Path, tmp_path: Path) -> None:
    db = tmp_path / "DB1_subset"
    db.mkdir()
    for finger in (101, 102, 103):
        for impression in (1, 2, 3):
            name = f"{finger}_{impression}.tif"
            (db / name).symlink_to(fingerprint_data / "FVC2002" / "DB1_B" / name)
    out = tmp_path / "result.json"
    assert main(["fingerprint", "eval", str(db), "--json", str(out), "--det", str(tmp_path / "det.png")]) == 0
    result = json.loads(out.read_text())
    for key in (
        "eer_all",
        "eer_fvc",
        "fmr100",
        "fmr1000",
        "zero_fmr",
        "genuine_pairs",
        "impostor_pairs",
        "failures_to_extract",
        "extract_ms_median",
        "extract_ms_p95",
        "match_us_median",
        "quality_score_spearman",
    ):
        assert key in result, key
    assert result["genuine_pairs"] == 9 and result["impostor_pairs"] == 27
    assert result["failures_to_extract"] == 0
    assert (tmp_path / "det.png").stat().st_size > 1000


@pytest.mark.data
def test_eval_command_reads_iso_templates(fingerprint_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "iso.json"
    folder = fingerprint_data / "ISO19794_templates_FVC2002" / "DB4_B"
    assert main(["fingerprint", "eval", str(folder), "--templates", "iso", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["genuine_pairs"] == 280
    assert result["eer_all"] < 0.0658  # OpenAFIS on the same templates: 6.58%
