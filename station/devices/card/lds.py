"""The logical data structure of an eMRTD chip, ICAO 9303-10 §4.6-4.7: EF.COM, DG1, DG2, DG11 and their files.

Parsers take the bytes read from the chip and return frozen values; every malformed file raises :class:`LdsError`
(through :mod:`station.devices.card.tlv`), never an IndexError, because the bytes come from a chip that may be forged.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from station.devices.card import tlv
from station.devices.card.errors import LdsError, MrzError
from station.devices.card.mrz import Mrz, parse_mrz


@dataclass(frozen=True)
class LdsFile:
    """An elementary file: its two-byte identifier, its outer TLV tag and (for data groups) its number."""

    name: str
    fid: int
    tag: int
    number: int = 0


EF_COM = LdsFile("EF.COM", 0x011E, 0x60)
EF_SOD = LdsFile("EF.SOD", 0x011D, 0x77)
DG1 = LdsFile("DG1", 0x0101, 0x61, 1)
DG2 = LdsFile("DG2", 0x0102, 0x75, 2)
DG11 = LdsFile("DG11", 0x010B, 0x6B, 11)
DG15 = LdsFile("DG15", 0x010F, 0x6F, 15)

#: Data-group numbers by their outer tag (ICAO 9303-10 Table 34), to read the tag list of EF.COM.
DG_BY_TAG = {
    0x61: 1, 0x75: 2, 0x63: 3, 0x76: 4, 0x65: 5, 0x66: 6, 0x67: 7, 0x68: 8, 0x69: 9, 0x6A: 10, 0x6B: 11,
    0x6C: 12, 0x6D: 13, 0x6E: 14, 0x6F: 15, 0x70: 16,
}
TAG_BY_DG = {number: tag for tag, number in DG_BY_TAG.items()}

#: DG11 field tags (ICAO 9303-10 §4.7.11) and the names used in :class:`PersonalDetails`.
DG11_FIELDS = {
    0x5F0E: "full_name",
    0x5F0F: "other_names",
    0x5F10: "personal_number",
    0x5F2B: "full_birth_date",
    0x5F11: "place_of_birth",
    0x5F42: "address",
    0x5F12: "telephone",
    0x5F13: "profession",
    0x5F14: "title",
}


@dataclass(frozen=True)
class Com:
    """EF.COM: LDS and Unicode versions and the data groups present."""

    lds_version: str
    unicode_version: str
    data_groups: tuple[int, ...]


@dataclass(frozen=True)
class FaceImage:
    """DG2's first face: the encoded image (JPEG or JPEG 2000) and its declared size in pixels."""

    image: bytes
    mime: str
    width: int
    height: int


@dataclass(frozen=True)
class PersonalDetails:
    """DG11 fields present on the chip, by name (``personal_number``, ``full_name``, ...)."""

    fields: dict[str, str] = field(default_factory=dict)

    @property
    def personal_number(self) -> str:
        """The personal number field, or an empty string."""
        return self.fields.get("personal_number", "")


def parse_com(data: bytes) -> Com:
    """EF.COM: 60 { 5F01 LDS version, 5F36 Unicode version, 5C tag list }."""
    found = tlv.as_dict(tlv.decode_one(data, EF_COM.tag))
    if 0x5C not in found:
        raise LdsError("EF.COM has no tag list (5C); the chip's EF.COM is malformed")
    groups = []
    for byte in found[0x5C]:
        if byte not in DG_BY_TAG:
            raise LdsError(f"EF.COM lists unknown data-group tag 0x{byte:02X}")
        groups.append(DG_BY_TAG[byte])
    return Com(
        found.get(0x5F01, b"").decode("ascii", "replace"),
        found.get(0x5F36, b"").decode("ascii", "replace"),
        tuple(groups),
    )


