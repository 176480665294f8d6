"""The training kit's devices: the project's scanner and printer emulators on ptys, driven by the real serial drivers,
and the trainer's fault commands (``emulators.serve.apply_command``, the same commands a trainer types on an
emulator's stdin) that scenario events send to them.

The finger on the scanner's window is whatever the voter at the table presses: the session sets it per voter
(impressions 1, 2, ... of the voter's enrolled finger, or a worn impression of it). Plugging the scanner back in
after an "unplugged" event starts a fresh emulator on a new pty and opens a new driver on it, as a USB adapter comes
back as a new tty.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from emulators.card.chip import ChipFaults
from emulators.card.personalisation import ChipFiles, TestPki
from emulators.printer import PrinterEmulator
from emulators.r30x import R30xEmulator
from emulators.serve import apply_command
from simulation.training.errors import TrainingError
from station.devices.printer import EscPosPrinter
from station.devices.profiles import load_printer_profile, load_scanner_profile
from station.devices.r30x import R30xScanner

if TYPE_CHECKING:
    from emulators.card.kit import EmulatedCardStation
    from station.devices.card import CardReader

#: Device profiles of the training kit (firmware_configs/): the cheapest scanner and printer the kits carry.
SCANNER_PROFILE = "r307"
PRINTER_PROFILE = "escpos58"
#: White sensor window: what the scanner sees with no finger on it (grey level).
BLANK_GREY = 255


@dataclass
class CommandLog:
    """Every trainer command sent to a device, with its answer (shown on the trainer's page and the scorecard)."""

    lines: list[str] = field(default_factory=list)

    def add(self, device: str, command: str, answer: str) -> None:
        """Record one command."""
        self.lines.append(f"{device}: {command} -> {answer}")


class TrainingDevices:
    """Scanner and printer emulators with their drivers; faults are set through the trainer command interface."""

    def __init__(self) -> None:
        self.scanner_profile = load_scanner_profile(SCANNER_PROFILE)
        self.printer_profile = load_printer_profile(PRINTER_PROFILE)
        self._finger: Callable[[], npt.NDArray[np.uint8]] | None = None
        self._lock = threading.Lock()
        self.log = CommandLog()
        self.printer_emulator = PrinterEmulator(PRINTER_PROFILE)
        self.scanner_emulator = self._new_scanner_emulator()
        self.scanner: R30xScanner | None = None
        self.printer: EscPosPrinter | None = None
        self.scanner_plugged = True

    def _new_scanner_emulator(self) -> R30xEmulator:
        return R30xEmulator(SCANNER_PROFILE, images=self._image)

    def _image(self) -> npt.NDArray[np.uint8]:
        with self._lock:
            finger = self._finger
        if finger is None:
            return np.full((self.scanner_profile.image_height, self.scanner_profile.image_width), BLANK_GREY, np.uint8)
        return finger()

    def start(self) -> None:
        """Start both emulators (the kit opens the drivers when it is switched on)."""
        self.printer_emulator.start()
        self.scanner_emulator.start()

    def open_drivers(self) -> None:
        """Open the drivers (at start and when the kit is switched back on)."""
        self.printer = EscPosPrinter(self.printer_emulator.path, self.printer_profile)
        self.printer.open()
        if self.scanner_plugged:
            self.scanner = R30xScanner(self.scanner_emulator.path, self.scanner_profile)
            self.scanner.open()

    def close_drivers(self) -> None:
        """Close the drivers (a power cut: the kit's computer is off, the devices lose their host)."""
        for driver in (self.scanner, self.printer):
            if driver is not None:
                driver.close()
        self.scanner = self.printer = None

    def press(self, finger: Callable[[], npt.NDArray[np.uint8]] | None) -> None:
        """What the voter at the table will press on the scanner (None: nobody, a blank window)."""
        with self._lock:
            self._finger = finger

    def command(self, device: str, line: str) -> str:
        """Send a trainer command (``set paper_out true``, ``unplug``...) to ``scanner`` or ``printer``."""
        emulator = self.scanner_emulator if device == "scanner" else self.printer_emulator
        answer = apply_command(emulator, line)
        self.log.add(device, line, answer)
        return answer

    def unplug_scanner(self) -> None:
        """Scenario event: the scanner's cable comes out."""
        self.command("scanner", "unplug")
        self.scanner_plugged = False

    def plug_scanner(self) -> R30xScanner:
        """The trainee plugs the scanner back in: a new emulator (new tty) and a new driver on it."""
        if self.scanner is not None:
            self.scanner.close()
        self.scanner_emulator.stop()
        self.scanner_emulator = self._new_scanner_emulator().start()
        self.log.add("scanner", "plugged back in", self.scanner_emulator.path)
        self.scanner = R30xScanner(self.scanner_emulator.path, self.scanner_profile)
        self.scanner.open()
        self.scanner_plugged = True
        return self.scanner

    def paper_out(self) -> None:
        """Scenario event: the roll runs out."""
        self.command("printer", "set paper_out true")

    def load_paper(self) -> None:
        """The trainee puts a new roll in."""
        self.command("printer", "set paper_out false")

    def slips_text(self) -> list[list[str]]:
        """The text lines of every slip the printer emulator has printed."""
        return [list(slip.text) for slip in self.printer_emulator.slips]

    def stop(self) -> None:
        """Close the drivers and stop the emulators."""
        self.close_drivers()
        self.scanner_emulator.stop()
        self.printer_emulator.stop()


#: Seconds to wait for pcscd to report a card put on (or taken off) the vpcd reader.
CARD_SETTLE_S = 10.0


class TrainingCardReader:
    """The training kit's ID-card reader: the machine's pcscd with the vpcd reader, the project's card emulator on
    it, and the kit's real card driver (BAC, passive and active authentication) trusting only the training CSCA.

    :meth:`start` returns None when the reader works, or why it cannot be provided on this machine (pcscd or vpcd
    missing, no permission to start pcscd): the session then tells the card situations on the trainer's page, as
    before the kit had a reader, instead of failing.
    """

    def __init__(self, pki: TestPki) -> None:
        self.pki = pki
        self.station: EmulatedCardStation | None = None
        self.reader: CardReader | None = None
        self.log: CommandLog | None = None

    def start(self) -> str | None:
        """Start pcscd (or reuse the machine's) and open the reader; returns why not, or None."""
        from emulators.card.kit import EmulatedCardStation
        from emulators.card.pcscd import missing_card_stack
        from station.devices.card import CardReader, TrustStore, load_reader_profile

        if (why := missing_card_stack()) is not None:
            return why
        try:
            self.station = EmulatedCardStation(pki=self.pki)
            self.reader = CardReader(self.station.reader, load_reader_profile("vpcd"), TrustStore([self.pki.csca_cert]))
            self.reader.open()
        except Exception as exc:  # any failure here means "no reader", told to the trainer
            self.stop()
            return f"the card reader could not be started ({exc})"
        return None

    def put(self, files: ChipFiles | None, faults: ChipFaults | None = None) -> None:
        """Take the card on the reader off and, unless ``files`` is None, put this chip (with ``faults``) on it;
        waits until pcscd reports the change, so the screen sees the new card at once."""
        station, reader = self.station, self.reader
        if station is None or reader is None:
            return
        station.remove()
        deadline = time.monotonic() + CARD_SETTLE_S
        while reader.present and time.monotonic() < deadline:
            time.sleep(0.05)
        if files is None:
            return
        station.load(files, faults)
        station.insert()
        while not reader.present:
            if time.monotonic() > deadline:
                raise TrainingError("the emulated card never appeared on the vpcd reader (is pcscd still running?)")
            time.sleep(0.05)

    def stop(self) -> None:
        """Take the card off, close the driver, stop pcscd if it was started here."""
        if self.station is not None:
            self.station.remove()
        if self.reader is not None:
            self.reader.close()
        if self.station is not None:
            self.station.stop()
        self.station = None
        self.reader = None
