"""The gallery blob: round trip through numpy views, sizes, and refusal of damaged or foreign blobs."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import native
from fingerprint import mcc_bits
from native.gallery import MAGIC
from tests.native.test_edge_cases import _random_template


@pytest.fixture(scope="module")
def gallery() -> native.Gallery:
    rows = [(f"2{i:013d}", 1 + i % 10, _random_template(100 + i, 20 + i)) for i in range(12)]
    return native.Gallery.build(rows)


def test_round_trip_gives_equal_arrays_as_read_only_views(gallery: native.Gallery) -> None:
    blob = gallery.to_bytes()
    back = native.Gallery.from_bytes(blob)
    for name in ("offsets", "x", "y", "angle", "cells", "valid", "voter", "finger", "eoffsets", "ex", "ey", "eangle"):
        np.testing.assert_array_equal(getattr(back, name), getattr(gallery, name))
        assert not getattr(back, name).flags.writeable  # views on the blob, not copies
    assert back.row(5) == ("20000000000005", 6)
    assert len(back) == 12
    probe = _random_template(105, 25)
    assert native.identify(probe, back, top_k=1)[0].row == 5


def test_template_cylinders_view_matches_oracle(gallery: native.Gallery) -> None:
    form = gallery.template_cylinders(3)
    expected = mcc_bits.bit_cylinders(_random_template(103, 23))
    np.testing.assert_array_equal(form.cells, expected.cells)
    np.testing.assert_array_equal(form.valid, expected.valid)


def test_rows_keep_every_minutia_of_their_template(gallery: native.Gallery) -> None:
    """Cylinder minutiae plus the stored others are the template's minutiae (as a multiset), so the float rescoring
    sees the whole template."""
    from native.forms import minutia_arrays

    for i in range(len(gallery)):
        x, y, a = gallery.template_minutiae(i)
        ex, ey, ea = minutia_arrays(_random_template(100 + i, 20 + i))
        assert sorted(zip(x.tolist(), y.tolist(), a.tolist(), strict=True)) == sorted(
            zip(ex.tolist(), ey.tolist(), ea.tolist(), strict=True)
        )


def _corrupt(blob: bytes, at: int, value: int) -> bytes:
    out = bytearray(blob)
    out[at] ^= value
    return bytes(out)


def test_damaged_blobs_are_refused_with_a_clear_error(gallery: native.Gallery) -> None:
    blob = gallery.to_bytes()
    cases = {
        "truncated": blob[:40],
        "bad magic": b"X" + blob[1:],
        "version": blob[:8] + struct.pack("<H", 99) + blob[10:],
        "short body": blob[:-8],
        "flipped bit": _corrupt(blob, len(blob) - 20, 0x10),
        "parameters": blob[:40] + bytes(16) + blob[56:],
    }
    messages = {
        "truncated": "truncated", "bad magic": "magic", "version": "version", "short body": "damaged",
        "flipped bit": "CRC", "parameters": "parameters",
    }
    for name, bad in cases.items():
        with pytest.raises(native.GalleryError, match=messages[name]):
            native.Gallery.from_bytes(bad)
    assert blob.startswith(MAGIC)


def test_bad_rows_are_refused() -> None:
    t = _random_template(1, 30)
    with pytest.raises(native.GalleryError, match="finger position"):
        native.Gallery.build([("A", 11, t)])
    with pytest.raises(native.GalleryError, match="ASCII"):
        native.Gallery.build([("Ä", 1, t)])


def test_empty_gallery_round_trips() -> None:
    empty = native.Gallery.build([])
    back = native.Gallery.from_bytes(empty.to_bytes())
    assert len(back) == 0


@pytest.mark.parametrize("old_version", [1, 2])
def test_blobs_of_previous_layouts_are_refused_by_version(gallery: native.Gallery, old_version: int) -> None:
    """Format 1 stored the cells cylinder-major, format 2 had no minutiae besides the cylinders' (no float rescoring
    possible); reading either as format 3 would scramble the arrays, so their headers are refused by number, before
    any array is read."""
    from native.gallery import FORMAT_VERSION

    assert FORMAT_VERSION == 3
    old = bytearray(gallery.to_bytes())
    struct.pack_into("<H", old, 8, old_version)
    with pytest.raises(native.GalleryError, match=f"version {old_version} is not supported .*reads 3"):
        native.Gallery.from_bytes(bytes(old))


def test_damaged_minutia_offsets_are_refused(gallery: native.Gallery) -> None:
    """A blob whose other-minutia offsets do not add up is refused even with a valid CRC (a bug, not a bit flip)."""
    broken = native.Gallery(**{**gallery.__dict__, "eoffsets": gallery.eoffsets[::-1].copy()})
    with pytest.raises(native.GalleryError, match="minutia offsets"):
        native.Gallery.from_bytes(broken.to_bytes())


def test_cells_are_bin_major_and_rows_read_back_cylinder_major(gallery: native.Gallery) -> None:
    nd = mcc_bits.BITS_DIRECTION_CELLS
    assert gallery.cells.shape == (nd, gallery.x.shape[0]) and gallery.cells.flags.c_contiguous
    form = gallery.template_cylinders(2)
    a = int(gallery.offsets[2])
    np.testing.assert_array_equal(form.cells[0], gallery.cells[:, a])
