"""ISO/IEC 19794-2:2005 records: export/import round trips, corrupt records, third-party templates."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest

from fingerprint.errors import TemplateError
from fingerprint.iso19794 import from_iso, to_iso
from fingerprint.matcher import compare
from fingerprint.model import Minutia, MinutiaKind, Template


def test_export_import_round_trip(template: Template) -> None:
    back = from_iso(to_iso(template))
    assert (back.width, back.height) == (template.width, template.height)
    assert len(back) == len(template)
    by_position = {(m.x, m.y, m.kind): m for m in back.minutiae}
    for m in template.minutiae:
        twin = by_position[(m.x, m.y, m.kind)]
        # ISO angles are 1/256 turn: at most half a step (0.703°) off.
        assert abs((twin.angle - m.angle + math.pi) % (2 * math.pi) - math.pi) <= math.pi / 256 + 1e-9
        assert twin.quality == m.quality


def test_bytes_round_trip_is_exact(template: Template) -> None:
    record = to_iso(template, finger_position=2, finger_quality=70)
    assert to_iso(from_iso(record), finger_position=2, finger_quality=70) == record
    assert record[:8] == b"FMR\x00 20\x00"
    assert struct.unpack(">I", record[8:12])[0] == len(record) == 24 + 4 + 6 * len(template) + 2


def test_other_resolution_is_converted_to_500_dpi() -> None:
    record = bytearray(to_iso(Template(400, 400, (Minutia(200, 100, 0.0, MinutiaKind.ENDING, 50),))))
    record[18:22] = struct.pack(">HH", 394, 394)  # 1000 dpi
    back = from_iso(bytes(record))
    assert (back.width, back.height) == (200, 200)
    assert (back.minutiae[0].x, back.minutiae[0].y) == (100, 50)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r[:20], "truncated"),
        (lambda r: b"FIR\x00" + r[4:], "format id"),
        (lambda r: r[:4] + b" 30\x00" + r[8:], "version"),
        (lambda r: r[:-1], "says"),
        (lambda r: r[:28] + bytes([0xC0]) + r[29:], "reserved type"),
        (lambda r: r[:28] + bytes([0x7F, 0xFF]) + r[30:], "outside"),
        (lambda r: r[:33] + bytes([200]) + r[34:], "quality 200"),
    ],
)
def test_corrupt_records_raise(template: Template, mutate: object, message: str) -> None:
    record = to_iso(template)
    with pytest.raises(TemplateError, match=message):
        from_iso(mutate(record))  # type: ignore[operator]


def _third_party(root: Path, db: str) -> dict[str, Template]:
    folder = root / "ISO19794_templates_FVC2002" / db
    return {path.stem: from_iso(path.read_bytes()) for path in sorted(folder.glob("*.iso"))}


@pytest.mark.data
def test_third_party_templates_import_and_match(fingerprint_data: Path) -> None:
    templates = {}
    for db in ("DB1_B", "DB2_B", "DB3_B", "DB4_B"):
        loaded = _third_party(fingerprint_data, db)
        assert len(loaded) == 80, db
        assert all(len(t) > 0 for t in loaded.values())
        templates[db] = loaded
    db1 = templates["DB1_B"]
    for t in db1.values():
        assert from_iso(to_iso(t)) == t  # their records re-export byte for byte into the same values
    genuine = [compare(db1[f"10{f}_1"], db1[f"10{f}_2"]) for f in range(1, 10)]
    impostor = [compare(db1[f"10{f}_1"], db1[f"10{f + 1}_2"]) for f in range(1, 9)]
    assert sorted(genuine)[len(genuine) // 2] > 3 * max(impostor)
