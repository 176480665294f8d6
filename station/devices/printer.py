"""The slip printer: a :class:`Slip` is a small structured value, the driver turns it into ESC/POS.

The kit never builds printer bytes. Lines the printer's code page cannot hold (the Kyrgyz letters ң, ө, ү are not in
PC866) are printed as raster images of the same font cell, so they look like the text around them. The real-time
status (paper near end, paper out, cover open) is read before each slip, and after it once the slip's bytes have had
time to cross the line, so a slip lost to an empty roll is reported and can be reprinted.
"""

from __future__ import annotations

import abc
import textwrap
import time
import unicodedata
from dataclasses import dataclass

import segno

from station.devices import escpos
from station.devices.device import Device
from station.devices.errors import DeviceDisconnected, DeviceError, DeviceTimeout, ProtocolError
from station.devices.escpos import Align, PrinterStatus, StatusRequest
from station.devices.health import DeviceKind, DeviceState, ErrorCode
from station.devices.profiles import PrinterProfile
from station.devices.serial_link import OwnsSerialLink, SerialLink, wire_time_s

#: Banner lines for slips that are not ordinary first prints.
TRAINING_BANNER = "*** ТРЕНИНГ / TRAINING ***"
REPRINT_BANNER = "*** КӨЧҮРМӨ / REPRINT ***"
#: Quiet zone around a QR code, in modules (ISO/IEC 18004 asks for 4).
QR_QUIET_MODULES = 4
#: Largest QR module the driver asks for (dots): bigger only wastes paper.
QR_MAX_MODULE_DOTS = 8


@dataclass(frozen=True)
class Slip:
    """What a slip says; the driver decides how to print it."""

    title: tuple[str, ...]
    lines: tuple[str, ...] = ()
    qr_payload: str | None = None
    training: bool = False
    reprint: bool = False


@dataclass(frozen=True)
class PrintResult:
    """What happened to one slip."""

    status_after: PrinterStatus
    bytes_sent: int
    seconds: float


