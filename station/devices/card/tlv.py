"""BER-TLV as used by ICAO 9303-10 §4.1 (LDS files) and ISO/IEC 7816-4 (secure-messaging data objects).

Tags are kept as the integer of their bytes (``0x5F1F``); lengths use the short form below 128 and the long forms
``81 xx`` and ``82 xx xx`` (LDS files never exceed 64 KiB). Every decoder checks bounds and raises :class:`LdsError`
instead of reading past the end, because the bytes come from a chip that may be hostile.
"""

from __future__ import annotations

from station.devices.card.errors import LdsError


def encode_length(length: int) -> bytes:
    """DER length octets for ``length`` (0 to 65535)."""
    if length < 0x80:
        return bytes([length])
    if length <= 0xFF:
        return bytes([0x81, length])
    if length <= 0xFFFF:
        return bytes([0x82, length >> 8, length & 0xFF])
    raise ValueError(f"TLV length {length} exceeds 65535")


def encode(tag: int, value: bytes) -> bytes:
    """One TLV object; ``tag`` is the integer of its one to three tag bytes."""
    size = max(1, (tag.bit_length() + 7) // 8)
    return tag.to_bytes(size, "big") + encode_length(len(value)) + value


def read_tag(data: bytes, pos: int) -> tuple[int, int]:
    """The tag starting at ``pos`` and the position after it (ISO/IEC 7816-4 §5.2.2.1)."""
    if pos >= len(data):
        raise LdsError("TLV ends before a tag; the chip's file is truncated")
    first = data[pos]
    tag = first
    pos += 1
    if first & 0x1F == 0x1F:  # multi-byte tag: continuation while bit 8 is set
        for _ in range(3):
            if pos >= len(data):
                raise LdsError("TLV tag is truncated")
            tag = (tag << 8) | data[pos]
            pos += 1
            if not data[pos - 1] & 0x80:
                break
        else:
            raise LdsError("TLV tag longer than four bytes")
    return tag, pos


def read_length(data: bytes, pos: int) -> tuple[int, int]:
    """The length starting at ``pos`` and the position after it."""
    if pos >= len(data):
        raise LdsError("TLV ends before a length")
    first = data[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    count = first & 0x7F
    if count == 0 or count > 3:
        raise LdsError(f"TLV length form 0x{first:02X} is not allowed in an LDS file")
    if pos + count > len(data):
        raise LdsError("TLV length is truncated")
    return int.from_bytes(data[pos : pos + count], "big"), pos + count


def header_size(data: bytes) -> tuple[int, int]:
    """For the start of a file: (header size, value length), used to learn a file's total size from its first bytes."""
    _, pos = read_tag(data, 0)
    length, pos = read_length(data, pos)
    return pos, length


def decode(data: bytes) -> list[tuple[int, bytes]]:
    """The sequence of (tag, value) objects that make up ``data`` exactly; trailing garbage is an error."""
    items: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        tag, pos = read_tag(data, pos)
        length, pos = read_length(data, pos)
        end = pos + length
        if end > len(data):
            raise LdsError(f"TLV object 0x{tag:X} claims {length} bytes but only {len(data) - pos} remain")
        items.append((tag, data[pos:end]))
        pos = end
    return items


def decode_one(data: bytes, tag: int) -> bytes:
    """The value of the single object ``tag`` that spans ``data`` (bytes after it are ignored: files are padded)."""
    got, pos = read_tag(data, 0)
    if got != tag:
        raise LdsError(f"expected TLV tag 0x{tag:X}, found 0x{got:X}")
    length, pos = read_length(data, pos)
    if pos + length > len(data):
        raise LdsError(f"TLV object 0x{tag:X} claims {length} bytes but only {len(data) - pos} remain")
    return data[pos : pos + length]


def as_dict(data: bytes) -> dict[int, bytes]:
    """The objects of ``data`` by tag (first occurrence wins)."""
    found: dict[int, bytes] = {}
    for tag, value in decode(data):
        found.setdefault(tag, value)
    return found
