"""Emulator of an ESC/POS thermal slip printer on a pty: renders each slip to a PNG as paper would show it.

It interprets what the bytes say (text in the selected code page, emphasis, character size, alignment, raster images,
QR codes, feed, cut), answers real-time status (DLE EOT), and injects the faults trainers need: paper near end, paper
out (also by running a finite roll down), cover open, unplug. Text is drawn in DejaVu Sans Mono in font A's 12 x 24
dot cell at 203 dpi. Run for trainers: ``python -m emulators.printer --profile escpos58 --out DIR``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import segno
from PIL import Image

from emulators.pty_port import SerialEmulator
from station.devices import escpos
from station.devices.escpos import CODE_PAGES, DLE, ESC, GS, LF, Align, PrinterStatus
from station.devices.profiles import PrinterProfile, load_printer_profile

#: Paper used per dot row: 1/203 inch.
MM_PER_DOT = 25.4 / 203
#: The near-end sensor trips when this much paper is left on the roll (mm).
NEAR_END_MM = 300.0
#: Blank margin above and below a rendered slip (dots), as the printer feeds before the first line.
MARGIN_DOTS = 8
#: ECC level byte (GS ( k fn 69) -> segno error level.
ECC_LEVELS = {48: "l", 49: "m", 50: "q", 51: "h"}


@dataclass
class PrintedSlip:
    """One slip as it came out of the printer."""

    image: Image.Image
    text: list[str]
    qr_payloads: list[bytes]
    complete: bool
    path: Path | None = None


@dataclass
class PrinterFaults:
    """Faults to inject while the emulator runs."""

    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    #: Paper left on the roll (mm); None is an endless roll. Running it down trips near-end, then paper-out.
    paper_left_mm: float | None = None
    #: This many more status answers are not sent (a printer too busy or a flaky line).
    silent_status: int = 0


@dataclass
class _Mode:
    bold: bool = False
    width: int = 1
    height: int = 1
    align: Align = Align.LEFT
    code_page: str = "cp437"
    qr_module: int = 3
    qr_ecc: str = "m"
    qr_data: bytes = b""


@dataclass
class _Page:
    rows: list[Image.Image] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    qr: list[bytes] = field(default_factory=list)
    complete: bool = True


class PrinterEmulator(SerialEmulator):
    """An ESC/POS printer; slips are kept in :attr:`slips` and, with ``out_dir``, saved as ``slip-NNNN.png``."""

    def __init__(
        self, profile: PrinterProfile | str = "escpos58", out_dir: Path | None = None, pace: bool = False
    ) -> None:
        self.profile = load_printer_profile(profile) if isinstance(profile, str) else profile
        super().__init__(pace_baud=self.profile.baud if pace else None)
        self.out_dir = out_dir
        self.faults = PrinterFaults()
        self.slips: list[PrintedSlip] = []
        self._mode = _Mode()
        self._page = _Page()
        self._line = bytearray()
        self.width = self.profile.dots_per_line

    # -- status --------------------------------------------------------------------------------------------------
    def status(self) -> PrinterStatus:
        """The state the status bytes report."""
        f = self.faults
        near = f.paper_near_end or (f.paper_left_mm is not None and f.paper_left_mm < NEAR_END_MM)
        out = f.paper_out or (f.paper_left_mm is not None and f.paper_left_mm <= 0)
        return PrinterStatus(cover_open=f.cover_open, paper_near_end=near, paper_out=out)

    # -- parsing -------------------------------------------------------------------------------------------------
    def handle(self, buffer: bytearray) -> None:
        while buffer:
            used = self._parse(buffer)
            if used == 0:
                return  # incomplete command: wait for more bytes
            del buffer[:used]

    def _parse(self, b: bytearray) -> int:
        first = b[0]
        if first == LF:
            self._print_line()
            return 1
        if first == DLE:
            if len(b) < 3:
                return 0
            if b[1] == escpos.EOT:
                self._answer_status(b[2])
            return 3
        if first == ESC:
            return self._esc(b)
        if first == GS:
            return self._gs(b)
        if first < 0x20:
            return 1  # other control codes (CR, NUL, FS...) print nothing; printers skip what they do not support
        self._line.append(first)
        return 1

    def _esc(self, b: bytearray) -> int:
        if len(b) < 2:
            return 0
        cmd = b[1]
        if cmd == 0x40:  # ESC @
            self._line.clear()
            self._mode = _Mode()
            return 2
        if len(b) < 3:
            return 0
        n = b[2]
        if cmd == 0x74:  # ESC t n
            self._mode.code_page = CODE_PAGES.get(n, "cp437")
        elif cmd == 0x61:  # ESC a n
            self._mode.align = Align(n % 3 if n < 48 else (n - 48) % 3)
        elif cmd == 0x45:  # ESC E n
            self._mode.bold = bool(n & 1)
        elif cmd == 0x21:  # ESC ! n: bit 3 emphasis, bit 4 double height, bit 5 double width
            self._mode.bold = bool(n & 0x08)
            self._mode.height = 2 if n & 0x10 else 1
            self._mode.width = 2 if n & 0x20 else 1
        elif cmd == 0x64:  # ESC d n
            self._print_line()
            self._feed(n * escpos.LINE_HEIGHT_DOTS)
        return 3

    def _gs(self, b: bytearray) -> int:
        if len(b) < 3:
            return 0
        cmd = b[1]
        if cmd == 0x21:  # GS ! n
            self._mode.width = (b[2] >> 4) + 1
            self._mode.height = (b[2] & 0x0F) + 1
            return 3
        if cmd == 0x56:  # GS V m [n]
            if b[2] in (65, 66):
                if len(b) < 4:
                    return 0
                self._feed(b[3])
                self._cut()
                return 4
            self._cut()
            return 3
        if cmd == 0x76:  # GS v 0 m xL xH yL yH d...
            if len(b) < 8:
                return 0
            width_bytes, height = b[4] | b[5] << 8, b[6] | b[7] << 8
            size = width_bytes * height
            if len(b) < 8 + size:
                return 0
            self._print_line()
            if size:
                self._add_row(escpos.raster_to_image(width_bytes, height, bytes(b[8 : 8 + size])), Align.LEFT)
                self._page.text.append("[raster]")
            return 8 + size
        if cmd == 0x28:  # GS ( x pL pH ...: every function of this family carries its own length
            if len(b) < 5:
                return 0
            size = b[3] | b[4] << 8
            if len(b) < 5 + size:
                return 0
            if b[2] == 0x6B:  # GS ( k: QR code
                self._qr_function(bytes(b[5 : 5 + size]))
            return 5 + size
        return 3

    def _qr_function(self, body: bytes) -> None:
        if len(body) < 2 or body[0] != 0x31:
            return
        fn, args = body[1], body[2:]
        if fn == 0x43 and args:
            self._mode.qr_module = max(1, min(16, args[0]))
        elif fn == 0x45 and args:
            self._mode.qr_ecc = ECC_LEVELS.get(args[0], "m")
        elif fn == 0x50 and args:
            self._mode.qr_data = args[1:]
        elif fn == 0x51 and self._mode.qr_data:
            self._print_line()
            qr = segno.make(self._mode.qr_data, error=self._mode.qr_ecc, micro=False)
            matrix = np.array(list(qr.matrix_iter(border=4)), dtype=bool)
            dots = np.kron(matrix, np.ones((self._mode.qr_module, self._mode.qr_module), dtype=bool))
            self._add_row(Image.fromarray(np.where(dots, 0, 255).astype(np.uint8), "L"), self._mode.align)
            self._page.qr.append(self._mode.qr_data)

    def _answer_status(self, n: int) -> None:
        if self.faults.silent_status > 0:
            self.faults.silent_status -= 1
            return
        self.send(bytes([escpos.encode_status(n, self.status())]))

    # -- paper ---------------------------------------------------------------------------------------------------
    def _print_line(self) -> None:
        if not self._line:
            return
        text = bytes(self._line).decode(self._mode.code_page, errors="replace")
        self._line.clear()
        mode = self._mode
        per_line = max(1, self.profile.chars_per_line // mode.width)
        while len(text) > per_line:  # like the printer: a line longer than the paper wraps
            self._render_text(text[:per_line])
            text = text[per_line:]
        self._render_text(text)

    def _render_text(self, text: str) -> None:
        mode = self._mode
        row = escpos.render_text(text, self.width * 4, mode.bold, 1, Align.LEFT)
        row = row.crop((0, 0, len(text) * escpos.CHAR_WIDTH_DOTS, row.height))
        if mode.width > 1 or mode.height > 1:
            row = row.resize((row.width * mode.width, row.height * mode.height), Image.Resampling.NEAREST)
        self._add_row(row.crop((0, 0, min(row.width, self.width), row.height)), mode.align)
        self._page.text.append(text)

    def _add_row(self, image: Image.Image, where: Align) -> None:
        if not self.status().can_print:
            self._page.complete = (
                False  # the head has no paper under it, or the cover is open: nothing appears
            )
            return
        row = Image.new("L", (self.width, image.height), 255)
        free = self.width - image.width
        offset = {Align.LEFT: 0, Align.CENTER: free // 2, Align.RIGHT: free}[where]
        row.paste(image.crop((0, 0, min(image.width, self.width), image.height)), (max(0, offset), 0))
        self._page.rows.append(row)
        self._use_paper(image.height)

    def _feed(self, dots: int) -> None:
        if dots and self.status().can_print:
            self._page.rows.append(Image.new("L", (self.width, dots), 255))
            self._use_paper(dots)

    def _use_paper(self, dots: int) -> None:
        if self.faults.paper_left_mm is not None:
            self.faults.paper_left_mm -= dots * MM_PER_DOT

    def _cut(self) -> None:
        self._print_line()
        page = self._page
        self._page = _Page()
        height = sum(r.height for r in page.rows) + 2 * MARGIN_DOTS
        image = Image.new("L", (self.width, height), 255)
        y = MARGIN_DOTS
        for row in page.rows:
            image.paste(row, (0, y))
            y += row.height
        slip = PrintedSlip(image, page.text, page.qr, page.complete and self.status().can_print)
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            slip.path = self.out_dir / f"slip-{len(self.slips) + 1:04d}.png"
            image.save(slip.path, dpi=(self.profile.dpi, self.profile.dpi))
        self.slips.append(slip)


def main(argv: list[str] | None = None) -> int:
    """Serve one emulated printer until interrupted, writing each slip as a PNG."""
    from emulators.serve import serve_until_interrupted

    parser = argparse.ArgumentParser(prog="python -m emulators.printer", description=__doc__)
    parser.add_argument("--profile", default="escpos58", help="printer profile (escpos58, escpos80)")
    parser.add_argument("--out", type=Path, default=Path("slips"), help="folder for slip PNGs")
    parser.add_argument("--pace", action="store_true", help="pace the line at the profile's baud rate")
    parser.add_argument("--paper-mm", type=float, help="paper left on the roll (default: endless)")
    args = parser.parse_args(argv)
    emulator = PrinterEmulator(args.profile, args.out, pace=args.pace)
    emulator.faults.paper_left_mm = args.paper_mm
    return serve_until_interrupted(emulator, f"serial://{emulator.path}?profile={emulator.profile.model}")


if __name__ == "__main__":
    raise SystemExit(main())