def parse_dg1(data: bytes) -> Mrz:
    """DG1: 61 { 5F1F MRZ }, split into lines by its length (90 = TD1, 88 = TD3) and parsed with check digits."""
    found = tlv.as_dict(tlv.decode_one(data, DG1.tag))
    if 0x5F1F not in found:
        raise LdsError("DG1 holds no MRZ (5F1F)")
    try:
        text = found[0x5F1F].decode("ascii")
    except UnicodeDecodeError:
        raise LdsError("DG1's MRZ is not ASCII") from None
    size = {90: 30, 88: 44}.get(len(text))
    if size is None:
        raise LdsError(f"DG1's MRZ has {len(text)} characters; expected 90 (ID card) or 88 (passport)")
    try:
        return parse_mrz("\n".join(text[i : i + size] for i in range(0, len(text), size)))
    except MrzError as exc:
        raise LdsError(f"DG1's MRZ is invalid: {exc}") from exc


# ISO/IEC 19794-5:2005 §5.4-5.7: general header (14 bytes), facial information (20), feature points (8 each),
# image information (12), then the image.
_FAC_HEADER = struct.Struct(">4s4sIH")
_FACE_INFO = struct.Struct(">IHBBB3sH3s3s")
_IMAGE_INFO = struct.Struct(">BBHHBBHH")


def parse_face_record(record: bytes) -> FaceImage:
    """The first image of an ISO/IEC 19794-5 facial record."""
    if len(record) < _FAC_HEADER.size + _FACE_INFO.size + _IMAGE_INFO.size:
        raise LdsError("DG2's facial record is too short")
    magic, _version, _length, count = _FAC_HEADER.unpack_from(record)
    if magic != b"FAC\x00" or count < 1:
        raise LdsError("DG2's facial record does not start with FAC and at least one face")
    block_length, points, *_ = _FACE_INFO.unpack_from(record, _FAC_HEADER.size)
    pos = _FAC_HEADER.size + _FACE_INFO.size + 8 * points
    end = _FAC_HEADER.size + block_length
    if pos + _IMAGE_INFO.size > len(record) or end > len(record) or end < pos + _IMAGE_INFO.size:
        raise LdsError("DG2's facial record block lengths do not fit the record")
    _kind, data_type, width, height, *_ = _IMAGE_INFO.unpack_from(record, pos)
    image = record[pos + _IMAGE_INFO.size : end]
    mime = {0: "image/jpeg", 1: "image/jp2"}.get(data_type)
    if mime is None or not image:
        raise LdsError(f"DG2's face image has unknown data type {data_type} or is empty")
    return FaceImage(image, mime, width, height)


def parse_dg2(data: bytes) -> FaceImage:
    """DG2: 75 { 7F61 { 02 count, 7F60 { A1 header, 5F2E or 7F2E facial record } } }; the first face."""
    group = tlv.as_dict(tlv.decode_one(data, DG2.tag))
    if 0x7F61 not in group:
        raise LdsError("DG2 holds no biometric information group template (7F61)")
    template = tlv.as_dict(group[0x7F61])
    if 0x7F60 not in template:
        raise LdsError("DG2 holds no biometric information template (7F60)")
    info = tlv.as_dict(template[0x7F60])
    record = info.get(0x5F2E, info.get(0x7F2E))
    if record is None:
        raise LdsError("DG2 holds no biometric data block (5F2E)")
    return parse_face_record(record)


def parse_dg11(data: bytes) -> PersonalDetails:
    """DG11: 6B { 5C tag list, then the listed fields, UTF-8 }."""
    found = tlv.as_dict(tlv.decode_one(data, DG11.tag))
    fields: dict[str, str] = {}
    for tag, name in DG11_FIELDS.items():
        if tag in found:
            try:
                fields[name] = found[tag].decode("utf-8").replace("<", " ").strip()
            except UnicodeDecodeError:
                raise LdsError(f"DG11 field {name} is not UTF-8 text") from None
    return PersonalDetails(fields)


def parse_dg15(data: bytes) -> bytes:
    """DG15: 6F { SubjectPublicKeyInfo } -- the chip's Active Authentication public key (ICAO 9303-11 §6.1), DER."""
    key = tlv.decode_one(data, DG15.tag)
    if not key or key[0] != 0x30:
        raise LdsError("DG15 does not hold a public key")
    return key
