"""The engine's own stored template: compact, versioned, validated on every load.

Layout (big-endian, version 1)::

    offset size  field
    0      4     magic b"SHFT" (Shailoo fingerprint template)
    4      1     format version (1)
    5      1     flags (0; reserved, must be zero)
    6      2     image width, px at 500 dpi
    8      2     image height, px at 500 dpi
    10     2     number of minutiae n
    12     8*n   minutiae: x u16, y u16, angle u16 (1/65536 turn), kind u8 (ISO code), quality u8 (0..100)
    12+8n  4     CRC-32 (zlib) of every byte before it

A template is 16 + 8 n bytes (about 400 bytes for 48 minutiae). The CRC catches truncation and bit rot; the field
checks catch a record that was written wrong. A template that fails any check raises :class:`TemplateError` and is
never matched: a damaged template must not silently score as another person.
"""

from __future__ import annotations

import math
import struct
import zlib

from fingerprint.errors import TemplateError
from fingerprint.model import ANGLE_STEPS, Minutia, MinutiaKind, Template, angle_steps

MAGIC = b"SHFT"
VERSION = 1
_HEADER = struct.Struct(">4sBBHHH")
_MINUTIA = struct.Struct(">HHHBB")
_CRC = struct.Struct(">I")


def dumps(template: Template) -> bytes:
    """Serialise ``template`` to the stored form (see the module docstring)."""
    parts = [_HEADER.pack(MAGIC, VERSION, 0, template.width, template.height, len(template.minutiae))]
    for m in template.minutiae:
        parts.append(_MINUTIA.pack(m.x, m.y, angle_steps(m.angle), int(m.kind), m.quality))
    body = b"".join(parts)
    return body + _CRC.pack(zlib.crc32(body))


def loads(data: bytes) -> Template:
    """Parse and validate a stored template; raises :class:`TemplateError` on any defect."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TemplateError(f"a template is bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) < _HEADER.size + _CRC.size:
        raise TemplateError(
            f"template is truncated: {len(data)} bytes, a valid one has at least 16; re-enrol"
        )
    magic, version, flags, width, height, count = _HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise TemplateError(f"not a Shailoo template (magic {magic!r}, expected {MAGIC!r})")
    if version != VERSION:
        raise TemplateError(
            f"template format version {version} is not supported (this engine reads {VERSION})"
        )
    if flags != 0:
        raise TemplateError(f"template flags {flags:#04x} are reserved and must be zero")
    expected = _HEADER.size + count * _MINUTIA.size + _CRC.size
    if len(data) != expected:
        raise TemplateError(
            f"template length {len(data)} bytes does not match its {count} minutiae ({expected} bytes): "
            "truncated or padded; re-enrol"
        )
    (crc,) = _CRC.unpack_from(data, expected - _CRC.size)
    if crc != zlib.crc32(data[: expected - _CRC.size]):
        raise TemplateError("template checksum mismatch: the stored template is damaged; re-enrol")
    minutiae = []
    for i in range(count):
        x, y, steps, kind, quality = _MINUTIA.unpack_from(data, _HEADER.size + i * _MINUTIA.size)
        if kind not in MinutiaKind._value2member_map_:
            raise TemplateError(f"minutia {i} has unknown type code {kind}")
        angle = steps * 2.0 * math.pi / ANGLE_STEPS
        # Minutia and Template check ranges (quality, position inside the image) and raise TemplateError.
        minutiae.append(Minutia(x, y, angle, MinutiaKind(kind), quality))
    return Template(width, height, tuple(minutiae))
