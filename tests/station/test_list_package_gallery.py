"""The packed 1:N gallery in the station list package: opened at start instead of built, checked at load against
its voter list, refused when damaged or inconsistent (the previous list stays), and built from the templates when the
package predates it or its format is not this kit's."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import native.gallery
from fingerprint import loads
from native.gallery import Gallery as NativeGallery
from station.errors import ListPackageError
from station.gallery import Gallery
from station.list_package import build as build_module
from station.list_package import (
    build_package,
    load_cec_public,
    load_cec_signing_key,
    load_list_key,
    load_package,
)
from station.matching import EngineMatcher, NativeMatcher
from station.store import KitStore, SearchGallery, Voter
from tests.station.conftest import ELECTION, STATION, national_list

MINE = [v for v in national_list() if v.station_id == STATION]


def _build(keys: dict[str, Path], voters: list[Any] | None = None, **kwargs: Any) -> bytes:
    return build_package(voters or national_list(), ELECTION, STATION, load_cec_signing_key(keys["signing"]),
                         load_list_key(keys["list"]), **kwargs)


def _load(kit: KitStore, data: bytes, keys: dict[str, Path]) -> int:
    return load_package(kit, data, load_cec_public(keys["public"]), load_list_key(keys["list"]))


def _reference_gallery(voters: list[Any]) -> NativeGallery:
    return NativeGallery.build(
        (v.personal_number, f, loads(t)) for v in sorted(voters, key=lambda v: v.list_number)
        for f, t in sorted(v.templates.items())
    )


def _stored(kit: KitStore) -> tuple[int, SearchGallery | None]:
    with kit.transaction() as session:
        count = int(session.scalar(select(func.count()).select_from(Voter)) or 0)
        row = session.get(SearchGallery, 1)
        if row is not None:
            session.expunge(row)
    return count, row


def test_kit_opens_the_packed_gallery_instead_of_building(kit: KitStore, cec_keys: dict[str, Path]) -> None:
    _load(kit, _build(cec_keys), cec_keys)
    _, row = _stored(kit)
    assert row is not None and row.templates == 10 and b"SHGALRY" not in row.sealed  # sealed at rest
    matcher = NativeMatcher()
    gallery = Gallery(kit, load_list_key(cec_keys["list"]))
    assert gallery.prepare(matcher) == "packed"
    # Bit for bit the gallery the kit would have built itself from the same templates.
    assert matcher._native_gallery.to_bytes() == _reference_gallery(MINE).to_bytes()
    from native.search import identify

    voter = MINE[3]
    best = identify(loads(voter.templates[6]), matcher._native_gallery, top_k=1)[0]
    assert (best.voter, best.finger) == (voter.personal_number, 6) and best.score > 0.99


def test_reference_matcher_and_missing_key_build_from_templates(kit: KitStore, cec_keys: dict[str, Path]) -> None:
    _load(kit, _build(cec_keys), cec_keys)
    assert Gallery(kit, load_list_key(cec_keys["list"])).prepare(EngineMatcher()) == "built"
    assert Gallery(kit, None).prepare(NativeMatcher()) == "built"


def test_package_without_gallery_loads_and_kit_builds_with_a_log_line(
    kit: KitStore, cec_keys: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    old = _build(cec_keys, with_gallery=False)
    with caplog.at_level(logging.INFO):
        assert _load(kit, old, cec_keys) == 5
        matcher = NativeMatcher()
        assert Gallery(kit, load_list_key(cec_keys["list"])).prepare(matcher) == "built"
    assert "format 1 carries no packed 1:N gallery" in caplog.text
    assert "predates it" in caplog.text
    assert matcher._native_gallery.to_bytes() == _reference_gallery(MINE).to_bytes()


def test_gallery_in_another_format_is_not_used_but_the_package_loads(
    kit: KitStore, cec_keys: dict[str, Path], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A CEC running newer software writes gallery format 99; this kit reads native.gallery.FORMAT_VERSION (3).
    monkeypatch.setattr(native.gallery, "FORMAT_VERSION", 99)
    newer = _build(cec_keys)
    monkeypatch.undo()
    with caplog.at_level(logging.INFO):
        assert _load(kit, newer, cec_keys) == 5
    assert "packed gallery is in format 99" in caplog.text and _stored(kit)[1] is None
    assert Gallery(kit, load_list_key(cec_keys["list"])).prepare(NativeMatcher()) == "built"


def test_kit_upgraded_to_another_gallery_format_builds_at_start(
    kit: KitStore, cec_keys: dict[str, Path], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load(kit, _build(cec_keys), cec_keys)
    monkeypatch.setattr(native.gallery, "FORMAT_VERSION", native.gallery.FORMAT_VERSION + 1)
    with caplog.at_level(logging.INFO):
        assert Gallery(kit, load_list_key(cec_keys["list"])).prepare(NativeMatcher()) == "built"
    assert "building it from the templates" in caplog.text


def _tampered_gallery(monkeypatch: pytest.MonkeyPatch, change: Any) -> None:
    """Make the CEC build sign a gallery altered by ``change(blob, rows)`` (a CEC-side fault the signature covers)."""
    real = build_module.packed_gallery

    def fake(voters: list[Any]) -> tuple[bytes, int, int, str]:
        blob, version, rows, parameters = real(voters)
        return change(blob, voters), version, rows, parameters

    monkeypatch.setattr(build_module, "packed_gallery", fake)


def _swap_cylinders(_blob: bytes, voters: list[Any]) -> bytes:
    # Same row map, but voter 0's finger 1 row holds voter 1's finger 1 cylinders.
    rows = [(v.personal_number, f, loads(t)) for v in voters for f, t in sorted(v.templates.items())]
    rows[0] = (rows[0][0], rows[0][1], rows[2][2])
    return NativeGallery.build(rows).to_bytes()


def _wrong_finger(_blob: bytes, voters: list[Any]) -> bytes:
    rows = [(v.personal_number, f, loads(t)) for v in voters for f, t in sorted(v.templates.items())]
    rows[-1] = (rows[-1][0], 2, rows[-1][2])  # a finger the voter list does not have
    return NativeGallery.build(rows).to_bytes()


def _move_extra_minutia(blob: bytes, _voters: list[Any]) -> bytes:
    # Cylinders untouched, but one minutia without a cylinder (what identify's float rescoring also reads) moved by
    # a pixel: a well-formed gallery with a valid CRC that only the minutiae comparison catches.
    gallery = NativeGallery.from_bytes(blob)
    assert gallery.ex.size > 0, "the fixture templates should leave some minutiae without a cylinder"
    ex = gallery.ex.copy()
    ex[-1] += 1
    return dataclasses.replace(gallery, ex=ex).to_bytes()


def _flip_byte(blob: bytes, _voters: list[Any]) -> bytes:
    return blob[:-3] + bytes([blob[-3] ^ 0x10]) + blob[-2:]


@pytest.mark.parametrize(
    "change, message",
    [
        (_flip_byte, "is damaged"),
        (lambda blob, _v: blob[: len(blob) // 2], "is damaged"),
        (_wrong_finger, "does not list the same voters and fingers"),
        (_swap_cylinders, "is not that voter's template"),
        (_move_extra_minutia, "is not that voter's template"),
    ],
)
def test_corrupt_or_inconsistent_gallery_is_refused_and_previous_list_stays(
    kit: KitStore, cec_keys: dict[str, Path], monkeypatch: pytest.MonkeyPatch, change: Any, message: str
) -> None:
    _load(kit, _build(cec_keys), cec_keys)
    before = _stored(kit)[1]
    _tampered_gallery(monkeypatch, change)
    bad = _build(cec_keys)
    with pytest.raises(ListPackageError, match=message):
        _load(kit, bad, cec_keys)
    count, after = _stored(kit)
    assert count == 5 and before is not None and after is not None and after.sealed == before.sealed
    assert Gallery(kit, load_list_key(cec_keys["list"])).prepare(NativeMatcher()) == "packed"


def test_unreadable_template_is_refused_at_the_cec(cec_keys: dict[str, Path]) -> None:
    voters = national_list()
    voters[1] = voters[1].__class__(**{**voters[1].__dict__, "templates": {1: b"not a template"}})
    with pytest.raises(ListPackageError, match="finger 1: the enrolled template cannot be read"):
        _build(cec_keys, voters)


def test_station_without_enrolled_fingers_has_an_empty_packed_gallery(
    kit: KitStore, cec_keys: dict[str, Path]
) -> None:
    voters = [v.__class__(**{**v.__dict__, "templates": {}}) for v in national_list()]
    assert _load(kit, _build(cec_keys, voters), cec_keys) == 5
    matcher = NativeMatcher()
    assert Gallery(kit, load_list_key(cec_keys["list"])).prepare(matcher) == "packed"
    assert len(matcher._native_gallery) == 0