class Printer(Device, abc.ABC):
    """A slip printer: ``open()``, ``status()``, ``print_slip(slip)``, ``close()``, plus health events."""

    kind = DeviceKind.PRINTER

    @abc.abstractmethod
    def open(self) -> None:
        """Open the port and read the status."""

    @abc.abstractmethod
    def status(self) -> PrinterStatus:
        """The printer's real-time status."""

    @abc.abstractmethod
    def print_slip(self, slip: Slip) -> PrintResult:
        """Print one slip; raises :class:`DeviceError` if it was not (or may not have been) printed whole."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the port (safe twice)."""

    def __enter__(self) -> Printer:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _clean(text: str) -> str:
    """Printable characters only: control bytes inside slip text must not become printer commands."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")


def encode_slip(slip: Slip, profile: PrinterProfile) -> bytes:
    """The ESC/POS bytes for one slip on a printer described by ``profile``."""
    return _encode(slip, profile)[0]


def _encode(slip: Slip, profile: PrinterProfile) -> tuple[bytes, int]:
    """ESC/POS bytes and the slip's length in dot rows (to know how long the head needs to print it)."""
    out = bytearray(escpos.INIT + escpos.select_code_page(profile.code_page_number))
    rows = 0

    def text_line(text: str, where: Align, bold: bool = False, scale: int = 1) -> None:
        nonlocal rows
        rows += escpos.LINE_HEIGHT_DOTS * scale
        text = _clean(text)
        try:
            encoded = text.encode(profile.code_page)
        except UnicodeEncodeError:
            # Not in the printer's code page (ң ө ү in PC866): print the line as dots in the same font cell.
            out.extend(escpos.align(Align.LEFT))
            out.extend(escpos.raster(escpos.render_text(text, profile.dots_per_line, bold, scale, where)))
            return
        out.extend(escpos.align(where) + escpos.emphasis(bold) + escpos.char_size(scale, scale))
        out.extend(encoded + bytes([escpos.LF]))
        out.extend(escpos.emphasis(False) + escpos.char_size(1, 1))

    width = profile.chars_per_line
    if slip.training:
        text_line(TRAINING_BANNER, Align.CENTER, bold=True)
    for title in slip.title:
        for piece in textwrap.wrap(title, width // 2) or [""]:
            text_line(piece, Align.CENTER, bold=True, scale=2)
    for line in slip.lines:
        for piece in textwrap.wrap(line, width) or [""]:
            text_line(piece, Align.LEFT)
    if slip.reprint:
        text_line(REPRINT_BANNER, Align.CENTER, bold=True)
    if slip.qr_payload and profile.qr:
        payload = slip.qr_payload.encode("utf-8")
        modules = int(segno.make(payload, error="m", micro=False).symbol_size(border=QR_QUIET_MODULES)[0])
        module_dots = max(1, min(QR_MAX_MODULE_DOTS, profile.dots_per_line // modules))
        rows += modules * module_dots
        out.extend(
            escpos.align(Align.CENTER) + escpos.qr_code(payload, module_dots, "M") + bytes([escpos.LF])
        )
        out.extend(escpos.align(Align.LEFT))
    if slip.training:
        text_line(TRAINING_BANNER, Align.CENTER, bold=True)
    out.extend(escpos.feed(4) + escpos.cut(profile.cut))
    rows += 4 * escpos.LINE_HEIGHT_DOTS
    return bytes(out), rows


class EscPosPrinter(OwnsSerialLink, Printer):
    """An ESC/POS thermal printer on a serial line."""

    def __init__(self, port: str, profile: PrinterProfile, name: str | None = None) -> None:
        super().__init__(name or f"{profile.model}@{port}")
        self.port = port
        self.profile = profile
        self._link: SerialLink | None = None

    def open(self) -> None:
        """Open the port and read the status; reports READY, or NOT_READY with the reason."""
        try:
            self._link = SerialLink(self.port, self.profile.baud, self.name)
            self.link.discard_input()
            self.link.write(escpos.INIT)
            self._report_status(self._read_status(len(escpos.INIT)))
        except DeviceError as exc:
            self._report_error(exc)
            self.close(report=False)
            raise

    def _read_status(self, pending_bytes: int = 0) -> PrinterStatus:
        """DLE EOT 1, 2 and 4; the first answer may wait behind ``pending_bytes`` still crossing the line."""
        for attempt in range(2):
            replies: dict[StatusRequest, int] = {}
            try:
                for n in StatusRequest:
                    request = escpos.status_request(n)
                    self.link.write(request)
                    budget = wire_time_s(pending_bytes + len(request) + 1, self.profile.baud)
                    replies[n] = self.link.read_exact(
                        1, budget + self.profile.status_margin_s, "status byte"
                    )[0]
                    pending_bytes = 0
                return escpos.decode_status(replies)
            except DeviceTimeout as exc:
                raise DeviceTimeout(
                    f"{self.name}: the printer does not answer; check that it is switched on, its cable, and the "
                    "baud rate in the profile",
                    int(ErrorCode.PRINTER_OFFLINE),
                ) from exc
            except ProtocolError:
                if attempt:
                    raise
                time.sleep(0.05)
                self.link.discard_input()
        raise AssertionError("unreachable")

    def _report_status(self, status: PrinterStatus) -> None:
        problem = status.problem()
        if problem is None:
            self._report(DeviceState.READY, message="printer ready")
        elif status.can_print:  # paper near end: still printing, but warn
            self._report(DeviceState.READY, problem[0], problem[1])
        else:
            self._report(DeviceState.NOT_READY, problem[0], problem[1])

    def status(self) -> PrinterStatus:
        """Read and report the real-time status."""
        try:
            status = self._read_status()
        except DeviceError as exc:
            self._report_error(exc)
            raise
        self._report_status(status)
        return status

    def print_slip(self, slip: Slip) -> PrintResult:
        """Check status, send the slip, check status again; raises if the slip may not be whole on paper."""
        started = time.monotonic()
        data, rows = _encode(slip, self.profile)
        try:
            before = self._read_status()
            self._report_status(before)
            problem = before.problem()
            if problem is not None and not before.can_print:
                raise DeviceError(
                    f"{self.name}: slip not printed: {problem[1]}, then print again", int(problem[0])
                )
            self._report(DeviceState.BUSY, message="printing")
            self.link.write(data)
            # DLE EOT is answered on receipt, ahead of buffered print data (Epson ESC/POS reference, DLE EOT
            # notes): ask only once the bytes have crossed the line and the head has had time to print the slip.
            sent_at = time.monotonic()
            done_at = sent_at + wire_time_s(len(data), self.profile.baud) + self.print_time_s(rows)
            time.sleep(max(0.0, done_at - time.monotonic()))
            after = self._read_status(len(data))
        except DeviceError as exc:
            self._report_error(exc)
            if isinstance(exc, DeviceDisconnected):
                self.close(report=False)
            raise
        self._report_status(after)
        problem = after.problem()
        if problem is not None and not after.can_print:
            raise DeviceError(
                f"{self.name}: the slip may be incomplete: {problem[1]}, then reprint it (it will be marked REPRINT)",
                int(problem[0]),
            )
        return PrintResult(after, len(data), time.monotonic() - started)

    def print_time_s(self, rows: int) -> float:
        """Seconds the head needs for ``rows`` dot rows at the profile's print speed."""
        return rows * 25.4 / self.profile.dpi / self.profile.print_speed_mm_s

    def close(self, report: bool = True) -> None:
        """Release the port (safe twice)."""
        if self._link is not None:
            self._link.close()
            self._link = None
            if report:
                self._report(DeviceState.NOT_READY, message="closed")
        self._stop_emulator()
