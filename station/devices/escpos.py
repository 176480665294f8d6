"""ESC/POS bytes for thermal slip printers: commands, the real-time status bits, and raster images of text.

Only what slips need: initialise (ESC @), code page (ESC t n), alignment (ESC a), emphasis (ESC E), character size
(GS !), line feed and feed (ESC d), raster bit image (GS v 0), QR code (GS ( k, functions 165/167/169/180/181 in the
Epson numbering), cut (GS V), real-time status (DLE EOT n). Shared by the driver and the printer emulator.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from station.devices.errors import DeviceError, ProtocolError
from station.devices.health import ErrorCode

ESC, GS, DLE, EOT, LF = 0x1B, 0x1D, 0x10, 0x04, 0x0A
INIT = bytes([ESC, 0x40])
#: Font A cell on 203-dpi printers: 12 x 24 dots.
CHAR_WIDTH_DOTS, LINE_HEIGHT_DOTS = 12, 24
#: DejaVu Sans Mono at 20 px advances 12.04 px per character: it fills font A's 12-dot cell.
FONT_PX = 20
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/local/share/fonts"))

#: ESC t table numbers (Epson numbering) -> Python codec, for the code pages a slip may use.
CODE_PAGES = {0: "cp437", 17: "cp866", 46: "cp1251"}


class Align(enum.IntEnum):
    """ESC a n."""

    LEFT = 0
    CENTER = 1
    RIGHT = 2


class StatusRequest(enum.IntEnum):
    """DLE EOT n: which status byte to send back."""

    PRINTER = 1
    OFFLINE_CAUSE = 2
    PAPER = 4


# Bits of the status bytes (Epson DLE EOT): each byte has bit 1 and bit 4 set, bits 0 and 7 clear.
STATUS_FIXED_MASK, STATUS_FIXED_BITS = 0x93, 0x12
OFFLINE_BIT = 0x08  # n=1
COVER_OPEN_BIT, PAPER_END_STOP_BIT, ERROR_BIT = 0x04, 0x20, 0x40  # n=2
NEAR_END_BITS, PAPER_END_BITS = 0x0C, 0x60  # n=4


@dataclass(frozen=True)
class PrinterStatus:
    """Decoded real-time status."""

    offline: bool = False
    cover_open: bool = False
    paper_near_end: bool = False
    paper_out: bool = False
    error: bool = False

    @property
    def can_print(self) -> bool:
        """True when a slip can be printed now."""
        return not (self.offline or self.cover_open or self.paper_out or self.error)

    def problem(self) -> tuple[ErrorCode, str] | None:
        """The most urgent problem with an operator message, or None."""
        if self.cover_open:
            return ErrorCode.PRINTER_COVER_OPEN, "the printer cover is open; close it firmly"
        if self.paper_out:
            return ErrorCode.PRINTER_PAPER_OUT, "the printer is out of paper; load a new roll"
        if self.error or self.offline:
            return ErrorCode.PRINTER_OFFLINE, "the printer is offline; check its power and error light"
        if self.paper_near_end:
            return ErrorCode.PRINTER_PAPER_NEAR_END, "paper is running out; have a new roll ready"
        return None


def status_request(n: StatusRequest) -> bytes:
    """DLE EOT n."""
    return bytes([DLE, EOT, int(n)])


def decode_status(replies: dict[StatusRequest, int]) -> PrinterStatus:
    """Combine the three status bytes; a byte without its fixed bits is a protocol error (line noise)."""
    for n, value in replies.items():
        if value & STATUS_FIXED_MASK != STATUS_FIXED_BITS:
            raise ProtocolError(
                f"printer status byte {value:#04x} for DLE EOT {int(n)} is malformed",
                int(ErrorCode.PRINTER_OFFLINE),
            )
    printer = replies[StatusRequest.PRINTER]
    cause = replies[StatusRequest.OFFLINE_CAUSE]
    paper = replies[StatusRequest.PAPER]
    return PrinterStatus(
        offline=bool(printer & OFFLINE_BIT),
        cover_open=bool(cause & COVER_OPEN_BIT),
        paper_near_end=bool(paper & NEAR_END_BITS),
        paper_out=bool(paper & PAPER_END_BITS) or bool(cause & PAPER_END_STOP_BIT),
        error=bool(cause & ERROR_BIT),
    )


def encode_status(n: int, status: PrinterStatus) -> int:
    """The status byte a printer in ``status`` answers to DLE EOT n (used by the emulator)."""
    value = STATUS_FIXED_BITS
    if n == StatusRequest.PRINTER and not status.can_print:
        value |= OFFLINE_BIT
    elif n == StatusRequest.OFFLINE_CAUSE:
        value |= (COVER_OPEN_BIT if status.cover_open else 0) | (
            PAPER_END_STOP_BIT if status.paper_out else 0
        )
        value |= ERROR_BIT if status.error else 0
    elif n == StatusRequest.PAPER:
        value |= (NEAR_END_BITS if status.paper_near_end else 0) | (PAPER_END_BITS if status.paper_out else 0)
    return value


# -- commands ------------------------------------------------------------------------------------------------------
def select_code_page(number: int) -> bytes:
    """ESC t n."""
    return bytes([ESC, 0x74, number])


def align(where: Align) -> bytes:
    """ESC a n."""
    return bytes([ESC, 0x61, int(where)])


def emphasis(on: bool) -> bytes:
    """ESC E n."""
    return bytes([ESC, 0x45, 1 if on else 0])


def char_size(width: int, height: int) -> bytes:
    """GS ! n: width and height multipliers 1..8."""
    return bytes([GS, 0x21, ((width - 1) << 4) | (height - 1)])


def feed(lines: int) -> bytes:
    """ESC d n: print and feed ``lines`` lines."""
    return bytes([ESC, 0x64, lines])


def cut(kind: str) -> bytes:
    """GS V 65/66 n: feed to the cutter and cut (full 65, partial 66); empty for printers without a cutter."""
    if kind == "none":
        return b""
    return bytes([GS, 0x56, 65 if kind == "full" else 66, 0])


def _gs_k(fn: int, data: bytes) -> bytes:
    size = len(data) + 2
    return bytes([GS, 0x28, 0x6B, size & 0xFF, size >> 8, 0x31, fn]) + data


def qr_code(payload: bytes, module_dots: int, ecc: str = "M") -> bytes:
    """GS ( k: model 2, module size, error correction, store the data, print it."""
    ecc_n = {"L": 48, "M": 49, "Q": 50, "H": 51}[ecc]
    return (
        _gs_k(0x41, bytes([0x32, 0x00]))
        + _gs_k(0x43, bytes([module_dots]))
        + _gs_k(0x45, bytes([ecc_n]))
        + _gs_k(0x50, b"\x30" + payload)
        + _gs_k(0x51, b"\x30")
    )


def raster(image: Image.Image) -> bytes:
    """GS v 0: a 1-bit image, 1 = black dot, rows MSB-first, width padded to whole bytes."""
    bits = np.asarray(image.convert("L")) < 128
    height, width = bits.shape
    width_bytes = -(-width // 8)
    padded = np.zeros((height, width_bytes * 8), dtype=bool)
    padded[:, :width] = bits
    data = np.packbits(padded, axis=1).tobytes()
    return bytes([GS, 0x76, 0x30, 0, width_bytes & 0xFF, width_bytes >> 8, height & 0xFF, height >> 8]) + data


def raster_to_image(width_bytes: int, height: int, data: bytes) -> Image.Image:
    """Inverse of :func:`raster`: the dots as a greyscale image (black 0 on white 255)."""
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8).reshape(height, width_bytes), axis=1)
    return Image.fromarray(np.where(bits.astype(bool), 0, 255).astype(np.uint8), "L")


# -- text as dots --------------------------------------------------------------------------------------------------
def font_path(bold: bool) -> Path:
    """DejaVu Sans Mono (Debian ``fonts-dejavu-core``): it has Cyrillic and the Kyrgyz letters ң ө ү."""
    name = "DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf"
    for folder in FONT_DIRS:
        if (folder / name).exists():
            return folder / name
    raise DeviceError(
        f"font {name} not found; install the Debian package fonts-dejavu-core", int(ErrorCode.PRINTER_OFFLINE)
    )


def render_text(
    text: str, width_dots: int, bold: bool = False, scale: int = 1, where: Align = Align.LEFT
) -> Image.Image:
    """One line of text as the printer would print it in font A (12 x 24 dots per character, times ``scale``)."""
    font = ImageFont.truetype(str(font_path(bold)), FONT_PX)
    cell_w, cell_h = CHAR_WIDTH_DOTS, LINE_HEIGHT_DOTS
    line = Image.new("L", (cell_w * max(1, len(text)), cell_h), 255)
    draw = ImageDraw.Draw(line)
    for i, ch in enumerate(text):
        # One cell per character, as on the printer: columns line up with code-page text.
        if not ch.isprintable():
            continue  # control characters have no glyph (and make the text layout fail): the cell stays blank
        draw.text((i * cell_w + cell_w / 2, cell_h - 5), ch, font=font, fill=0, anchor="ms")
    if scale > 1:
        line = line.resize((line.width * scale, line.height * scale), Image.Resampling.NEAREST)
    line = line.crop((0, 0, min(line.width, width_dots), line.height))
    row = Image.new("L", (width_dots, line.height), 255)
    used = len(text) * cell_w * scale if text else 0
    offset = {Align.LEFT: 0, Align.CENTER: (width_dots - used) // 2, Align.RIGHT: width_dots - used}[where]
    row.paste(line, (max(0, offset), 0))
    # Thermal dots are on or off: threshold like the printer head.
    return row.point(lambda v: 0 if v < 128 else 255)
