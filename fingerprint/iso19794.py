"""ISO/IEC 19794-2:2005 finger minutiae records: import and export.

Record layout (big-endian; clause numbers of ISO/IEC 19794-2:2005):

- record header, 24 bytes (§9.2): ``"FMR\\0"``, version ``" 20\\0"``, record length (4 bytes), capture equipment
  certification (4 bits) + device type id (12 bits), image width and height (px, 2 bytes each), horizontal and
  vertical resolution (pixels per centimetre, 2 bytes each), number of finger views (1), reserved (1);
- per finger view (§9.3-9.5): finger position (1), view number (4 bits) + impression type (4 bits), finger quality
  (0..100), number of minutiae (1), then 6 bytes per minutia: type (2 bits: 01 ending, 10 bifurcation, 00 other)
  + x (14 bits), reserved (2 bits) + y (14 bits), angle (1 byte, 1.40625° units, counter-clockwise from +x), quality
  (0..100); then the extended data block length (2 bytes) and that many bytes, skipped here.

Import converts coordinates to 500 dpi from the record's resolution, so records from other resolutions (or other
vendors' extractors) land in the engine's coordinate frame. Only the first finger view is read (one finger per record
is what a kit stores). Every field is checked; a bad record raises :class:`TemplateError`.
"""

from __future__ import annotations

import math
import struct

from fingerprint.errors import TemplateError
from fingerprint.model import MAX_COORDINATE_PX, TEMPLATE_DPI, Minutia, MinutiaKind, Template

FORMAT_ID = b"FMR\x00"
VERSION_2005 = b" 20\x00"
_HEADER = struct.Struct(">4s4sIHHHHHBB")
_VIEW = struct.Struct(">BBBB")
_MINUTIA = struct.Struct(">HHBB")
_EXT_LEN = struct.Struct(">H")

#: 500 dpi in pixels per centimetre, rounded as ISO records carry it (500 / 2.54 = 196.85).
PPCM_500_DPI = 197
_CM_PER_INCH = 2.54
#: Resolutions within this relative difference of 500 dpi are taken as 500 dpi (197 ppcm is 500.4 dpi).
_SAME_RESOLUTION = 0.01

_ISO_TYPE_TO_KIND = {0: MinutiaKind.OTHER, 1: MinutiaKind.ENDING, 2: MinutiaKind.BIFURCATION}


def to_iso(template: Template, finger_position: int = 0, finger_quality: int = 0) -> bytes:
    """Export ``template`` as an ISO/IEC 19794-2:2005 record (one finger view, 500 dpi, no extended data).

    ``finger_position`` is the ISO finger code (0 unknown, 1 right thumb ... 10 left little); ``finger_quality`` is
    the image quality 0..100. At most 255 minutiae fit a view: the ones of lowest quality are dropped first.
    """
    if not 0 <= finger_position <= 10:
        raise TemplateError(f"finger position {finger_position} is not an ISO code 0..10")
    if not 0 <= finger_quality <= 100:
        raise TemplateError(f"finger quality {finger_quality} is outside 0..100")
    minutiae = sorted(template.minutiae, key=lambda m: -m.quality)[:255]
    body = [_VIEW.pack(finger_position, 0, finger_quality, len(minutiae))]
    for m in minutiae:
        angle_byte = round(m.angle / (2.0 * math.pi) * 256.0) % 256
        body.append(_MINUTIA.pack((int(m.kind) << 14) | m.x, m.y, angle_byte, m.quality))
    body.append(_EXT_LEN.pack(0))
    payload = b"".join(body)
    length = _HEADER.size + len(payload)
    header = _HEADER.pack(
        FORMAT_ID, VERSION_2005, length, 0, template.width, template.height, PPCM_500_DPI, PPCM_500_DPI, 1, 0
    )
    return header + payload


def _scale(ppcm: int, axis: str) -> float:
    if ppcm == 0:
        raise TemplateError(f"ISO record has a zero {axis} resolution")
    dpi = ppcm * _CM_PER_INCH
    if abs(dpi / TEMPLATE_DPI - 1.0) <= _SAME_RESOLUTION:
        return 1.0
    if not 150 <= dpi <= 1100:
        raise TemplateError(
            f"ISO record {axis} resolution {ppcm} px/cm ({dpi:.0f} dpi) is not a fingerprint scan"
        )
    return TEMPLATE_DPI / dpi


def from_iso(data: bytes) -> Template:
    """Import the first finger view of an ISO/IEC 19794-2:2005 record as a :class:`Template` at 500 dpi."""
    data = bytes(data)
    if len(data) < _HEADER.size + _VIEW.size + _EXT_LEN.size:
        raise TemplateError(f"ISO record is truncated: {len(data)} bytes")
    fmt, version, length, _equipment, width, height, xres, yres, views, _reserved = _HEADER.unpack_from(
        data, 0
    )
    if fmt != FORMAT_ID:
        raise TemplateError(f"not an ISO/IEC 19794-2 finger minutiae record (format id {fmt!r})")
    if version != VERSION_2005:
        raise TemplateError(
            f"ISO record version {version!r} is not supported (this reader handles ' 20', 2005)"
        )
    if length != len(data):
        raise TemplateError(f"ISO record says {length} bytes but holds {len(data)}: truncated or padded")
    if views < 1:
        raise TemplateError("ISO record holds no finger view")
    if width == 0 or height == 0:
        raise TemplateError(f"ISO record image size {width} x {height} is empty")
    sx, sy = _scale(xres, "horizontal"), _scale(yres, "vertical")
    _position, _view, _quality, count = _VIEW.unpack_from(data, _HEADER.size)
    offset = _HEADER.size + _VIEW.size
    if offset + count * _MINUTIA.size + _EXT_LEN.size > len(data):
        raise TemplateError(f"ISO record is truncated: its view announces {count} minutiae")
    out_w = max(1, min(MAX_COORDINATE_PX + 1, round(width * sx)))
    out_h = max(1, min(MAX_COORDINATE_PX + 1, round(height * sy)))
    minutiae = []
    for i in range(count):
        tx, ry, angle_byte, quality = _MINUTIA.unpack_from(data, offset + i * _MINUTIA.size)
        code, x, y = tx >> 14, tx & 0x3FFF, ry & 0x3FFF
        if code not in _ISO_TYPE_TO_KIND:
            raise TemplateError(f"ISO minutia {i} has the reserved type code 3")
        if x >= width or y >= height:
            raise TemplateError(f"ISO minutia {i} at ({x}, {y}) lies outside the {width} x {height} image")
        if quality > 100:
            raise TemplateError(f"ISO minutia {i} quality {quality} is outside 0..100")
        minutiae.append(
            Minutia(
                min(out_w - 1, round(x * sx)),
                min(out_h - 1, round(y * sy)),
                angle_byte * 2.0 * math.pi / 256.0,
                _ISO_TYPE_TO_KIND[code],
                quality,
            )
        )
    offset += count * _MINUTIA.size
    (ext_len,) = _EXT_LEN.unpack_from(data, offset)
    if views == 1 and offset + _EXT_LEN.size + ext_len != len(data):
        raise TemplateError("ISO record extended data length does not match the record length")
    return Template(out_w, out_h, tuple(minutiae))
